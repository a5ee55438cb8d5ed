package dev.parley;

/**
 * The closed set of failure reasons a client can see, each with its protocol code. Every
 * rejection inside the engine is one of these; the gateway maps them to {@code error} frames and
 * HTTP statuses in one place, so no exception text ever reaches a client.
 */
public enum ErrorCode {
  BAD_REQUEST("bad_request", 400),
  UNAUTHORIZED("unauthorized", 401),
  FORBIDDEN("forbidden", 403),
  NOT_FOUND("not_found", 404),
  TOO_LARGE("too_large", 413),
  RATE_LIMITED("rate_limited", 429),
  UNAVAILABLE("unavailable", 503),
  INTERNAL("internal", 500);

  private final String code;
  private final int httpStatus;

  ErrorCode(String code, int httpStatus) {
    this.code = code;
    this.httpStatus = httpStatus;
  }

  /** The code as written in the protocol, e.g. {@code not_found}. */
  public String code() {
    return code;
  }

  public int httpStatus() {
    return httpStatus;
  }
}
