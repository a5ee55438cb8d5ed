package dev.parley.testing;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.sift.AbstractDiscriminator;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * Sends the logs of each test class's nodes to {@code target/test-logs/<TestClass>.log} (see
 * {@code logback-test.xml}) and, when a test fails, prints that file's path, so the failure and
 * the node's story can be read side by side without node logs flooding Maven's output. Registered
 * for every test class through JUnit's extension auto-detection.
 */
public final class TestLogs implements BeforeAllCallback, TestWatcher {

  /** The test class running now; its nodes' lines (also those of its tear-down) go to its file. */
  private static volatile String current = "startup";

  @Override
  public void beforeAll(ExtensionContext context) {
    current = context.getRequiredTestClass().getSimpleName();
  }

  @Override
  public void testFailed(ExtensionContext context, Throwable cause) {
    System.err.println(
        "[" + context.getRequiredTestClass().getSimpleName() + " " + context.getDisplayName() + " failed] node logs: " + file(context.getRequiredTestClass().getSimpleName()));
  }

  /** Where the log lines of {@code testClass}'s nodes are written. */
  public static Path file(String testClass) {
    return Path.of(System.getProperty("parley.test.logs", "target/test-logs"), testClass + ".log").toAbsolutePath();
  }

  /** Logback's key for the per-class file: the test class running now. */
  public static final class CurrentTestClass extends AbstractDiscriminator<ILoggingEvent> {
    @Override
    public String getDiscriminatingValue(ILoggingEvent event) {
      return current;
    }

    @Override
    public String getKey() {
      return "testClass";
    }
  }
}
