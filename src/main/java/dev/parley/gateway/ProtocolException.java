package dev.parley.gateway;

import dev.parley.ErrorCode;

/** A client frame or request body that cannot be accepted; becomes an {@code error} reply, never a crash. */
public final class ProtocolException extends RuntimeException {
  private final ErrorCode code;

  public ProtocolException(ErrorCode code, String message) {
    super(message, null, false, false);
    this.code = code;
  }

  public ErrorCode code() {
    return code;
  }
}
