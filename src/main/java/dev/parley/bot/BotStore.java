package dev.parley.bot;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariDataSource;
import dev.parley.conversation.Conversation;
import dev.parley.conversation.TimelineEvent;
import dev.parley.storage.Storage;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Sequence;

/**
 * The bots' tables (db/migration/.../V3__bots.sql) in SQL, the same statements on PostgreSQL and H2
 * but one (the projection's seen seqs: a function of V21_18_1 on PostgreSQL, a MERGE on H2).
 * Blocking JDBC on a pool of its own: callers run it on the bots' dispatcher.
 */
public final class BotStore implements AutoCloseable {

  /** Where one bot stands in one conversation. */
  public record Progress(String bot, String conversation, long lastSeen, long lastHandled, Map<String, String> state) {}

  /** A runner that has work: its bot, conversation and the newest seq seen there. */
  public record Wake(String bot, String conversation, long lastSeen) {}

  /** An event a bot failed to handle after its last attempt. */
  public record DeadLetter(String bot, String conversation, long seq, int attempts, String error, String payload) {}

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TypeReference<Map<String, String>> STATE = new TypeReference<>() {};
  private static final int MAX_STATE_CHARS = 65536;

  private final HikariDataSource pool;
  private final boolean postgres;
  private final LongAdder statements = new LongAdder();

  private BotStore(HikariDataSource pool, boolean postgres) {
    this.pool = pool;
    this.postgres = postgres;
  }

  public static BotStore open(Storage storage, int poolSize, Duration connectionTimeout) {
    return new BotStore(storage.pool("parley-bots", poolSize, connectionTimeout), storage.vendor() == Storage.Vendor.POSTGRESQL);
  }

  /** Statements the projection's batches executed so far ({@link #apply}): how tests prove there is no statement per conversation. */
  public long projectionStatements() {
    return statements.sum();
  }

  @Override
  public void close() {
    pool.close();
  }

  // ---- runner ---------------------------------------------------------------------------------

  public Optional<Progress> progress(String bot, String conversation) {
    try (Connection c = pool.getConnection();
        PreparedStatement s =
            c.prepareStatement(
                "SELECT last_seen_seq, last_handled_seq, state FROM bot_progress WHERE bot = ? AND conversation_id = ?")) {
      s.setString(1, bot);
      s.setString(2, conversation);
      try (ResultSet r = s.executeQuery()) {
        if (!r.next()) return Optional.empty();
        return Optional.of(new Progress(bot, conversation, r.getLong(1), r.getLong(2), JSON.readValue(r.getString(3), STATE)));
      }
    } catch (SQLException | JsonProcessingException e) {
      throw new IllegalStateException("bot progress query failed", e);
    }
  }

  /**
   * Moves the bot's offset to {@code seq} with its new state. False when the row is gone (the bot
   * left) or already past {@code seq} (another runner did it): either way this runner stops.
   */
  public boolean handled(String bot, String conversation, long seq, Map<String, String> state) {
    try (Connection c = pool.getConnection()) {
      return markHandled(c, bot, conversation, seq, state);
    } catch (SQLException e) {
      throw new IllegalStateException("bot progress update failed", e);
    }
  }

  /** Records an event given up on and moves past it, in one transaction. */
  public boolean deadLetter(DeadLetter letter, Map<String, String> state, long now) {
    try (Connection c = pool.getConnection()) {
      c.setAutoCommit(false);
      try {
        try (PreparedStatement s =
            c.prepareStatement(
                "INSERT INTO bot_dead_letter (bot, conversation_id, seq, attempts, error, payload, created_at)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?)")) {
          s.setString(1, letter.bot());
          s.setString(2, letter.conversation());
          s.setLong(3, letter.seq());
          s.setInt(4, letter.attempts());
          s.setString(5, cut(letter.error(), 2000));
          s.setString(6, cut(letter.payload(), MAX_STATE_CHARS));
          s.setLong(7, now);
          s.executeUpdate();
        }
        boolean moved = markHandled(c, letter.bot(), letter.conversation(), letter.seq(), state);
        c.commit();
        return moved;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      }
    } catch (SQLException e) {
      throw new IllegalStateException("bot dead letter failed", e);
    }
  }

  public List<DeadLetter> deadLetters(String bot) {
    try (Connection c = pool.getConnection();
        PreparedStatement s =
            c.prepareStatement(
                "SELECT conversation_id, seq, attempts, error, payload FROM bot_dead_letter WHERE bot = ? ORDER BY id")) {
      s.setString(1, bot);
      List<DeadLetter> letters = new ArrayList<>();
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) letters.add(new DeadLetter(bot, r.getString(1), r.getLong(2), r.getInt(3), r.getString(4), r.getString(5)));
      }
      return letters;
    } catch (SQLException e) {
      throw new IllegalStateException("bot dead letter query failed", e);
    }
  }

  private static boolean markHandled(Connection c, String bot, String conversation, long seq, Map<String, String> state)
      throws SQLException {
    String json;
    try {
      json = JSON.writeValueAsString(state);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("bot state is not serializable", e);
    }
    if (json.length() > MAX_STATE_CHARS) throw new IllegalStateException("bot state is larger than " + MAX_STATE_CHARS + " characters");
    try (PreparedStatement s =
        c.prepareStatement(
            "UPDATE bot_progress SET last_handled_seq = ?, state = ?, updated_at = ?"
                + " WHERE bot = ? AND conversation_id = ? AND last_handled_seq < ?")) {
      s.setLong(1, seq);
      s.setString(2, json);
      s.setLong(3, System.currentTimeMillis());
      s.setString(4, bot);
      s.setString(5, conversation);
      s.setLong(6, seq);
      return s.executeUpdate() > 0;
    }
  }

  // ---- sweeper --------------------------------------------------------------------------------

  /** Up to {@code limit} (bot, conversation) pairs of these bots that are behind, least recently moved first. */
  public List<Wake> behind(Set<String> bots, int limit) {
    if (bots.isEmpty()) return List.of();
    String in = String.join(", ", bots.stream().map(b -> "?").toList());
    try (Connection c = pool.getConnection();
        PreparedStatement s =
            c.prepareStatement(
                "SELECT bot, conversation_id, last_seen_seq FROM bot_progress"
                    + " WHERE last_handled_seq < last_seen_seq AND bot IN (" + in + ") ORDER BY updated_at LIMIT ?")) {
      int i = 1;
      for (String bot : bots) s.setString(i++, bot);
      s.setInt(i, limit);
      List<Wake> wakes = new ArrayList<>();
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) wakes.add(new Wake(r.getString(1), r.getString(2), r.getLong(3)));
      }
      return wakes;
    } catch (SQLException e) {
      throw new IllegalStateException("bot sweep query failed", e);
    }
  }

  // ---- projection -----------------------------------------------------------------------------

  public long offset(String tag) {
    try (Connection c = pool.getConnection();
        PreparedStatement s = c.prepareStatement("SELECT journal_ordering FROM bot_offset WHERE tag = ?")) {
      s.setString(1, tag);
      try (ResultSet r = s.executeQuery()) {
        return r.next() ? r.getLong(1) : 0L;
      }
    } catch (SQLException e) {
      throw new IllegalStateException("bot offset query failed", e);
    }
  }

  /**
   * Applies a batch of one tag's events: memberships of {@code registered} bots become rows (from
   * the event that made the bot a member: it is the first the bot handles), leaving deletes them,
   * and each conversation's newest seq is recorded as seen; the tag's offset moves in the same
   * transaction. Returns the runners that are behind, to wake after the commit. One statement for
   * the whole batch besides membership changes and the offset (issue 18: it was one per
   * conversation of the batch, two with a bot, ~0.21 statements per send at 2,000 sends/s of 1:1
   * chat, where almost no conversation has a bot).
   */
  public List<Wake> apply(String tag, List<EventEnvelope> batch, Set<String> registered) {
    if (batch.isEmpty()) return List.of();
    try (Connection c = pool.getConnection()) {
      c.setAutoCommit(false);
      try {
        Map<String, Long> newest = new LinkedHashMap<>();
        for (EventEnvelope envelope : batch) {
          if (!(envelope.event() instanceof TimelineEvent event)) continue;
          String conversation = conversationIdOf(envelope.persistenceId());
          applyMembership(c, conversation, event, registered);
          newest.merge(conversation, event.seq(), Math::max);
        }
        List<Wake> wakes = seen(c, newest);
        EventEnvelope last = batch.get(batch.size() - 1);
        long ordering = ((Sequence) last.offset()).value();
        long now = System.currentTimeMillis();
        if (update(c, "UPDATE bot_offset SET journal_ordering = ?, updated_at = ? WHERE tag = ?", ordering, now, tag) == 0) {
          update(c, "INSERT INTO bot_offset (tag, journal_ordering, updated_at) VALUES (?, ?, ?)", tag, ordering, now);
        }
        c.commit();
        return wakes;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      }
    } catch (SQLException e) {
      throw new IllegalStateException("bot projection batch failed", e);
    }
  }

  /**
   * Records each conversation's newest seq as seen by its bots, in one statement for all the
   * batch's conversations, and returns the rows it moved that are behind (their runners have work).
   * A row already at or past its conversation's newest seq (the batch applied twice) is not moved
   * and not woken again.
   */
  private List<Wake> seen(Connection c, Map<String, Long> newest) throws SQLException {
    if (newest.isEmpty()) return List.of();
    List<Wake> wakes = new ArrayList<>();
    Array conversations = c.createArrayOf("varchar", newest.keySet().toArray());
    Array seqs = c.createArrayOf("bigint", newest.values().toArray());
    try (PreparedStatement s = c.prepareStatement(postgres ? SEEN_ON_POSTGRESQL : SEEN_ON_H2)) {
      s.setArray(1, conversations);
      s.setArray(2, seqs);
      statements.increment();
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          if (r.getLong(4) < r.getLong(3)) wakes.add(new Wake(r.getString(1), r.getString(2), r.getLong(3)));
        }
      }
    } finally {
      conversations.free();
      seqs.free();
    }
    return wakes;
  }

  /**
   * PostgreSQL: a function (V21_18_1) with one update per conversation inside the database, each
   * taking {@code bot_progress_by_conversation}. Not one {@code UPDATE ... FROM} over the arrays:
   * without statistics PostgreSQL would join them to the whole table once it is large (what
   * happened to the inbox's members' rows, benchmarks.md, issue 18, 2026-12-06).
   */
  private static final String SEEN_ON_POSTGRESQL =
      "SELECT bot, conversation_id, last_seen_seq, last_handled_seq FROM parley_bots_seen(?::varchar[], ?::int8[])";

  /** H2 has no UPDATE ... FROM: a MERGE, its updated rows read back from its final table. */
  private static final String SEEN_ON_H2 =
      "SELECT bot, conversation_id, last_seen_seq, last_handled_seq FROM FINAL TABLE (MERGE INTO bot_progress p"
          + " USING (SELECT * FROM UNNEST(CAST(? AS VARCHAR ARRAY), CAST(? AS BIGINT ARRAY))) AS n(conversation_id, seq)"
          + " ON p.conversation_id = n.conversation_id AND p.last_seen_seq < n.seq"
          + " WHEN MATCHED THEN UPDATE SET last_seen_seq = n.seq)";

  private void applyMembership(Connection c, String conversation, TimelineEvent event, Set<String> registered)
      throws SQLException {
    if (event instanceof TimelineEvent.Created created) {
      for (String member : created.members()) join(c, conversation, member, created.seq(), registered);
    } else if (event instanceof TimelineEvent.MemberJoined joined) {
      join(c, conversation, joined.user(), joined.seq(), registered);
    } else if (event instanceof TimelineEvent.MemberLeft left) {
      Optional<String> bot = Bots.nameOf(left.user());
      if (bot.isPresent()) {
        update(c, "DELETE FROM bot_progress WHERE bot = ? AND conversation_id = ?", bot.get(), conversation);
      }
    }
  }

  /** A row starting just before the joining event; a second apply of the same event inserts nothing. */
  private void join(Connection c, String conversation, String user, long seq, Set<String> registered)
      throws SQLException {
    Optional<String> bot = Bots.nameOf(user).filter(registered::contains);
    if (bot.isEmpty()) return;
    update(
        c,
        "INSERT INTO bot_progress (bot, conversation_id, last_seen_seq, last_handled_seq, state, updated_at)"
            + " SELECT ?, ?, ?, ?, '{}', ? WHERE NOT EXISTS (SELECT 1 FROM bot_progress WHERE bot = ? AND conversation_id = ?)",
        bot.get(), conversation, seq, seq - 1, System.currentTimeMillis(), bot.get(), conversation);
  }

  static String conversationIdOf(String persistenceId) {
    String prefix = Conversation.ENTITY_TYPE_KEY.name() + "|";
    return persistenceId.startsWith(prefix) ? persistenceId.substring(prefix.length()) : persistenceId;
  }

  private int update(Connection c, String sql, Object... parameters) throws SQLException {
    statements.increment();
    try (PreparedStatement s = c.prepareStatement(sql)) {
      for (int i = 0; i < parameters.length; i++) {
        Object p = parameters[i];
        if (p instanceof Long l) s.setLong(i + 1, l);
        else s.setString(i + 1, (String) p);
      }
      return s.executeUpdate();
    }
  }

  private static String cut(String text, int max) {
    if (text == null) return "";
    return text.length() <= max ? text : text.substring(0, max);
  }
}
