package dev.parley.inbox;

import dev.parley.conversation.TimelineEvent;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.persistence.query.EventEnvelope;

/**
 * What a conversation's journal events do to the inbox tables, inside the transaction of the
 * projection's batch ({@link InboxStore#apply}, which commits it with the offset). Each event is
 * guarded by its conversation's last applied seq, so a batch applied twice (two projection
 * instances for a moment during a cluster partition) changes nothing the second time. A batch's
 * messages cost one statement on PostgreSQL (two JDBC batches elsewhere), and the members' rows of
 * all its conversations one statement more, whatever the number of conversations and their sizes.
 */
final class InboxEventWriter {

  private final CountedStatements statements;
  private final boolean postgres;

  /** @param postgres whether {@link #writeMessages} may use PostgreSQL's one-statement form */
  InboxEventWriter(CountedStatements statements, boolean postgres) {
    this.statements = statements;
    this.postgres = postgres;
  }

  /**
   * Applies {@code batch} on {@code c} (the caller commits) and returns the conversations it
   * changed, each with the users who left it in this batch.
   */
  Map<String, List<String>> applyAll(Connection c, List<EventEnvelope> batch) throws SQLException {
    Map<String, List<String>> changed = new LinkedHashMap<>();
    Runs runs = new Runs();
    List<PendingMessage> messages = new ArrayList<>();
    for (EventEnvelope envelope : batch) {
      String conversation = InboxStore.conversationIdOf(envelope.persistenceId());
      if (!(envelope.event() instanceof TimelineEvent event)) continue;
      if (event instanceof TimelineEvent.MessagePosted posted) {
        messages.add(new PendingMessage(conversation, posted));
        if (messages.size() >= MAX_MESSAGES_PER_STATEMENT) writeMessages(c, messages, changed, runs);
        continue;
      }
      // Anything else is applied after the messages before it, and after its conversation's
      // run has reached the members' rows, so the order of events is what the rows reflect.
      writeMessages(c, messages, changed, runs);
      if (runs.has(conversation)) flushRuns(c, runs);
      if (applyEvent(c, conversation, event, changed)) {
        changed.computeIfAbsent(conversation, k -> new ArrayList<>());
      }
    }
    writeMessages(c, messages, changed, runs);
    flushRuns(c, runs);
    return changed;
  }

  /** A message of the batch not written yet, with its conversation. */
  private record PendingMessage(String conversation, TimelineEvent.MessagePosted posted) {}

  private static final String MESSAGE_TO_CONVERSATION =
      "UPDATE inbox_conversation SET last_seq = ?, last_activity = ?, preview_seq = ?, preview_sender = ?,"
          + " preview_text = ? WHERE conversation_id = ? AND last_seq < ?";

  /**
   * Writes {@code messages} (then empties the list) in one statement on PostgreSQL ({@link
   * #appliedInOneStatement}), elsewhere with two JDBC batches, one round trip each whatever the
   * number of messages and conversations: the conversations' last seq and preview,
   * each guarded by the conversation's last applied seq (a message applied already changes
   * nothing), then the applied messages' senders. The applied ones join their conversation's run,
   * which reaches the members' rows with {@link #flushRuns}. Before (issue 18, 2026-12-04), each
   * message cost two statements of its own and each changed conversation a read, every statement a
   * round trip to the database and a wake-up of the inbox's JDBC thread.
   * The statements of one batch run in order, so two messages of one conversation in a batch are
   * guarded one after the other as when they were separate statements.
   */
  private void writeMessages(Connection c, List<PendingMessage> messages, Map<String, List<String>> changed, Runs runs)
      throws SQLException {
    if (messages.isEmpty()) return;
    List<PendingMessage> applied = postgres ? appliedInOneStatement(c, messages) : appliedInTwoBatches(c, messages);
    messages.clear();
    for (PendingMessage m : applied) {
      changed.computeIfAbsent(m.conversation(), k -> new ArrayList<>());
      runs.add(m);
      if (runs.size() >= MAX_MESSAGES_PER_STATEMENT) flushRuns(c, runs);
    }
  }

  /**
   * PostgreSQL: the messages as arrays, one statement for all of them (issue 18, 2026-12-05): the
   * JDBC batches of {@link #appliedInTwoBatches} are one round trip but two statements per message
   * on the server, each bound, planned and executed on its own (~0.06 ms per message, more than
   * the rows' writes). Same rules: a message is applied when its seq is above its conversation's
   * last applied seq; the conversation takes the newest applied message's seq, time and preview;
   * the applied messages' senders are recorded. The conversations' rows are locked before they are
   * read ({@code FOR UPDATE}), so a second consumer applying the same batch at the same moment waits
   * and then sees the first one's seq, as the guarded updates did. Returns the applied messages in
   * batch order.
   */
  private List<PendingMessage> appliedInOneStatement(Connection c, List<PendingMessage> messages) throws SQLException {
    int n = messages.size();
    String[] conversation = new String[n], sender = new String[n], preview = new String[n];
    Long[] seq = new Long[n], ts = new Long[n];
    for (int i = 0; i < n; i++) {
      PendingMessage m = messages.get(i);
      conversation[i] = m.conversation();
      seq[i] = m.posted().seq();
      ts[i] = m.posted().ts();
      sender[i] = m.posted().sender();
      preview[i] = InboxStore.previewOf(m.posted().text());
    }
    List<PendingMessage> applied = new ArrayList<>(n);
    List<Array> arrays = new ArrayList<>(5);
    try (PreparedStatement s = c.prepareStatement(MESSAGES_IN_ONE_STATEMENT)) {
      Object[][] values = {conversation, seq, ts, sender, preview};
      String[] types = {"varchar", "int8", "int8", "varchar", "varchar"};
      for (int i = 0; i < values.length; i++) {
        Array array = c.createArrayOf(types[i], values[i]);
        arrays.add(array);
        s.setArray(i + 1, array);
      }
      try (ResultSet rs = statements.query(s)) {
        while (rs.next()) applied.add(messages.get(rs.getInt(1) - 1));
      }
    } finally {
      for (Array array : arrays) array.free();
    }
    return applied;
  }

  private static final String MESSAGES_IN_ONE_STATEMENT =
      "WITH input AS (SELECT * FROM unnest(?::varchar[], ?::int8[], ?::int8[], ?::varchar[], ?::varchar[]) WITH ORDINALITY"
          + " AS i(conversation_id, seq, ts, sender, preview, n)),"
          + " before AS (SELECT conversation_id, last_seq FROM inbox_conversation"
          + " WHERE conversation_id IN (SELECT conversation_id FROM input) FOR UPDATE),"
          + " applied AS (SELECT i.* FROM input i JOIN before b ON b.conversation_id = i.conversation_id WHERE i.seq > b.last_seq),"
          + " newest AS (SELECT DISTINCT ON (conversation_id) * FROM applied ORDER BY conversation_id, seq DESC),"
          + " moved AS (UPDATE inbox_conversation c SET last_seq = w.seq, last_activity = w.ts, preview_seq = w.seq,"
          + " preview_sender = w.sender, preview_text = w.preview FROM newest w"
          + " WHERE c.conversation_id = w.conversation_id AND c.last_seq < w.seq RETURNING c.conversation_id),"
          + " recorded AS (INSERT INTO inbox_message (conversation_id, seq, sender) SELECT conversation_id, seq, sender FROM applied)"
          + " SELECT n FROM applied ORDER BY n";

  /** Other databases (H2): two JDBC batches, one round trip each. */
  private List<PendingMessage> appliedInTwoBatches(Connection c, List<PendingMessage> messages) throws SQLException {
    int[] updated;
    try (PreparedStatement s = c.prepareStatement(MESSAGE_TO_CONVERSATION)) {
      for (PendingMessage m : messages) {
        TimelineEvent.MessagePosted posted = m.posted();
        s.setLong(1, posted.seq());
        s.setLong(2, posted.ts());
        s.setLong(3, posted.seq());
        s.setString(4, posted.sender());
        s.setString(5, InboxStore.previewOf(posted.text()));
        s.setString(6, m.conversation());
        s.setLong(7, posted.seq());
        s.addBatch();
      }
      updated = statements.batch(s);
    }
    List<PendingMessage> applied = new ArrayList<>(messages.size());
    for (int i = 0; i < messages.size(); i++) {
      // An UPDATE's count is exact on both databases (only rewritten INSERT batches report
      // SUCCESS_NO_INFO, and the inbox pool does not rewrite).
      if (updated[i] > 0) applied.add(messages.get(i));
    }
    if (applied.isEmpty()) return applied;
    try (PreparedStatement s = c.prepareStatement("INSERT INTO inbox_message (conversation_id, seq, sender) VALUES (?, ?, ?)")) {
      for (PendingMessage m : applied) {
        s.setString(1, m.conversation());
        s.setLong(2, m.posted().seq());
        s.setString(3, m.posted().sender());
        s.addBatch();
      }
      statements.batch(s);
    }
    return applied;
  }

  /**
   * A timeline event other than a message (messages go through {@link #writeMessages}); false
   * when it had been applied already (or its conversation is unknown here).
   */
  private boolean applyEvent(Connection c, String conversation, TimelineEvent event, Map<String, List<String>> changed)
      throws SQLException {
    if (event instanceof TimelineEvent.Created created) {
      int inserted =
          statements.update(
              c,
              "INSERT INTO inbox_conversation (conversation_id, title, last_seq, last_activity)"
                  + " SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM inbox_conversation WHERE conversation_id = ?)",
              conversation, created.title(), created.seq(), created.ts(), conversation);
      if (inserted == 0) return false;
      try (PreparedStatement s =
          c.prepareStatement(
              "INSERT INTO inbox_entry (user_id, conversation_id, last_activity, read_seq, unread) VALUES (?, ?, ?, ?, 0)")) {
        for (String member : created.members()) {
          s.setString(1, member);
          s.setString(2, conversation);
          s.setLong(3, created.ts());
          s.setLong(4, member.equals(created.createdBy()) ? created.seq() : 0);
          s.addBatch();
        }
        statements.batch(s);
      }
      return true;
    }
    if (event instanceof TimelineEvent.MemberJoined joined) {
      if (!advance(c, conversation, joined.seq())) return false;
      // The new member's inbox shows the conversation on top, with what was said before read.
      statements.update(
          c,
          "INSERT INTO inbox_entry (user_id, conversation_id, last_activity, read_seq, unread)"
              + " SELECT ?, ?, ?, ?, 0 WHERE NOT EXISTS"
              + " (SELECT 1 FROM inbox_entry WHERE user_id = ? AND conversation_id = ?)",
          joined.user(), conversation, joined.ts(), joined.seq(), joined.user(), conversation);
      return true;
    }
    if (event instanceof TimelineEvent.MemberLeft left) {
      if (!advance(c, conversation, left.seq())) return false;
      statements.update(c, "DELETE FROM inbox_entry WHERE user_id = ? AND conversation_id = ?", left.user(), conversation);
      changed.computeIfAbsent(conversation, k -> new ArrayList<>()).add(left.user());
      return true;
    }
    if (event instanceof TimelineEvent.HandedOff handedOff) {
      return advance(c, conversation, handedOff.seq());
    }
    if (event instanceof TimelineEvent.MessageEdited edited) {
      return statements.update(
              c,
              "UPDATE inbox_conversation SET last_seq = ?,"
                  + " preview_text = CASE WHEN preview_seq = ? THEN CAST(? AS VARCHAR(1000)) ELSE preview_text END"
                  + " WHERE conversation_id = ? AND last_seq < ?",
              edited.seq(), edited.target(), InboxStore.previewOf(edited.text()), conversation, edited.seq())
          > 0;
    }
    if (event instanceof TimelineEvent.MessageDeleted deleted) {
      int updated =
          statements.update(
              c,
              "UPDATE inbox_conversation SET last_seq = ?,"
                  + " preview_text = CASE WHEN preview_seq = ? THEN NULL ELSE preview_text END"
                  + " WHERE conversation_id = ? AND last_seq < ?",
              deleted.seq(), deleted.target(), conversation, deleted.seq());
      if (updated == 0) return false;
      // A deleted message no longer counts as unread for those who had not read it.
      statements.update(
          c,
          "UPDATE inbox_entry SET unread = unread - 1 WHERE conversation_id = ? AND read_seq < ? AND unread > 0"
              + " AND user_id <> (SELECT sender FROM inbox_message WHERE conversation_id = ? AND seq = ?)",
          conversation, deleted.target(), conversation, deleted.target());
      statements.update(c, "DELETE FROM inbox_message WHERE conversation_id = ? AND seq = ?", conversation, deleted.target());
      return true;
    }
    return false;
  }

  /**
   * Messages in one statement at most (arrays of this length; the projection's batch-size, 200
   * events by default, stays below it).
   */
  private static final int MAX_MESSAGES_PER_STATEMENT = 1000;

  /**
   * The applied messages whose members' rows are not written yet, by conversation: each
   * conversation's run in seq order (a conversation's events reach the projection in seq order).
   */
  private static final class Runs {
    private final List<PendingMessage> messages = new ArrayList<>();
    private final Set<String> conversations = new HashSet<>();

    void add(PendingMessage m) {
      messages.add(m);
      conversations.add(m.conversation());
    }

    boolean has(String conversation) {
      return conversations.contains(conversation);
    }

    int size() {
      return messages.size();
    }

    boolean isEmpty() {
      return messages.isEmpty();
    }

    void clear() {
      messages.clear();
      conversations.clear();
    }
  }

  /**
   * Updates every member's row of every conversation with a run in {@code runs} with one
   * statement (then empties {@code runs}): a member's row is written once per batch, however many
   * messages and conversations the batch holds. Before (issue 18, 2026-12-06), each conversation
   * of a batch cost a statement of its own: ~0.21 statements per send at 2,000 sends/s of 1:1
   * chat, each a round trip of the inbox's JDBC thread. The rules, per member and conversation: a
   * sender of the run has read up to their last message of it, and has unread the run's later
   * messages past their read position (a marker set ahead of the projection, read before the
   * projection got here, stays read); everyone else adds the run's messages past their read
   * position to their unread count. The new values are computed from the row as the update finds
   * it, so a read marker written concurrently ({@link InboxStore#markRead} locks the row) is
   * honoured as it was by the per-conversation statements.
   */
  private void flushRuns(Connection c, Runs runs) throws SQLException {
    if (runs.isEmpty()) return;
    int n = runs.size();
    String[] conversation = new String[n], sender = new String[n];
    Long[] seq = new Long[n], ts = new Long[n];
    for (int i = 0; i < n; i++) {
      PendingMessage m = runs.messages.get(i);
      conversation[i] = m.conversation();
      seq[i] = m.posted().seq();
      ts[i] = m.posted().ts();
      sender[i] = m.posted().sender();
    }
    runs.clear();
    List<Array> arrays = new ArrayList<>(4);
    try (PreparedStatement s = c.prepareStatement(postgres ? RUNS_ON_POSTGRESQL : RUNS_ON_H2)) {
      Object[][] values = {conversation, seq, ts, sender};
      String[] types = {"varchar", "bigint", "bigint", "varchar"};
      // H2's statement reads the messages three times (the runs, each sender's last message, the counts).
      int times = postgres ? 1 : 3;
      for (int t = 0; t < times; t++) {
        for (int i = 0; i < values.length; i++) {
          Array array = c.createArrayOf(types[i], values[i]);
          arrays.add(array);
          s.setArray(t * values.length + i + 1, array);
        }
      }
      if (postgres) {
        try (ResultSet rs = statements.query(s)) {
          rs.next();
        }
      } else {
        statements.update(s);
      }
    } finally {
      for (Array array : arrays) array.free();
    }
  }

  /**
   * PostgreSQL: a function (V21_18_1) that groups the messages by conversation and updates each
   * conversation's members' rows with a statement of its own, inside the database. Not one {@code
   * UPDATE ... FROM} over the arrays (tried on 2026-12-06, benchmarks.md): without statistics (a
   * database right after a migration or a bulk load, or one that is never analyzed) PostgreSQL
   * takes an equality on {@code conversation_id} to match 0.5 % of the table, and for more than
   * a conversation or two it joins the batch to the whole of {@code inbox_entry} with a hash join
   * over a sequential scan, a cost that grows with the table. Each of the function's updates is
   * the per-conversation statement it replaces, which takes {@code inbox_entry_by_conversation}
   * with or without statistics.
   */
  private static final String RUNS_ON_POSTGRESQL = "SELECT parley_inbox_runs(?::varchar[], ?::int8[], ?::int8[], ?::varchar[])";

  /**
   * H2 (no array_position, no UPDATE ... FROM, no table function over a column): the same rules
   * as a MERGE whose source is one row per member of a conversation with a run, carrying the
   * member's last own seq of the run (only the keys are read from the members' rows there; the
   * values come from the row being updated). The messages are bound three times.
   */
  private static final String RUNS_ON_H2;

  static {
    String messages =
        "UNNEST(CAST(? AS VARCHAR ARRAY), CAST(? AS BIGINT ARRAY), CAST(? AS BIGINT ARRAY), CAST(? AS VARCHAR ARRAY))"
            + " AS m(conversation_id, seq, ts, sender)";
    RUNS_ON_H2 =
        "MERGE INTO inbox_entry e USING ("
            + "SELECT x.user_id, x.conversation_id, r.ts, o.last_own FROM ("
            + "SELECT conversation_id, (ARRAY_AGG(ts ORDER BY seq DESC))[1] AS ts FROM " + messages + " GROUP BY conversation_id) r"
            + " JOIN inbox_entry x ON x.conversation_id = r.conversation_id"
            + " LEFT JOIN (SELECT conversation_id, sender, MAX(seq) AS last_own FROM " + messages + " GROUP BY conversation_id, sender) o"
            + " ON o.conversation_id = x.conversation_id AND o.sender = x.user_id"
            + ") t ON e.user_id = t.user_id AND e.conversation_id = t.conversation_id"
            + " WHEN MATCHED THEN UPDATE SET last_activity = t.ts,"
            + " unread = CASE WHEN t.last_own IS NULL THEN e.unread ELSE 0 END"
            + " + (SELECT COUNT(*) FROM " + messages
            + " WHERE m.conversation_id = e.conversation_id AND m.seq > GREATEST(e.read_seq, COALESCE(t.last_own, e.read_seq))),"
            + " read_seq = GREATEST(e.read_seq, COALESCE(t.last_own, e.read_seq))";
  }

  /** Moves the conversation's last seq; false when this event was applied already. */
  private boolean advance(Connection c, String conversation, long seq) throws SQLException {
    return statements.update(
            c,
            "UPDATE inbox_conversation SET last_seq = ? WHERE conversation_id = ? AND last_seq < ?",
            seq, conversation, seq)
        > 0;
  }
}
