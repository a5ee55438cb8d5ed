package dev.parley.inbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class InboxCursorTest {

  private static String base64(String raw) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(raw.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void aCursorSurvivesEncodingAndDecoding() {
    for (Inbox.Cursor cursor :
        new Inbox.Cursor[] {
          new Inbox.Cursor(1_764_000_000_123L, "room-1"),
          new Inbox.Cursor(0, "a"),
          new Inbox.Cursor(Long.MAX_VALUE, "a.b_c:d-1:with:colons"),
          new Inbox.Cursor(-5, "x")
        }) {
      String encoded = cursor.encode();
      assertThat(encoded).matches("[A-Za-z0-9_-]+"); // safe in a URL query without escaping
      assertThat(Inbox.Cursor.decode(encoded)).contains(cursor);
    }
  }

  @Test
  void theItemsCursorIsItsLastActivityAndConversation() {
    Inbox.Summary summary = new Inbox.Summary("c-7", "title", 9, 100, null);
    assertThat(new Inbox.Item(summary, 250, 3, 2, false).cursor()).isEqualTo(new Inbox.Cursor(250, "c-7"));
  }

  @Test
  void garbageIsNotACursor() {
    for (String garbage :
        new String[] {
          "",
          "!!!not base64!!!",
          "abc=def",
          base64("no colon"),
          base64(":conversation-without-activity"),
          base64("123:"),
          base64("twelve:room"),
          base64("99999999999999999999999:room"),
          base64("1.5:room"),
          "@@@"
        }) {
      assertThat(Inbox.Cursor.decode(garbage)).as("decode(%s)", garbage).isEqualTo(Optional.empty());
    }
  }
}
