package dev.parley.web;

import static com.microsoft.playwright.assertions.PlaywrightAssertions.assertThat;
import static dev.parley.web.ChatPages.signIn;

import com.microsoft.playwright.Locator;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.assertions.LocatorAssertions;
import dev.parley.testing.Chromium;
import dev.parley.testing.TcpProxy;
import dev.parley.testing.TestNode;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The browser chat client in a real (headless) Chromium against a real node with the embedded
 * default (H2, development secret): two people in two browser contexts sign in, chat both ways,
 * see each other typing and online (then offline, with "last seen"); one reloads and sees the
 * history; one loses its connection and catches up.
 */
@ExtendWith(Chromium.Required.class)
class BrowserChatIT {

  private static TestNode node;
  private static Chromium chromium;

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.onH2WithDevelopmentSecret();
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
  void twoPeopleChatSeeTypingAndKeepHistoryAcrossAReload() throws Exception {
    Page alice = signIn(chromium.newPage(), "http://127.0.0.1:" + node.httpPort(), "alice");
    Page bob = signIn(chromium.newPage(), "http://127.0.0.1:" + node.httpPort(), "bob");

    alice.locator("#new-members").fill("bob");
    alice.locator("#new-title").fill("Lunch");
    alice.locator("#new-id").fill("lunch");
    alice.locator("#new-create").click();
    assertThat(alice.locator("#conversation-title")).hasText("Lunch");
    assertThat(alice.locator("#messages .notice").first()).hasText("alice created Lunch with alice, bob");
    // Presence: bob is signed in, so his dot is green; alice is herself.
    assertThat(alice.locator("#members li[data-user='bob']")).hasAttribute("data-status", "online");
    assertThat(alice.locator("#members li[data-user='alice']")).containsText("alice (you)");

    send(alice, "Hi Bob, lunch at noon?");
    openFromList(bob, "lunch", 1);
    assertThat(messages(bob)).containsText(new String[] {"Hi Bob, lunch at noon?"});

    bob.locator("#composer-text").pressSequentially("On my way");
    assertThat(alice.locator("#typing")).hasText("bob is typing…");
    bob.locator("#send-button").click();
    assertThat(messages(alice)).containsText(new String[] {"Hi Bob, lunch at noon?", "On my way"});
    assertThat(alice.locator("#typing")).isEmpty();

    assertThat(alice.locator("#receipts")).hasText("seen by bob");
    bob.reload();
    assertThat(bob.locator("#connection")).hasText("connected");
    assertThat(bob.locator("#inbox li[data-conversation='lunch'] .title")).hasText("Lunch");
    assertThat(bob.locator("#conversation-title")).hasText("Lunch");
    assertThat(messages(bob)).containsText(new String[] {"Hi Bob, lunch at noon?", "On my way"});
    assertThat(bob.locator("#messages li.message.mine .text")).hasText(new String[] {"On my way"});

    send(alice, "See you there");
    assertThat(messages(bob)).containsText(new String[] {"See you there"});
    // A second conversation in the background: bob's inbox counts what he has not read.
    alice.locator("#new-members").fill("bob");
    alice.locator("#new-title").fill("Weekend");
    alice.locator("#new-create").click();
    assertThat(alice.locator("#conversation-title")).hasText("Weekend");
    send(alice, "Hiking on Saturday?");
    send(alice, "Or Sunday?");
    Locator weekend = bob.locator("#inbox li").filter(new Locator.FilterOptions().setHasText("Weekend"));
    assertThat(weekend.locator(".unread")).hasText("2");
    assertThat(weekend.locator(".preview")).hasText("alice: Or Sunday?");
    Chromium.screenshot(bob, "web-chat.png");
    // Bob closes his browser: alice sees him offline, with when he was last seen.
    Locator bobOnAlice = alice.locator("#members li[data-user='bob']");
    assertThat(bobOnAlice).hasAttribute("data-status", "online");
    bob.context().close();
    assertThat(bobOnAlice).hasAttribute("data-status", "offline");
    assertThat(bobOnAlice.locator(".seen")).containsText("last seen");
    alice.context().close();
  }

  @Test
  void muteIsAToggleKeptByTheServerAndShownOnEveryDevice() throws Exception {
    String base = "http://127.0.0.1:" + node.httpPort();
    Page phone = signIn(chromium.newPage(), base, "carol");
    phone.locator("#new-members").fill("dave");
    phone.locator("#new-title").fill("Noisy");
    phone.locator("#new-id").fill("noisy");
    phone.locator("#new-create").click();
    assertThat(phone.locator("#conversation-title")).hasText("Noisy");
    Locator toggle = phone.locator("#mute-toggle");
    assertThat(toggle).hasText("Mute");
    Page laptop = signIn(chromium.newPage(), base, "carol");
    Locator onLaptop = laptop.locator("#inbox li[data-conversation='noisy']");
    assertThat(onLaptop.locator(".title")).hasText("Noisy");
    assertThat(onLaptop.locator(".muted")).hasCount(0);

    toggle.click();
    assertThat(toggle).hasText("Unmute");
    assertThat(toggle).hasAttribute("aria-pressed", "true");
    assertThat(phone.locator("#inbox li[data-conversation='noisy'] .muted")).hasText("muted");
    // The other device hears of it (inbox_update), and a reload reads it back from the server.
    assertThat(onLaptop.locator(".muted")).hasText("muted");
    laptop.reload();
    assertThat(laptop.locator("#inbox li[data-conversation='noisy'] .muted")).hasText("muted");

    toggle.click();
    assertThat(toggle).hasText("Mute");
    assertThat(laptop.locator("#inbox li[data-conversation='noisy'] .muted")).hasCount(0);
    phone.context().close();
    laptop.context().close();
  }

  @Test
  void aDroppedConnectionResumesWithoutLosingMessages() throws Exception {
    try (TcpProxy network = new TcpProxy("127.0.0.1", node.httpPort())) {
      Page carol = signIn(chromium.newPage(), "http://127.0.0.1:" + node.httpPort(), "carol");
      Page dave = signIn(chromium.newPage(), "http://127.0.0.1:" + network.port(), "dave");
      carol.locator("#new-members").fill("dave");
      carol.locator("#new-id").fill("standup");
      carol.locator("#new-create").click();
      send(carol, "before the drop");
      openFromList(dave, "standup", 1);
      assertThat(messages(dave)).containsText(new String[] {"before the drop"});

      network.cut();
      assertThat(dave.locator("#connection")).containsText("reconnecting");
      send(carol, "while you were away 1");
      send(carol, "while you were away 2");
      network.restore();

      assertThat(dave.locator("#connection")).hasText("connected", new LocatorAssertions.HasTextOptions().setTimeout(60_000));
      assertThat(messages(dave))
          .hasText(new String[] {"before the drop", "while you were away 1", "while you were away 2"});
      carol.context().close();
      dave.context().close();
    }
  }

  @Test
  void olderMessagesArePagedInOnDemand() throws Exception {
    String erin = node.token("erin");
    Assertions.assertThat(node.api().post("/v1/conversations", erin, "{\"conversation\":\"archive\",\"members\":[\"frank\"]}").status())
        .isEqualTo(201);
    for (int i = 1; i <= 45; i++) {
      String body = "{\"clientMsgId\":\"m" + i + "\",\"text\":\"message " + i + "\"}";
      Assertions.assertThat(node.api().post("/v1/conversations/archive/messages", erin, body).status()).isEqualTo(201);
    }
    Page frank = signIn(chromium.newPage(), "http://127.0.0.1:" + node.httpPort(), "frank");
    openFromList(frank, "archive", 45);
    // The newest page (30 timeline events) first, then older ones when asked for.
    assertThat(messages(frank)).hasCount(30);
    assertThat(messages(frank).last()).hasText("message 45");
    assertThat(messages(frank).first()).hasText("message 16");
    frank.locator("#load-older").click();
    assertThat(messages(frank)).hasCount(45);
    assertThat(messages(frank).first()).hasText("message 1");
    assertThat(frank.locator("#messages .notice").first()).hasText("erin created the conversation with erin, frank");
    assertThat(frank.locator("#load-older")).isHidden();
    frank.context().close();
  }

  /** Sends and waits until the node acknowledged it (the message is no longer pending). */
  private static void send(Page page, String text) {
    page.locator("#composer-text").fill(text);
    page.locator("#send-button").click();
    assertThat(page.locator("#messages li.message:not(.pending) .text").filter(new Locator.FilterOptions().setHasText(text)))
        .hasCount(1);
  }

  /** Opens a conversation someone else created from the inbox, where it shows with its unread count. */
  private static void openFromList(Page page, String conversation, int unread) {
    Locator item = page.locator("#inbox li[data-conversation='" + conversation + "']");
    assertThat(item.locator(".unread")).hasText(String.valueOf(unread));
    item.click();
    assertThat(page.locator("#conversation-id")).hasText(conversation);
    assertThat(item.locator(".unread")).isHidden();
  }

  private static Locator messages(Page page) {
    return page.locator("#messages li.message .text");
  }
}
