package dev.parley.inbox;

import com.zaxxer.hikari.HikariDataSource;
import dev.parley.conversation.Conversation;
import dev.parley.inbox.Inbox.Change;
import dev.parley.inbox.Inbox.Cursor;
import dev.parley.inbox.Inbox.Item;
import dev.parley.inbox.Inbox.Page;
import dev.parley.inbox.Inbox.Position;
import dev.parley.inbox.Inbox.Preview;
import dev.parley.inbox.Inbox.Summary;
import dev.parley.storage.Storage;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Sequence;

/**
 * The inbox read model in SQL (tables in db/migration/.../V2__inbox.sql), the same statements on
 * PostgreSQL and H2. Blocking JDBC: callers run it on the inbox's own dispatcher.
 *
 * <p>Cost does not grow with a user's number of conversations: a page is one statement, an
 * index range of {@code inbox_entry_by_activity} limited to the page, joined by primary key.
 * The projection applies a batch of events ({@link InboxEventWriter}) and its offset in one
 * transaction, and reads the changed conversations back with one statement per 100 of them.
 */
public final class InboxStore implements AutoCloseable {

  /** Inbox previews are a glance, not the message: longer texts are cut to this many code points. */
  public static final int PREVIEW_LENGTH = 140;

  private final HikariDataSource pool;
  private final DataSource dataSource;
  private final CountedStatements statements = new CountedStatements();
  private final InboxEventWriter events;
  private final Clock clock;

  private InboxStore(HikariDataSource pool, Clock clock, boolean postgres) {
    this.pool = pool;
    this.clock = clock;
    this.dataSource = pool;
    this.events = new InboxEventWriter(statements, postgres);
  }

  /** A pool of its own, so inbox pages never wait behind journal writes (and the reverse). */
  public static InboxStore open(Storage storage, int poolSize, Duration connectionTimeout) {
    return new InboxStore(
        storage.pool("parley-inbox", poolSize, connectionTimeout), Clock.systemUTC(), storage.vendor() == Storage.Vendor.POSTGRESQL);
  }

  /** Statements executed so far (a batch counts once): a metric, and how tests prove there is no N+1. */
  public long statementsExecuted() {
    return statements.executed();
  }

  /** Statements the database executed so far: a JDBC batch counts once per statement in it. */
  public long executionsOnTheServer() {
    return statements.executions();
  }

  @Override
  public void close() {
    pool.close();
  }

  /**
   * Exports the read model's pool and statement count: {@code parley_inbox_pool_connections{state}}
   * (active, idle, total, pending) and {@code parley_inbox_statements_total}.
   */
  public void bindMetrics(MeterRegistry registry) {
    Map<String, java.util.function.ToDoubleFunction<HikariDataSource>> states =
        Map.of(
            "active", p -> p.getHikariPoolMXBean() == null ? Double.NaN : p.getHikariPoolMXBean().getActiveConnections(),
            "idle", p -> p.getHikariPoolMXBean() == null ? Double.NaN : p.getHikariPoolMXBean().getIdleConnections(),
            "total", p -> p.getHikariPoolMXBean() == null ? Double.NaN : p.getHikariPoolMXBean().getTotalConnections(),
            "pending", p -> p.getHikariPoolMXBean() == null ? Double.NaN : p.getHikariPoolMXBean().getThreadsAwaitingConnection());
    states.forEach(
        (state, value) ->
            Gauge.builder("parley_inbox_pool_connections", pool, value)
                .description("the inbox read model's own connection pool")
                .tag("state", state)
                .register(registry));
    FunctionCounter.builder("parley_inbox_statements", statements, CountedStatements::executed)
        .description("statements the inbox read model executed (a batch counts once)")
        .register(registry);
  }

  // ---- queries --------------------------------------------------------------------------------

  // The mute (issue 21) is a row of inbox_mute, joined by its primary key: one probe per item.
  private static final String PAGE_COLUMNS =
      "SELECT e.conversation_id, e.last_activity, e.read_seq, e.unread,"
          + " c.title, c.last_seq, c.last_activity, c.preview_seq, c.preview_sender, c.preview_text,"
          + " CASE WHEN m.user_id IS NULL THEN 0 ELSE 1 END"
          + " FROM inbox_entry e JOIN inbox_conversation c ON c.conversation_id = e.conversation_id"
          + " LEFT JOIN inbox_mute m ON m.user_id = e.user_id AND m.conversation_id = e.conversation_id"
          + " WHERE e.user_id = ?";
  // user_id leads the ORDER BY although it is fixed: H2 reads an index in order only when the
  // ORDER BY names its columns in the index's order and directions (inbox_entry_by_activity is
  // (user_id, last_activity DESC, conversation_id DESC) on H2, V2_1); without it H2 read all of the
  // user's rows and sorted them. PostgreSQL drops the constant column and scans its ascending
  // index backwards. InboxQueryPlanIT checks both plans.
  private static final String PAGE_ORDER = " ORDER BY e.user_id, e.last_activity DESC, e.conversation_id DESC LIMIT ?";
  private static final String FIRST_PAGE = PAGE_COLUMNS + PAGE_ORDER;
  private static final String NEXT_PAGE =
      PAGE_COLUMNS + " AND (e.last_activity, e.conversation_id) < (?, ?)" + PAGE_ORDER;

  /** The page query as executed (for EXPLAIN in tests and in operations.md). */
  public static String pageQuery(boolean first) {
    return first ? FIRST_PAGE : NEXT_PAGE;
  }

  public Page page(String user, int limit, Optional<Cursor> after) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement s = c.prepareStatement(after.isEmpty() ? FIRST_PAGE : NEXT_PAGE)) {
      int i = 1;
      s.setString(i++, user);
      if (after.isPresent()) {
        s.setLong(i++, after.get().lastActivity());
        s.setString(i++, after.get().conversation());
      }
      // One more than asked tells whether there is a next page without a count.
      s.setInt(i, limit + 1);
      List<Item> items = new ArrayList<>(limit);
      boolean more = false;
      try (ResultSet r = statements.query(s)) {
        while (r.next()) {
          if (items.size() == limit) {
            more = true;
            break;
          }
          items.add(item(r));
        }
      }
      Optional<Cursor> next = more ? Optional.of(items.get(items.size() - 1).cursor()) : Optional.empty();
      return new Page(items, next);
    } catch (SQLException e) {
      throw new IllegalStateException("inbox page query failed", e);
    }
  }

  private static Item item(ResultSet r) throws SQLException {
    Summary summary =
        new Summary(
            r.getString(1), r.getString(5), r.getLong(6), r.getLong(7), preview(r.getLong(8), r.wasNull(), r.getString(9), r.getString(10)));
    return new Item(summary, r.getLong(2), r.getLong(3), r.getInt(4), r.getInt(11) == 1);
  }

  private static Preview preview(long seq, boolean none, String sender, String text) {
    return none ? null : new Preview(seq, sender, text);
  }

  /**
   * Moves the read position and recounts unread messages after it (an index range count). Empty
   * when the read model has no entry yet (the projection has not seen the user join): the marker
   * is not kept, and the user's next own message moves it anyway.
   */
  public Optional<Item> markRead(String user, String conversation, long seq) {
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      try {
        // Lock the row first: the projection's unread + 1 of a concurrent message then either
        // happened before the count below or happens after this commit, never in between.
        try (PreparedStatement s =
            c.prepareStatement("SELECT read_seq FROM inbox_entry WHERE user_id = ? AND conversation_id = ? FOR UPDATE")) {
          s.setString(1, user);
          s.setString(2, conversation);
          try (ResultSet r = statements.query(s)) {
            if (!r.next()) {
              c.rollback();
              return Optional.empty();
            }
          }
        }
        int unread;
        try (PreparedStatement s =
            c.prepareStatement(
                "SELECT COUNT(*) FROM inbox_message WHERE conversation_id = ? AND seq > ? AND sender <> ?")) {
          s.setString(1, conversation);
          s.setLong(2, seq);
          s.setString(3, user);
          try (ResultSet r = statements.query(s)) {
            r.next();
            unread = r.getInt(1);
          }
        }
        try (PreparedStatement s =
            c.prepareStatement("UPDATE inbox_entry SET read_seq = ?, unread = ? WHERE user_id = ? AND conversation_id = ?")) {
          s.setLong(1, seq);
          s.setInt(2, unread);
          s.setString(3, user);
          s.setString(4, conversation);
          statements.update(s);
        }
        Optional<Item> item = item(c, user, conversation);
        c.commit();
        return item;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      }
    } catch (SQLException e) {
      throw new IllegalStateException("inbox read marker update failed", e);
    }
  }

  /**
   * Mutes or unmutes {@code conversation} for {@code user} (offline notifications, issue 21): a row
   * in {@code inbox_mute}, independent of the inbox entry so that it holds even before the
   * projection has seen the user join. Idempotent; the caller checks membership. Returns the
   * user's inbox item as it now is (empty while the projection has not made it).
   */
  public Optional<Item> setMuted(String user, String conversation, boolean muted) {
    try (Connection c = dataSource.getConnection()) {
      try {
        if (!muted) {
          statements.update(c, "DELETE FROM inbox_mute WHERE user_id = ? AND conversation_id = ?", user, conversation);
        } else {
          // Portable upsert: a concurrent mute of the same row makes the insert fail, which is fine.
          statements.update(
              c,
              "INSERT INTO inbox_mute (user_id, conversation_id, muted_at) SELECT ?, ?, ? WHERE NOT EXISTS"
                  + " (SELECT 1 FROM inbox_mute WHERE user_id = ? AND conversation_id = ?)",
              user, conversation, clock.millis(), user, conversation);
        }
      } catch (SQLException e) {
        if (!(muted && isDuplicateKey(e))) throw e;
      }
      return item(c, user, conversation);
    } catch (SQLException e) {
      throw new IllegalStateException("inbox mute update failed", e);
    }
  }

  /** One item of {@code user}'s inbox, by its primary key. */
  private Optional<Item> item(Connection c, String user, String conversation) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(PAGE_COLUMNS + " AND e.conversation_id = ?")) {
      s.setString(1, user);
      s.setString(2, conversation);
      try (ResultSet r = statements.query(s)) {
        return r.next() ? Optional.of(item(r)) : Optional.empty();
      }
    }
  }

  /** Whether {@code user} muted {@code conversation}. */
  public boolean isMuted(String user, String conversation) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement s = c.prepareStatement("SELECT 1 FROM inbox_mute WHERE user_id = ? AND conversation_id = ?")) {
      s.setString(1, user);
      s.setString(2, conversation);
      try (ResultSet r = statements.query(s)) {
        return r.next();
      }
    } catch (SQLException e) {
      throw new IllegalStateException("inbox mute query failed", e);
    }
  }

  /** SQLState class 23 (integrity constraint violation), the same on PostgreSQL and H2. */
  private static boolean isDuplicateKey(SQLException e) {
    return e.getSQLState() != null && e.getSQLState().startsWith("23");
  }

  /** Where the projection of {@code tag} resumes: the journal ordering it has applied up to (0: none). */
  public long offset(String tag) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement s = c.prepareStatement("SELECT journal_ordering FROM inbox_offset WHERE tag = ?")) {
      s.setString(1, tag);
      try (ResultSet r = statements.query(s)) {
        return r.next() ? r.getLong(1) : 0L;
      }
    } catch (SQLException e) {
      throw new IllegalStateException("inbox offset query failed", e);
    }
  }

  // ---- projection -----------------------------------------------------------------------------

  /**
   * Applies a batch of one tag's events and moves the tag's offset past them, in one transaction:
   * the batch counts exactly once, whatever crashes. Each event is also guarded by the
   * conversation's last applied seq, so a batch that is applied twice anyway (two projection
   * instances for a moment during a cluster partition) changes nothing the second time. Returns
   * what changed, to publish after the commit.
   */
  public List<Change> apply(String tag, List<EventEnvelope> batch) {
    if (batch.isEmpty()) return List.of();
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      try {
        Map<String, List<String>> changed = events.applyAll(c, batch);
        EventEnvelope last = batch.get(batch.size() - 1);
        saveOffset(c, tag, ((Sequence) last.offset()).value(), last.timestamp());
        List<Change> changes = readChanges(c, changed);
        c.commit();
        return changes;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      }
    } catch (SQLException e) {
      throw new IllegalStateException("inbox projection batch failed", e);
    }
  }

  /** The conversation id of a conversation entity's persistence id ({@code Conversation|<id>}). */
  public static String conversationIdOf(String persistenceId) {
    String prefix = Conversation.ENTITY_TYPE_KEY.name() + "|";
    return persistenceId.startsWith(prefix) ? persistenceId.substring(prefix.length()) : persistenceId;
  }

  private void saveOffset(Connection c, String tag, long ordering, long eventTimestamp) throws SQLException {
    long now = clock.millis();
    int updated =
        statements.update(
            c,
            "UPDATE inbox_offset SET journal_ordering = ?, event_timestamp = ?, updated_at = ? WHERE tag = ?",
            ordering, eventTimestamp, now, tag);
    if (updated == 0) {
      statements.update(
          c,
          "INSERT INTO inbox_offset (tag, journal_ordering, event_timestamp, updated_at) VALUES (?, ?, ?, ?)",
          tag, ordering, eventTimestamp, now);
    }
  }

  /** Conversations read by one statement at most (the batch's changed ones come in chunks of this). */
  private static final int CHANGES_PER_QUERY = 100;

  /**
   * Every changed conversation as it now is and every member's position in it, in the order of
   * {@code changed}: one statement per {@value #CHANGES_PER_QUERY} conversations (it was one per
   * conversation, a round trip each). {@code changed} maps a conversation to the users who left it
   * in this batch.
   */
  private List<Change> readChanges(Connection c, Map<String, List<String>> changed) throws SQLException {
    List<String> conversations = new ArrayList<>(changed.keySet());
    Map<String, Summary> summaries = new HashMap<>();
    Map<String, List<Position>> members = new HashMap<>();
    for (int from = 0; from < conversations.size(); from += CHANGES_PER_QUERY) {
      List<String> chunk = conversations.subList(from, Math.min(conversations.size(), from + CHANGES_PER_QUERY));
      try (PreparedStatement s =
          c.prepareStatement(
              "SELECT c.conversation_id, c.title, c.last_seq, c.last_activity, c.preview_seq, c.preview_sender, c.preview_text,"
                  + " e.user_id, e.last_activity, e.read_seq, e.unread, CASE WHEN m.user_id IS NULL THEN 0 ELSE 1 END"
                  + " FROM inbox_conversation c LEFT JOIN inbox_entry e ON e.conversation_id = c.conversation_id"
                  + " LEFT JOIN inbox_mute m ON m.user_id = e.user_id AND m.conversation_id = e.conversation_id"
                  + " WHERE c.conversation_id IN (" + String.join(", ", Collections.nCopies(chunk.size(), "?")) + ")")) {
        for (int i = 0; i < chunk.size(); i++) s.setString(i + 1, chunk.get(i));
        try (ResultSet r = statements.query(s)) {
          while (r.next()) {
            String conversation = r.getString(1);
            if (!summaries.containsKey(conversation)) {
              summaries.put(
                  conversation,
                  new Summary(
                      conversation, r.getString(2), r.getLong(3), r.getLong(4), preview(r.getLong(5), r.wasNull(), r.getString(6), r.getString(7))));
            }
            List<Position> positions = members.computeIfAbsent(conversation, k -> new ArrayList<>());
            String user = r.getString(8);
            if (user != null) positions.add(new Position(user, r.getLong(9), r.getLong(10), r.getInt(11), r.getInt(12) == 1));
          }
        }
      }
    }
    List<Change> changes = new ArrayList<>(summaries.size());
    for (Map.Entry<String, List<String>> e : changed.entrySet()) {
      Summary summary = summaries.get(e.getKey());
      if (summary == null) continue;
      List<Position> positions = members.getOrDefault(e.getKey(), List.of());
      // A user who left and was invited back within this batch is a member again: announcing the
      // removal too would make their clients drop the item after showing it (removals are
      // delivered after the members' items).
      List<String> gone = e.getValue().stream().filter(u -> positions.stream().noneMatch(m -> m.user().equals(u))).toList();
      changes.add(new Change(summary, positions, gone));
    }
    return changes;
  }

  /** The first {@value #PREVIEW_LENGTH} code points of {@code text}: what an inbox item (and a notification) shows. */
  public static String previewOf(String text) {
    if (text.codePointCount(0, text.length()) <= PREVIEW_LENGTH) return text;
    return text.substring(0, text.offsetByCodePoints(0, PREVIEW_LENGTH));
  }
}
