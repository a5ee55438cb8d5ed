package dev.parley.inbox;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.conversation.Conversation;
import dev.parley.conversation.TimelineEvent;
import dev.parley.testing.MigratedDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The projection's SQL against an independent model of the inbox rules, on H2 and PostgreSQL:
 * random timelines of several conversations (messages by random members, joins, leaves, edits,
 * deletions) applied one event per transaction, and in large batches where runs of messages are
 * folded into one update of the members' rows. Both must end with exactly the read positions and
 * unread counts the model computes, and a batch applied a second time must change nothing.
 */
class InboxProjectionBatchTest {

  static Stream<Arguments> vendors() {
    return Stream.of(Arguments.of("h2"), Arguments.of("postgresql"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("vendors")
  void batchedAndOneByOneAgreeWithTheModel(String vendor) throws Exception {
    for (long seed = 1; seed <= 3; seed++) {
      Scenario scenario = Scenario.random(new Random(seed), 3, 60);
      try (MigratedDatabase oneByOne = MigratedDatabase.create(vendor, "parley_inbox_");
          MigratedDatabase batched = MigratedDatabase.create(vendor, "parley_inbox_");
          InboxStore single = store(oneByOne);
          InboxStore batch = store(batched)) {
        for (EventEnvelope e : scenario.envelopes) single.apply("t", List.of(e));
        batch.apply("t", scenario.envelopes.subList(0, 50));
        batch.apply("t", scenario.envelopes.subList(50, scenario.envelopes.size()));

        assertThat(entries(oneByOne)).as("one event per transaction, seed %d", seed).isEqualTo(scenario.expected);
        assertThat(entries(batched)).as("batched, seed %d", seed).isEqualTo(scenario.expected);

        // Applied again (two consumers for a moment): the conversation's last seq guards every event.
        batch.apply("t", scenario.envelopes);
        assertThat(entries(batched)).as("re-applied, seed %d", seed).isEqualTo(scenario.expected);
        assertThat(batch.offset("t")).isEqualTo(scenario.envelopes.size());
      }
    }
  }

  /**
   * A read marker can be ahead of the projection (the conversation clamps it to its own last seq,
   * the read model may not have those messages yet). A batch then bringing the reader's own
   * message followed by others' must leave the reader with nothing unread, as one event at a time
   * does; a member who sent nothing counts only the messages past their marker.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("vendors")
  void aReadMarkerAheadOfTheProjectionSurvivesABatchWithTheReadersOwnMessage(String vendor) throws Exception {
    List<TimelineEvent> timeline =
        List.of(
            new TimelineEvent.Created(1, 1001, "ann", "t", List.of("ann", "ben", "cat")),
            new TimelineEvent.MessagePosted(2, 1002, "ann", "m2", "mine"),
            new TimelineEvent.MessagePosted(3, 1003, "ben", "m3", "his"),
            new TimelineEvent.MessagePosted(4, 1004, "ben", "m4", "his"),
            new TimelineEvent.MessagePosted(5, 1005, "ben", "m5", "his"),
            new TimelineEvent.MessagePosted(6, 1006, "ben", "m6", "his"));
    List<EventEnvelope> envelopes = new ArrayList<>();
    for (TimelineEvent event : timeline) {
      envelopes.add(
          EventEnvelope.apply(Offset.sequence(event.seq()), Conversation.persistenceId("c").id(), event.seq(), event, event.ts()));
    }
    try (MigratedDatabase oneByOne = MigratedDatabase.create(vendor, "parley_inbox_");
        MigratedDatabase batched = MigratedDatabase.create(vendor, "parley_inbox_");
        InboxStore single = store(oneByOne);
        InboxStore batch = store(batched)) {
      for (InboxStore store : List.of(single, batch)) {
        store.apply("t", envelopes.subList(0, 1));
        assertThat(store.markRead("ann", "c", 6)).isPresent();
        assertThat(store.markRead("cat", "c", 4)).isPresent();
      }
      for (EventEnvelope e : envelopes.subList(1, envelopes.size())) single.apply("t", List.of(e));
      batch.apply("t", envelopes.subList(1, envelopes.size()));

      Map<String, String> expected =
          Map.of(
              "ann@c", new Model.Row(6, 0).toString(),
              "ben@c", new Model.Row(6, 0).toString(),
              "cat@c", new Model.Row(4, 2).toString());
      assertThat(entries(oneByOne)).as("one event per transaction").isEqualTo(expected);
      assertThat(entries(batched)).as("batched").isEqualTo(expected);
    }
  }

  /**
   * A batch's messages are written with a few statements, not a statement per message nor per
   * conversation (issue 18): 60 messages of 12 conversations cost the same handful of statements
   * as messages of one conversation would, the changes handed to the publisher say what each
   * conversation now shows, and a second batch that overlaps the first (two consumers for a
   * moment) applies only what is new.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("vendors")
  void aBatchOfMessagesCostsAFewStatementsWhateverItsLengthAndConversations(String vendor) throws Exception {
    int conversations = 12;
    int messagesEach = 8;
    Map<String, Model> models = new LinkedHashMap<>();
    List<EventEnvelope> created = new ArrayList<>();
    List<EventEnvelope> messages = new ArrayList<>();
    long ordering = 0;
    for (int i = 0; i < conversations; i++) {
      String id = "conv-" + i;
      Model model = new Model();
      TimelineEvent.Created c = new TimelineEvent.Created(1, 1000, "ann", "t" + i, List.of("ann", "ben", "cat"));
      model.apply(c);
      models.put(id, model);
      created.add(EventEnvelope.apply(Offset.sequence(++ordering), Conversation.persistenceId(id).id(), 1, c, c.ts()));
    }
    // Interleaved: message k of every conversation, then message k + 1 of every conversation...
    for (long seq = 2; seq < 2 + messagesEach; seq++) {
      for (int i = 0; i < conversations; i++) {
        String id = "conv-" + i;
        String sender = List.of("ann", "ben", "cat").get((int) ((seq + i) % 3));
        TimelineEvent.MessagePosted m = new TimelineEvent.MessagePosted(seq, 1000 + seq, sender, "m" + seq, "text " + seq + " of " + id);
        models.get(id).apply(m);
        messages.add(EventEnvelope.apply(Offset.sequence(++ordering), Conversation.persistenceId(id).id(), seq, m, m.ts()));
      }
    }
    Map<String, String> expected = new TreeMap<>();
    models.forEach((id, model) -> model.rows.forEach((user, row) -> expected.put(user + "@" + id, row.toString())));
    long lastSeq = 1 + messagesEach;

    try (MigratedDatabase db = MigratedDatabase.create(vendor, "parley_inbox_");
        InboxStore store = store(db)) {
      store.apply("t", created);
      long before = store.statementsExecuted();
      long executionsBefore = store.executionsOnTheServer();
      List<Inbox.Change> changes = store.apply("t", messages.subList(0, 60));
      long statements = store.statementsExecuted() - before;
      // 60 messages: the messages (one statement on PostgreSQL, two JDBC batches on H2), the
      // members' rows of all 12 conversations (one), the read of the changed conversations, the
      // offset. A statement per message cost > 120; the members' rows a statement per conversation
      // (12 more) until 2026-12-06.
      assertThat(statements).as("statements for 60 messages of %d conversations", conversations).isLessThanOrEqualTo(5);
      if (vendor.equals("postgresql")) {
        // What the server executes: the same, the messages as arrays; a JDBC batch executed two
        // statements per message on the server (> 120).
        long executions = store.executionsOnTheServer() - executionsBefore;
        assertThat(executions).as("statements the server executed for 60 messages").isLessThanOrEqualTo(4);
      }
      assertThat(changes)
          .extracting(c -> c.summary().conversation())
          .containsExactlyElementsOf(models.keySet().stream().toList());

      // Overlapping the first batch by 20 messages: those change nothing a second time.
      changes = store.apply("t", messages.subList(40, messages.size()));
      assertThat(entries(db)).isEqualTo(expected);
      assertThat(changes).hasSize(conversations);
      for (Inbox.Change change : changes) {
        String id = change.summary().conversation();
        assertThat(change.summary().lastSeq()).as("last seq of %s", id).isEqualTo(lastSeq);
        assertThat(change.summary().preview().seq()).isEqualTo(lastSeq);
        assertThat(change.summary().preview().text()).isEqualTo("text " + lastSeq + " of " + id);
        assertThat(change.members()).extracting(Inbox.Position::user).containsExactlyInAnyOrder("ann", "ben", "cat");
        assertThat(change.removed()).isEmpty();
      }
      assertThat(store.offset("t")).isEqualTo(ordering);
    }
  }

  /**
   * On PostgreSQL the members' rows of a batch's conversations are found through the conversation
   * index even on a table that has never been analyzed (a database right after a migration or a
   * bulk load; one whose autovacuum is off): 40,000 rows, 25 conversations in the batch, no
   * sequential scan of {@code inbox_entry}, with custom and generic plans. One {@code UPDATE ...
   * FROM} over the batch's arrays (tried on 2026-12-06) was planned there as a hash join over a
   * sequential scan of the whole table, its cost growing with the table.
   */
  @Test
  void onPostgresABatchFindsItsMembersRowsThroughTheConversationIndexWithoutStatistics() throws Exception {
    int conversations = 20_000;
    int inBatch = 25;
    try (MigratedDatabase db = MigratedDatabase.create("postgresql", "parley_inbox_");
        Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        Statement s = c.createStatement()) {
      s.execute("ALTER TABLE inbox_entry SET (autovacuum_enabled = false)");
      s.execute(
          "INSERT INTO inbox_entry (user_id, conversation_id, last_activity, read_seq, unread)"
              + " SELECT u || i, 'c-' || i, 1000, 1, 0 FROM generate_series(1, " + conversations + ") AS i, (VALUES ('ann-'), ('ben-')) AS m(u)");
      try (ResultSet r = s.executeQuery("SELECT reltuples FROM pg_class WHERE relname = 'inbox_entry'")) {
        assertThat(r.next()).isTrue();
        assertThat(r.getDouble(1)).as("inbox_entry has no statistics").isLessThan(0);
      }
      // Two messages in each of 25 conversations, one by each member, interleaved.
      List<String> conversation = new ArrayList<>();
      List<Long> seq = new ArrayList<>();
      List<String> sender = new ArrayList<>();
      for (int k = 0; k < 2; k++) {
        for (int i = 0; i < inBatch; i++) {
          conversation.add("c-" + (1 + i * 797));
          seq.add(2L + k);
          sender.add((k == 0 ? "ann-" : "ben-") + (1 + i * 797));
        }
      }
      c.setAutoCommit(false);
      for (String mode : List.of("force_custom_plan", "force_generic_plan")) {
        s.execute("SET plan_cache_mode = " + mode);
        try (PreparedStatement call = c.prepareStatement("SELECT parley_inbox_runs(?::varchar[], ?::int8[], ?::int8[], ?::varchar[])")) {
          call.setArray(1, c.createArrayOf("varchar", conversation.toArray()));
          call.setArray(2, c.createArrayOf("bigint", seq.toArray()));
          call.setArray(3, c.createArrayOf("bigint", seq.stream().map(q -> 1000 + q).toArray()));
          call.setArray(4, c.createArrayOf("varchar", sender.toArray()));
          try (ResultSet r = call.executeQuery()) {
            assertThat(r.next()).isTrue();
            assertThat(r.getInt(1)).as("rows written").isEqualTo(2 * inBatch);
          }
        }
        // This transaction's own scans of the table, the function's statements included.
        try (ResultSet r = s.executeQuery("SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables WHERE relname = 'inbox_entry'")) {
          assertThat(r.next()).isTrue();
          assertThat(r.getLong(1)).as("sequential scans of inbox_entry (%s)", mode).isZero();
          assertThat(r.getLong(2)).as("index scans of inbox_entry (%s)", mode).isGreaterThanOrEqualTo(inBatch);
        }
        // c-1: ann sent seq 2, ben seq 3: ann has read her own and has ben's unread, ben has read all.
        try (ResultSet r =
            s.executeQuery("SELECT user_id, read_seq, unread, last_activity FROM inbox_entry WHERE conversation_id = 'c-1' ORDER BY user_id")) {
          List<String> rows = new ArrayList<>();
          while (r.next()) rows.add(r.getString(1) + " " + r.getLong(2) + " " + r.getInt(3) + " " + r.getLong(4));
          assertThat(rows).containsExactly("ann-1 2 1 1003", "ben-1 3 0 1003");
        }
        c.rollback();
      }
    }
  }

  /** Events of several conversations, interleaved, and what every member's row must say afterwards. */
  record Scenario(List<EventEnvelope> envelopes, Map<String, String> expected) {

    static Scenario random(Random random, int conversations, int eventsEach) {
      List<String> people = List.of("ann", "ben", "cat", "dan", "eve", "fay");
      Map<String, Model> models = new LinkedHashMap<>();
      Map<String, List<TimelineEvent>> timelines = new LinkedHashMap<>();
      for (int i = 0; i < conversations; i++) {
        String id = "conv-" + i;
        Model model = new Model();
        List<TimelineEvent> timeline = new ArrayList<>();
        List<String> members = List.of("ann", "ben", "cat");
        TimelineEvent.Created created = new TimelineEvent.Created(1, 1000, "ann", "t" + i, members);
        model.apply(created);
        timeline.add(created);
        for (long seq = 2; seq <= eventsEach; seq++) {
          TimelineEvent event = model.randomNext(random, seq, people);
          model.apply(event);
          timeline.add(event);
        }
        models.put(id, model);
        timelines.put(id, timeline);
      }
      // Interleave the conversations in runs of random length, each conversation in seq order.
      List<EventEnvelope> envelopes = new ArrayList<>();
      Map<String, Integer> next = new HashMap<>();
      long ordering = 0;
      while (envelopes.size() < conversations * eventsEach) {
        String id = "conv-" + random.nextInt(conversations);
        int from = next.getOrDefault(id, 0);
        int to = Math.min(eventsEach, from + 1 + random.nextInt(12));
        for (int k = from; k < to; k++) {
          TimelineEvent event = timelines.get(id).get(k);
          ordering++;
          envelopes.add(
              EventEnvelope.apply(
                  Offset.sequence(ordering), Conversation.persistenceId(id).id(), event.seq(), event, event.ts()));
        }
        next.put(id, to);
      }
      Map<String, String> expected = new TreeMap<>();
      models.forEach((id, model) -> model.rows.forEach((user, row) -> expected.put(user + "@" + id, row.toString())));
      return new Scenario(envelopes, expected);
    }
  }

  /** The inbox rules, written plainly: the oracle the SQL is checked against. */
  static final class Model {
    record Row(long readSeq, int unread) {}

    final Map<String, Row> rows = new TreeMap<>();
    final Map<Long, String> liveMessages = new TreeMap<>();

    TimelineEvent randomNext(Random random, long seq, List<String> people) {
      long ts = 1000 + seq;
      List<String> members = new ArrayList<>(rows.keySet());
      int dice = random.nextInt(20);
      if (dice == 0) {
        String outsider = people.stream().filter(p -> !rows.containsKey(p)).findFirst().orElse(null);
        if (outsider != null) return new TimelineEvent.MemberJoined(seq, ts, outsider, members.get(0));
      }
      if (dice == 1 && members.size() > 2) return new TimelineEvent.MemberLeft(seq, ts, members.get(members.size() - 1));
      if (dice == 2 && !liveMessages.isEmpty()) {
        List<Long> targets = new ArrayList<>(liveMessages.keySet());
        long target = targets.get(random.nextInt(targets.size()));
        return new TimelineEvent.MessageDeleted(seq, ts, liveMessages.get(target), target);
      }
      if (dice == 3 && !liveMessages.isEmpty()) {
        long target = liveMessages.keySet().iterator().next();
        return new TimelineEvent.MessageEdited(seq, ts, liveMessages.get(target), target, "edited " + seq);
      }
      String sender = members.get(random.nextInt(members.size()));
      return new TimelineEvent.MessagePosted(seq, ts, sender, "m" + seq, "text " + seq);
    }

    void apply(TimelineEvent event) {
      if (event instanceof TimelineEvent.Created c) {
        c.members().forEach(m -> rows.put(m, new Row(m.equals(c.createdBy()) ? c.seq() : 0, 0)));
      } else if (event instanceof TimelineEvent.MessagePosted m) {
        liveMessages.put(m.seq(), m.sender());
        rows.replaceAll(
            (user, row) -> {
              if (user.equals(m.sender())) return new Row(Math.max(row.readSeq(), m.seq()), 0);
              return row.readSeq() < m.seq() ? new Row(row.readSeq(), row.unread() + 1) : row;
            });
      } else if (event instanceof TimelineEvent.MemberJoined j) {
        rows.put(j.user(), new Row(j.seq(), 0));
      } else if (event instanceof TimelineEvent.MemberLeft l) {
        rows.remove(l.user());
      } else if (event instanceof TimelineEvent.MessageDeleted d) {
        String sender = liveMessages.remove(d.target());
        rows.replaceAll(
            (user, row) ->
                row.readSeq() < d.target() && row.unread() > 0 && !user.equals(sender)
                    ? new Row(row.readSeq(), row.unread() - 1)
                    : row);
      }
    }
  }

  private static InboxStore store(MigratedDatabase db) {
    return InboxStore.open(db.storage(), 2, Duration.ofSeconds(5));
  }

  /** user@conversation → Row(readSeq=…, unread=…), as the model prints it. */
  private static Map<String, String> entries(MigratedDatabase db) throws Exception {
    Map<String, String> rows = new TreeMap<>();
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT user_id, conversation_id, read_seq, unread FROM inbox_entry")) {
      while (r.next()) {
        rows.put(r.getString(1) + "@" + r.getString(2), new Model.Row(r.getLong(3), r.getInt(4)).toString());
      }
    }
    return rows;
  }
}
