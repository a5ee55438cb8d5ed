package dev.parley.auth;

import com.nimbusds.jwt.SignedJWT;
import dev.parley.CborSerializable;
import dev.parley.storage.Storage;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.text.ParseException;
import java.time.Clock;
import java.time.Instant;
import java.util.Date;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.actor.typed.pubsub.Topic;

/**
 * Revocation by user id: an operator revokes a user (a stolen device, a fired employee) and every
 * token of that user issued so far stops working at once, on every node: open connections are
 * closed (dev.parley.gateway.ConnectedUsers), new connections and HTTP requests with such a token
 * get 401. Tokens issued afterwards work again.
 *
 * <p>Kept in the database (table {@code revoked_user}, so a restart forgets nothing) and in memory
 * on every node (so the check on connect costs a map lookup), kept in step by a cluster-wide topic.
 * One row per revoked user: the table grows with operator actions, not with traffic.
 */
public final class Revocations implements Extension {

  public static final String TOPIC = "parley-revocations";

  /** Every token of {@code user} issued at or before {@code revokedAt} (epoch seconds) is void. */
  public record Revoked(String user, long revokedAt) implements CborSerializable {}

  private final Map<String, Long> revokedAt = new ConcurrentHashMap<>();
  private final Clock clock = Clock.systemUTC();
  private volatile Storage storage;
  private volatile ActorRef<Topic.Command<Revoked>> topic;

  public static Revocations get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** Loads the revocations from the database; from then on this node enforces and can revoke. */
  public void start(Storage storage, ActorRef<Topic.Command<Revoked>> topic) throws SQLException {
    try (Connection c = connect(storage);
        PreparedStatement s = c.prepareStatement("SELECT user_id, revoked_at FROM revoked_user");
        ResultSet r = s.executeQuery()) {
      while (r.next()) apply(new Revoked(r.getString(1), r.getLong(2)));
    }
    this.storage = storage;
    this.topic = topic;
  }

  /**
   * True when {@code user}'s token issued at {@code issuedAt} has been revoked. A token without
   * {@code iat} of a revoked user is refused: nothing says it was issued after the revocation.
   */
  public boolean isRevoked(String user, Optional<Instant> issuedAt) {
    Long at = revokedAt.get(user);
    if (at == null) return false;
    return issuedAt.isEmpty() || issuedAt.get().getEpochSecond() <= at;
  }

  /** The token's {@code iat}, for a token that {@link Tokens} has verified already. */
  public static Optional<Instant> issuedAt(String verifiedToken) {
    try {
      Date iat = SignedJWT.parse(verifiedToken).getJWTClaimsSet().getIssueTime();
      return Optional.ofNullable(iat).map(Date::toInstant);
    } catch (ParseException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /**
   * Revokes every token of {@code user} issued until now: stored first (so it survives any
   * restart), then announced to every node. Tokens issued in the same second are revoked too
   * (a JWT's iat has one-second resolution): mint the user's new token a second later.
   */
  public Revoked revoke(String user) throws SQLException {
    Storage db = storage;
    if (db == null) throw new IllegalStateException("revocations are not started on this node");
    Revoked revoked = new Revoked(user, clock.instant().getEpochSecond());
    try (Connection c = connect(db)) {
      try (PreparedStatement update = c.prepareStatement("UPDATE revoked_user SET revoked_at = ? WHERE user_id = ?")) {
        update.setLong(1, revoked.revokedAt());
        update.setString(2, user);
        if (update.executeUpdate() == 0) {
          try (PreparedStatement insert = c.prepareStatement("INSERT INTO revoked_user (user_id, revoked_at) VALUES (?, ?)")) {
            insert.setString(1, user);
            insert.setLong(2, revoked.revokedAt());
            insert.executeUpdate();
          }
        }
      }
    }
    apply(revoked);
    topic.tell(Topic.publish(revoked));
    return revoked;
  }

  /** A revocation made on any node (or loaded at start). */
  public void apply(Revoked revoked) {
    revokedAt.merge(revoked.user(), revoked.revokedAt(), Math::max);
  }

  /** Rare operator actions: a connection of their own, not one taken from the journal's pool. */
  private static Connection connect(Storage storage) throws SQLException {
    return storage.connect();
  }

  private static final class Id extends ExtensionId<Revocations> {
    static final Id INSTANCE = new Id();

    @Override
    public Revocations createExtension(ActorSystem<?> system) {
      return new Revocations();
    }
  }
}
