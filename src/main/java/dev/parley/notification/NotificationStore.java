package dev.parley.notification;

import com.zaxxer.hikari.HikariDataSource;
import dev.parley.bot.Bot;
import dev.parley.conversation.TimelineEvent;
import dev.parley.inbox.InboxStore;
import dev.parley.storage.StatementParameters;
import dev.parley.storage.Storage;
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
import java.util.function.Predicate;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Sequence;

/**
 * The notification tables (db/migration/.../V21__notifications.sql) in SQL, the same statements on
 * PostgreSQL and H2, on a pool of the feature's own. Members come from the inbox read model
 * ({@code inbox_entry}), mutes from {@code inbox_mute}: the projection waits for the inbox
 * projection of the same tag ({@link #inboxOffset}), so a new conversation's first message finds
 * its members.
 */
final class NotificationStore implements AutoCloseable {

  /** What one projection batch did, for the metrics. */
  record Applied(int notified, int muted, int online, long oldestEventTimestamp) {}

  /** A row that is due: what to send, and what the read model says about the member now. */
  record Due(
      String user,
      String conversation,
      int messages,
      long lastSeq,
      String lastSender,
      String lastText,
      long lastTs,
      long firstAt,
      int attempts,
      boolean member,
      boolean muted,
      int unread,
      String title) {}

  private final HikariDataSource pool;

  private NotificationStore(HikariDataSource pool) {
    this.pool = pool;
  }

  static NotificationStore open(Storage storage, int poolSize, Duration connectionTimeout) {
    return new NotificationStore(storage.pool("parley-notifications", poolSize, connectionTimeout));
  }

  @Override
  public void close() {
    pool.close();
  }

  long offset(String tag) {
    return single("SELECT journal_ordering FROM notification_offset WHERE tag = ?", tag);
  }

  /** How far the inbox projection has applied {@code tag} (its members and unread counts are current up to there). */
  long inboxOffset(String tag) {
    return single("SELECT journal_ordering FROM inbox_offset WHERE tag = ?", tag);
  }

  private long single(String sql, String tag) {
    try (Connection c = pool.getConnection();
        PreparedStatement s = c.prepareStatement(sql)) {
      s.setString(1, tag);
      try (ResultSet r = s.executeQuery()) {
        return r.next() ? r.getLong(1) : 0L;
      }
    } catch (SQLException e) {
      throw new IllegalStateException("notification offset query failed", e);
    }
  }

  // ---- projection -----------------------------------------------------------------------------

  /**
   * Records the batch's messages for every member who is to hear of them, and moves the tag's
   * offset past the batch, in one transaction: a restart neither counts a message twice nor loses
   * one. A member hears of the messages of others only, and not when a bot, muted, or
   * {@code connected} (presence: an open connection on some node). A row re-applied anyway (two
   * projection instances for a moment during a partition) changes nothing: rows only take
   * messages above their last seq.
   */
  Applied apply(String tag, List<EventEnvelope> batch, Predicate<String> connected, long now, Duration window) {
    Map<String, List<TimelineEvent.MessagePosted>> messages = new LinkedHashMap<>();
    for (EventEnvelope envelope : batch) {
      if (envelope.event() instanceof TimelineEvent.MessagePosted posted) {
        messages.computeIfAbsent(InboxStore.conversationIdOf(envelope.persistenceId()), k -> new ArrayList<>()).add(posted);
      }
    }
    int notified = 0;
    int muted = 0;
    int online = 0;
    try (Connection c = pool.getConnection()) {
      c.setAutoCommit(false);
      try {
        for (Map.Entry<String, List<TimelineEvent.MessagePosted>> e : messages.entrySet()) {
          String conversation = e.getKey();
          for (Member member : members(c, conversation)) {
            if (Bot.isBot(member.user())) continue;
            List<TimelineEvent.MessagePosted> others =
                e.getValue().stream().filter(m -> !m.sender().equals(member.user())).toList();
            if (others.isEmpty()) continue;
            if (member.muted()) {
              muted += others.size();
            } else if (connected.test(member.user())) {
              online += others.size();
            } else if (pend(c, member.user(), conversation, tag, others, now, window)) {
              notified += others.size();
            }
          }
        }
        if (!batch.isEmpty()) {
          EventEnvelope last = batch.get(batch.size() - 1);
          saveOffset(c, tag, ((Sequence) last.offset()).value(), last.timestamp(), now);
        }
        c.commit();
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      }
    } catch (SQLException e) {
      throw new IllegalStateException("notification projection batch failed", e);
    }
    return new Applied(notified, muted, online, batch.isEmpty() ? now : batch.get(0).timestamp());
  }

  private record Member(String user, boolean muted) {}

  private static List<Member> members(Connection c, String conversation) throws SQLException {
    try (PreparedStatement s =
        c.prepareStatement(
            "SELECT e.user_id, CASE WHEN m.user_id IS NULL THEN 0 ELSE 1 END FROM inbox_entry e"
                + " LEFT JOIN inbox_mute m ON m.user_id = e.user_id AND m.conversation_id = e.conversation_id"
                + " WHERE e.conversation_id = ?")) {
      s.setString(1, conversation);
      List<Member> members = new ArrayList<>();
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) members.add(new Member(r.getString(1), r.getInt(2) == 1));
      }
      return members;
    }
  }

  /**
   * Adds {@code messages} to the member's row. A row with nothing waiting becomes due at once, or
   * at the end of the window of its last notification; a row already waiting keeps its due time
   * and takes the messages (coalesced). False when the messages were there already.
   */
  private static boolean pend(
      Connection c, String user, String conversation, String tag, List<TimelineEvent.MessagePosted> messages, long now, Duration window)
      throws SQLException {
    TimelineEvent.MessagePosted newest = messages.get(messages.size() - 1);
    String preview = InboxStore.previewOf(newest.text());
    long windowMillis = window.toMillis();
    int updated =
        update(
            c,
            "UPDATE notification_pending SET"
                + " due_at = CASE WHEN messages > 0 THEN due_at WHEN sent_at IS NULL OR sent_at + ? <= ? THEN ? ELSE sent_at + ? END,"
                + " first_at = CASE WHEN messages > 0 THEN first_at ELSE ? END,"
                + " attempts = CASE WHEN messages > 0 THEN attempts ELSE 0 END,"
                + " messages = messages + ?, last_seq = ?, last_sender = ?, last_text = ?, last_ts = ?"
                + " WHERE user_id = ? AND conversation_id = ? AND last_seq < ?",
            windowMillis, now, now, windowMillis, now, (long) messages.size(), newest.seq(), newest.sender(), preview, newest.ts(),
            user, conversation, newest.seq());
    if (updated > 0) return true;
    return update(
            c,
            "INSERT INTO notification_pending"
                + " (user_id, conversation_id, tag, messages, last_seq, last_sender, last_text, last_ts, first_at, due_at, attempts)"
                + " SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0 WHERE NOT EXISTS"
                + " (SELECT 1 FROM notification_pending WHERE user_id = ? AND conversation_id = ?)",
            user, conversation, tag, (long) messages.size(), newest.seq(), newest.sender(), preview, newest.ts(), now, now,
            user, conversation)
        > 0;
  }

  private static void saveOffset(Connection c, String tag, long ordering, long eventTimestamp, long now) throws SQLException {
    int updated =
        update(
            c,
            "UPDATE notification_offset SET journal_ordering = ?, event_timestamp = ?, updated_at = ? WHERE tag = ?",
            ordering, eventTimestamp, now, tag);
    if (updated == 0) {
      update(
          c,
          "INSERT INTO notification_offset (tag, journal_ordering, event_timestamp, updated_at) VALUES (?, ?, ?, ?)",
          tag, ordering, eventTimestamp, now);
    }
  }

  // ---- delivery -------------------------------------------------------------------------------

  /** Up to {@code limit} of {@code tag}'s rows due at {@code now}, oldest due first, with the member's inbox state. */
  List<Due> due(String tag, long now, int limit) {
    try (Connection c = pool.getConnection();
        PreparedStatement s =
            c.prepareStatement(
                "SELECT p.user_id, p.conversation_id, p.messages, p.last_seq, p.last_sender, p.last_text, p.last_ts, p.first_at,"
                    + " p.attempts, CASE WHEN e.user_id IS NULL THEN 0 ELSE 1 END, CASE WHEN m.user_id IS NULL THEN 0 ELSE 1 END,"
                    + " e.unread, ic.title"
                    + " FROM notification_pending p"
                    + " LEFT JOIN inbox_entry e ON e.user_id = p.user_id AND e.conversation_id = p.conversation_id"
                    + " LEFT JOIN inbox_mute m ON m.user_id = p.user_id AND m.conversation_id = p.conversation_id"
                    + " LEFT JOIN inbox_conversation ic ON ic.conversation_id = p.conversation_id"
                    + " WHERE p.tag = ? AND p.due_at <= ? ORDER BY p.due_at LIMIT ?")) {
      s.setString(1, tag);
      s.setLong(2, now);
      s.setInt(3, limit);
      List<Due> due = new ArrayList<>();
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          due.add(
              new Due(
                  r.getString(1), r.getString(2), r.getInt(3), r.getLong(4), r.getString(5), r.getString(6), r.getLong(7),
                  r.getLong(8), r.getInt(9), r.getInt(10) == 1, r.getInt(11) == 1, r.getInt(12), r.getString(13)));
        }
      }
      return due;
    } catch (SQLException e) {
      throw new IllegalStateException("notification due query failed", e);
    }
  }

  /**
   * The row's {@code due.messages()} are done with: sent at {@code sentAt}, or (null) discarded.
   * Messages that arrived meanwhile stay: due at the end of the new window after a send, at once
   * after a discard.
   */
  void settled(Due due, Long sentAt, long now, Duration window) {
    long nextDue = sentAt != null ? sentAt + window.toMillis() : now;
    execute(
        "UPDATE notification_pending SET"
            + " due_at = CASE WHEN messages > ? THEN ? ELSE NULL END,"
            + " first_at = CASE WHEN messages > ? THEN ? ELSE first_at END,"
            + " sent_at = " + (sentAt != null ? "?" : "sent_at") + ","
            + " attempts = 0, messages = messages - ?"
            + " WHERE user_id = ? AND conversation_id = ?",
        sentAt != null
            ? new Object[] {(long) due.messages(), nextDue, (long) due.messages(), now, sentAt, (long) due.messages(), due.user(), due.conversation()}
            : new Object[] {(long) due.messages(), nextDue, (long) due.messages(), now, (long) due.messages(), due.user(), due.conversation()});
  }

  /** An attempt failed: the next one at {@code retryAt}. */
  void failed(Due due, long retryAt) {
    execute(
        "UPDATE notification_pending SET attempts = attempts + 1, due_at = ? WHERE user_id = ? AND conversation_id = ? AND messages > 0",
        retryAt, due.user(), due.conversation());
  }

  /** When {@code tag}'s next row is due (empty: none waits). */
  Optional<Long> nextDue(String tag) {
    try (Connection c = pool.getConnection();
        PreparedStatement s = c.prepareStatement("SELECT MIN(due_at) FROM notification_pending WHERE tag = ? AND due_at IS NOT NULL")) {
      s.setString(1, tag);
      try (ResultSet r = s.executeQuery()) {
        if (!r.next()) return Optional.empty();
        long due = r.getLong(1);
        return r.wasNull() ? Optional.empty() : Optional.of(due);
      }
    } catch (SQLException e) {
      throw new IllegalStateException("notification due query failed", e);
    }
  }

  /** Rows with nothing waiting whose window is over: the next message is notified at once either way. */
  void forgetQuiet(String tag, long now, Duration window) {
    execute(
        "DELETE FROM notification_pending WHERE tag = ? AND messages = 0 AND (sent_at IS NULL OR sent_at < ?)",
        tag, now - window.toMillis());
  }

  private void execute(String sql, Object... parameters) {
    try (Connection c = pool.getConnection()) {
      update(c, sql, parameters);
    } catch (SQLException e) {
      throw new IllegalStateException("notification update failed", e);
    }
  }

  private static int update(Connection c, String sql, Object... parameters) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(sql)) {
      return StatementParameters.bind(s, parameters).executeUpdate();
    }
  }
}
