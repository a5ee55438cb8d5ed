package dev.parley.web;

import static com.microsoft.playwright.assertions.PlaywrightAssertions.assertThat;
import static dev.parley.web.ChatPages.signIn;
import static org.assertj.core.api.Assertions.assertThat;

import com.microsoft.playwright.Locator;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.assertions.LocatorAssertions;
import dev.parley.testing.Chromium;
import dev.parley.testing.TestNode;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The browser chat client against a node whose per-connection send limit is one a second: messages
 * typed faster than that are refused with {@code rate_limited} and a retry hint, and the client
 * holds them and delivers them in order instead of reporting them "not sent" (protocol.md,
 * "Overload and rate limits"); after the hold it lets them out through its window, which widens
 * while the node answers quickly.
 */
@ExtendWith(Chromium.Required.class)
class BrowserRetryHintIT {

  private static TestNode node;
  private static Chromium chromium;

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.onH2WithDevelopmentSecret(Map.of("parley.limits.sends-per-second", 1, "parley.limits.sends-burst", 1));
    chromium = Chromium.launch();
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      if (chromium != null) chromium.close();
    } finally {
      if (node != null) node.close();
    }
  }

  @Test
  void messagesTypedFasterThanTheSendLimitAreHeldAndDeliveredInOrder() {
    String base = "http://127.0.0.1:" + node.httpPort();
    Page alice = signIn(chromium.newPage(), base, "alice");
    Page bob = signIn(chromium.newPage(), base, "bob");
    alice.locator("#new-members").fill("bob");
    alice.locator("#new-id").fill("quick");
    alice.locator("#new-create").click();
    assertThat(alice.locator("#conversation-id")).hasText("quick");

    String[] typed = {"one", "two", "three", "four"};
    for (String text : typed) {
      alice.locator("#composer-text").fill(text);
      alice.locator("#send-button").click();
    }

    LocatorAssertions.HasTextOptions patient = new LocatorAssertions.HasTextOptions().setTimeout(30_000);
    assertThat(alice.locator("#messages li.message:not(.pending) .text")).hasText(typed, patient);
    assertThat(alice.locator("#problem")).not().containsText("not sent");
    Locator item = bob.locator("#inbox li[data-conversation='quick']");
    item.click();
    assertThat(bob.locator("#messages li.message .text")).hasText(typed, patient);
    alice.context().close();
    bob.context().close();
  }

  /**
   * After a hold the held sends go out through a window: halved by the hold, then one more for each
   * prompt answer, so once the node acknowledges a send quickly two are in flight at once (the
   * node's limit of one a second refuses the second, which starts the next hold). Before issue 18's
   * sixth session they went out one at a time until the whole backlog was sent, which under a
   * lasting overload is never.
   */
  @Test
  void afterAHoldPromptAnswersLetMoreThanOneHeldSendOutAtOnce() {
    String base = "http://127.0.0.1:" + node.httpPort();
    Page carol = signIn(chromium.newPage(), base, "carol");
    carol.locator("#new-members").fill("dave");
    carol.locator("#new-id").fill("window");
    carol.locator("#new-create").click();
    assertThat(carol.locator("#conversation-id")).hasText("window");
    // Counts the send frames in flight at once among those sent after the first refusal with a hint.
    carol.evaluate(
        """
        () => {
          const ws = window.parley.connection.socket;
          const probe = { refused: false, outstanding: new Set(), most: 0 };
          window.holdProbe = probe;
          const send = ws.send.bind(ws);
          ws.send = (data) => {
            const frame = JSON.parse(data);
            if (frame.type === 'send' && probe.refused) {
              probe.outstanding.add(frame.id);
              probe.most = Math.max(probe.most, probe.outstanding.size);
            }
            send(data);
          };
          // Before the client's own handler, which may send the next one in answer to this frame.
          const handle = ws.onmessage;
          ws.onmessage = (e) => {
            const frame = JSON.parse(e.data);
            if (frame.type === 'error' && frame.retryAfterMs > 0) probe.refused = true;
            if (frame.id !== undefined) probe.outstanding.delete(frame.id);
            handle(e);
          };
        }
        """);

    String[] typed = {"a", "b", "c", "d", "e"};
    for (String text : typed) {
      carol.locator("#composer-text").fill(text);
      carol.locator("#send-button").click();
    }

    LocatorAssertions.HasTextOptions patient = new LocatorAssertions.HasTextOptions().setTimeout(30_000);
    assertThat(carol.locator("#messages li.message:not(.pending) .text")).hasText(typed, patient);
    assertThat(carol.locator("#problem")).not().containsText("not sent");
    assertThat((Boolean) carol.evaluate("() => window.holdProbe.refused")).as("the limit refused a send").isTrue();
    assertThat(((Number) carol.evaluate("() => window.holdProbe.most")).intValue())
        .as("held sends in flight at once after a prompt answer")
        .isGreaterThanOrEqualTo(2);
    carol.context().close();
  }
}
