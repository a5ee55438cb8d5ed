package dev.parley.presence;

import dev.parley.CborSerializable;
import java.util.Collection;

/**
 * One node's word on one user: {@code status} since {@code since} (epoch ms). {@link Status#OFFLINE}
 * entries are kept for a while ({@code last-seen-retention}) so that {@code lastSeen} survives the
 * user's last connection; they are the value type of the replicated per-node maps.
 */
public record PresenceEntry(Status status, long since) implements CborSerializable {

  /** In precedence order: a user online on any device is online; away only if every device is away. */
  public enum Status {
    ONLINE,
    AWAY,
    OFFLINE;

    public String wireName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * Several devices, one presence: the strongest status among {@code entries}; {@code lastSeen} is
   * null while online, else the latest {@code since} of the entries of the winning status (when the
   * user went away, or closed their last connection). No entry at all: offline, lastSeen unknown.
   */
  public static UserPresence merge(String user, Collection<PresenceEntry> entries) {
    Status best = Status.OFFLINE;
    for (PresenceEntry e : entries) if (e.status().ordinal() < best.ordinal()) best = e.status();
    if (best == Status.ONLINE) return new UserPresence(user, Status.ONLINE, null);
    Long lastSeen = null;
    for (PresenceEntry e : entries) {
      if (e.status() == best && (lastSeen == null || e.since() > lastSeen)) lastSeen = e.since();
    }
    return new UserPresence(user, best, lastSeen);
  }
}
