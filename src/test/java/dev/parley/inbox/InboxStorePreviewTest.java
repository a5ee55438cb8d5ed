package dev.parley.inbox;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class InboxStorePreviewTest {

  @Test
  void aShortTextIsItsOwnPreview() {
    assertThat(InboxStore.previewOf("")).isEmpty();
    assertThat(InboxStore.previewOf("hello")).isEqualTo("hello");
    String exactly = "x".repeat(InboxStore.PREVIEW_LENGTH);
    assertThat(InboxStore.previewOf(exactly)).isSameAs(exactly);
  }

  @Test
  void aLongTextIsCutAtTheLimitInCodePoints() {
    assertThat(InboxStore.previewOf("y".repeat(InboxStore.PREVIEW_LENGTH + 1))).isEqualTo("y".repeat(InboxStore.PREVIEW_LENGTH));
  }

  @Test
  void charactersOutsideTheBmpCountOnceAndAreNeverSplit() {
    String smile = "\uD83D\uDE00"; // U+1F600, two UTF-16 chars
    String emojis = smile.repeat(InboxStore.PREVIEW_LENGTH);
    // 140 code points in 280 chars: not cut.
    assertThat(InboxStore.previewOf(emojis)).isEqualTo(emojis);

    String preview = InboxStore.previewOf(smile.repeat(InboxStore.PREVIEW_LENGTH + 5));
    assertThat(preview.codePointCount(0, preview.length())).isEqualTo(InboxStore.PREVIEW_LENGTH);
    assertThat(preview).isEqualTo(emojis);

    // The cut falls right after a surrogate pair: no lone high surrogate is left at the end.
    String mixed = "a".repeat(InboxStore.PREVIEW_LENGTH - 1) + smile + "tail";
    String cut = InboxStore.previewOf(mixed);
    assertThat(cut).isEqualTo("a".repeat(InboxStore.PREVIEW_LENGTH - 1) + smile);
    assertThat(Character.isHighSurrogate(cut.charAt(cut.length() - 1))).isFalse();
  }
}
