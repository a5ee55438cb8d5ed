package dev.parley.web;

import static com.microsoft.playwright.assertions.PlaywrightAssertions.assertThat;
import static dev.parley.web.ChatPages.signIn;

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
 * "Overload and rate limits").
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
}
