package dev.parley.testing;

import com.microsoft.playwright.Browser;
import com.microsoft.playwright.BrowserContext;
import com.microsoft.playwright.BrowserType;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.Playwright;
import com.microsoft.playwright.assertions.PlaywrightAssertions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.LoggerFactory;

/**
 * A headless Chromium driven by Playwright: the one named by {@code PARLEY_TEST_CHROMIUM}, else the
 * machine's ({@code /usr/bin/chromium}, which {@code .ci/run} installs from the distribution's
 * packages, or {@code chromium-browser} / {@code google-chrome}), else the one Playwright installed
 * itself ({@code mvn exec:java -e -Dexec.mainClass=com.microsoft.playwright.CLI
 * -Dexec.args="install chromium"}, where the machine may download it). Without any, browser tests
 * are reported skipped with the reason (a JUnit assumption), never passed; with
 * {@code PARLEY_TEST_REQUIRE_BROWSER=1} (CI) a missing browser fails them instead.
 *
 * <p>The flags keep Chromium from calling home: on a machine without outside network its
 * background connections would fail noisily. Waits are Playwright's auto-waiting assertions with a
 * timeout generous enough for a slow, shared machine.
 */
public final class Chromium implements AutoCloseable {

  private static final List<Path> SYSTEM_BROWSERS =
      List.of(Path.of("/usr/bin/chromium"), Path.of("/usr/bin/chromium-browser"), Path.of("/usr/bin/google-chrome"));

  /**
   * Where screenshots are written: under target/, so a build never rewrites tracked files. The
   * README's images are refreshed with {@code -Dparley.screenshots=src/site/resources/images}
   * (README, "Test it").
   */
  public static final Path SCREENSHOTS = Path.of(System.getProperty("parley.screenshots", "target/screenshots"));

  private static final List<String> FLAGS =
      List.of(
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--disable-dev-shm-usage");

  private final Playwright playwright;
  private final Browser browser;

  private Chromium(Playwright playwright, Browser browser) {
    this.playwright = playwright;
    this.browser = browser;
  }

  /**
   * Launches the browser, or aborts the calling test (reported skipped, with what is missing) when
   * the machine has none.
   */
  public static Chromium launch() {
    Optional<Path> executable = systemBrowser();
    Optional<String> missing = missing();
    if (missing.isPresent()) {
      if (required()) throw new IllegalStateException(missing.get());
      Assumptions.abort(missing.get());
    }
    PlaywrightAssertions.setDefaultAssertionTimeout(30_000);
    Playwright playwright =
        Playwright.create(new Playwright.CreateOptions().setEnv(Map.of("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")));
    try {
      BrowserType.LaunchOptions options =
          new BrowserType.LaunchOptions().setHeadless(true).setArgs(FLAGS).setTimeout(120_000);
      executable.ifPresent(options::setExecutablePath);
      Browser browser = playwright.chromium().launch(options);
      return new Chromium(playwright, browser);
    } catch (RuntimeException e) {
      playwright.close();
      throw e;
    }
  }

  /** A fresh browser context (its own cookies and storage: another person) with one page. */
  public Page newPage() {
    BrowserContext context = browser.newContext(new Browser.NewContextOptions().setViewportSize(1200, 720));
    context.setDefaultTimeout(30_000);
    context.setDefaultNavigationTimeout(60_000);
    return context.newPage();
  }

  /**
   * For {@code @ExtendWith} on a browser test class: without a browser, its tests are reported
   * skipped with what is missing before anything (a node, a cluster) is started for them.
   */
  public static final class Required implements ExecutionCondition {
    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
      Optional<String> missing = missing();
      if (missing.isEmpty() || required()) return ConditionEvaluationResult.enabled("a Chromium is there");
      // Maven's summary counts skipped tests without their reason: say it once on the console too.
      LoggerFactory.getLogger(Chromium.class).warn("{} skipped: {}", context.getDisplayName(), missing.get());
      return ConditionEvaluationResult.disabled(missing.get());
    }
  }

  /** What is missing for browser tests, or empty when a browser is there. */
  private static Optional<String> missing() {
    if (systemBrowser().isPresent() || playwrightInstalledOne()) return Optional.empty();
    return Optional.of(
        "no Chromium for browser tests: none of PARLEY_TEST_CHROMIUM, " + SYSTEM_BROWSERS
            + " or Playwright's own (~/.cache/ms-playwright) exists; install one, e.g. apt-get install chromium");
  }

  /** CI sets PARLEY_TEST_REQUIRE_BROWSER=1: there a missing browser is a failure, not a skip. */
  private static boolean required() {
    return "1".equals(System.getenv("PARLEY_TEST_REQUIRE_BROWSER"));
  }

  private static Optional<Path> systemBrowser() {
    String named = System.getenv("PARLEY_TEST_CHROMIUM");
    if (named != null && !named.isBlank()) return Optional.of(Path.of(named));
    return SYSTEM_BROWSERS.stream().filter(Files::isExecutable).findFirst();
  }

  /** Whether {@code playwright install chromium} put a browser in Playwright's cache. */
  private static boolean playwrightInstalledOne() {
    String custom = System.getenv("PLAYWRIGHT_BROWSERS_PATH");
    Path cache = custom != null && !custom.isBlank() ? Path.of(custom) : Path.of(System.getProperty("user.home"), ".cache", "ms-playwright");
    if (!Files.isDirectory(cache)) return false;
    try (Stream<Path> entries = Files.list(cache)) {
      return entries.anyMatch(p -> p.getFileName().toString().startsWith("chromium"));
    } catch (IOException e) {
      return false;
    }
  }

  public static void screenshot(Page page, String name) throws IOException {
    Files.createDirectories(SCREENSHOTS);
    page.screenshot(new Page.ScreenshotOptions().setPath(SCREENSHOTS.resolve(name)).setFullPage(true));
  }

  @Override
  public void close() {
    try {
      browser.close();
    } finally {
      playwright.close();
    }
  }
}
