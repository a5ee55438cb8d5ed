package dev.parley.bench;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * The fields of server frames (protocol v1) the bench looks at; everything else is ignored. Every
 * request the bench sends carries a string {@code id}, so echoed ids are strings here.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ServerFrame(
    String type,
    String id,
    String conversation,
    Long seq,
    String clientMsgId,
    String code,
    Long lastSeq,
    Boolean recovered,
    Long afterMs,
    Long closeInMs,
    String sender,
    Long ts,
    Long retryAfterMs) {

  /** A timeline event (message, member_joined, ...): anything with a seq that is not a reply. */
  public boolean isTimelineEvent() {
    return seq != null && conversation != null && !"ack".equals(type) && !"ok".equals(type);
  }
}
