package dev.parley.gateway;

/** Byte length of a string in UTF-8, without encoding it. */
final class Utf8 {
  private Utf8() {}

  static long length(CharSequence s) {
    long bytes = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) bytes += 1;
      else if (c < 0x800) bytes += 2;
      else if (Character.isHighSurrogate(c)) {
        bytes += 4;
        i++;
      } else bytes += 3;
    }
    return bytes;
  }
}
