package dev.parley.presence;

/** A user's presence as clients see it; {@code lastSeen} (epoch ms) is null when online or unknown. */
public record UserPresence(String user, PresenceEntry.Status status, Long lastSeen) {

  public static UserPresence unknown(String user) {
    return new UserPresence(user, PresenceEntry.Status.OFFLINE, null);
  }

  public boolean sameAs(UserPresence other) {
    return other != null && status == other.status && java.util.Objects.equals(lastSeen, other.lastSeen);
  }
}
