package dev.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Utf8Test {

  private static int encoded(String s) {
    return s.getBytes(StandardCharsets.UTF_8).length;
  }

  @Test
  void emptyStringIsZeroBytes() {
    assertThat(Utf8.length("")).isZero();
  }

  @Test
  void asciiIsOneBytePerCharacter() {
    assertThat(Utf8.length("hello, world")).isEqualTo(12);
  }

  @Test
  void latinAndGreekAreTwoBytesPerCharacter() {
    assertThat(Utf8.length("é")).isEqualTo(2);
    assertThat(Utf8.length("\u07FF")).isEqualTo(2);
    assertThat(Utf8.length("αβγ")).isEqualTo(6);
  }

  @Test
  void restOfTheBasicPlaneIsThreeBytesPerCharacter() {
    assertThat(Utf8.length("\u0800")).isEqualTo(3);
    assertThat(Utf8.length("日本語")).isEqualTo(9);
    assertThat(Utf8.length("\uFFFF")).isEqualTo(3);
  }

  @Test
  void supplementaryCharacterIsFourBytes() {
    assertThat(Utf8.length("😀")).isEqualTo(4);
    assertThat(Utf8.length(new String(Character.toChars(0x10FFFF)))).isEqualTo(4);
  }

  @Test
  void mixedTextMatchesTheEncoder() {
    String text = "a é 日 😀 z";

    assertThat(Utf8.length(text)).isEqualTo(encoded(text)).isEqualTo(15);
  }

  @Test
  void randomWellFormedTextMatchesTheEncoder() {
    Random random = new Random(42);
    for (int run = 0; run < 2_000; run++) {
      StringBuilder text = new StringBuilder();
      int length = random.nextInt(40);
      for (int i = 0; i < length; i++) {
        int codePoint;
        do {
          codePoint = switch (random.nextInt(4)) {
            case 0 -> random.nextInt(0x80);
            case 1 -> 0x80 + random.nextInt(0x800 - 0x80);
            case 2 -> 0x800 + random.nextInt(0x10000 - 0x800);
            default -> 0x10000 + random.nextInt(0x110000 - 0x10000);
          };
        } while (Character.isSurrogate((char) codePoint) && codePoint < 0x10000);
        text.appendCodePoint(codePoint);
      }
      String s = text.toString();
      assertThat(Utf8.length(s)).as("length of %s", s).isEqualTo(encoded(s));
    }
  }

  @Test
  void loneSurrogatesAreNeverUnderCounted() {
    // Not valid UTF-16; the count must still not fall below what an encoder would produce, so a
    // size limit checked with it cannot be bypassed.
    for (String s : new String[] {"\uD800", "\uDC00", "a\uD800", "\uD800a", "\uDC00\uD800", "\uD800\uD800\uDC00", "\uD83D"}) {
      assertThat(Utf8.length(s)).as("length of %s", s.codePoints().boxed().toList()).isGreaterThanOrEqualTo(encoded(s));
    }
  }

  @Test
  void loneLowSurrogateCountsThreeBytes() {
    assertThat(Utf8.length("\uDC00")).isEqualTo(3);
  }
}
