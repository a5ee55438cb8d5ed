package dev.parley.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.conversation.Conversation;
import dev.parley.conversation.ProjectionTags;
import dev.parley.conversation.Conversation.Command;
import dev.parley.conversation.Conversation.Create;
import dev.parley.conversation.Conversation.Reply;
import dev.parley.conversation.Conversation.Send;
import dev.parley.conversation.Conversation.Sent;
import dev.parley.testing.TestNode;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.persistence.jdbc.config.JournalConfig;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.query.Sequence;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Parley's journal write stage ({@link BatchingJournalDao}, {@link JournalWriter}, {@link
 * JournalInserts}; issue 18) on H2 and PostgreSQL: what it writes is Pekko Persistence JDBC's own
 * format (its read journal reads it by tag, in order, with its tags), a batch is all or nothing, and
 * writes of different conversations share batches.
 */
class BatchingJournalDaoIT {

  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.parley.testing.TestNode#storagesStoppingQuickly")
  void concurrentSendsOfManyConversationsShareBatchesAndThePluginsReadJournalReadsThemInOrder(
      String storage, TestNode.Factory factory) throws Exception {
    try (TestNode node = factory.start()) {
      ActorSystem<Void> system = node.node().system();
      JournalWrites writes = JournalWrites.get(system);
      long batchesBefore = writes.batches(), rowsBefore = writes.rows();
      List<String> conversations = IntStream.range(0, 10).mapToObj(i -> "dao-" + i + "-" + UUID.randomUUID()).toList();
      for (String id : conversations) {
        assertThat(ask(system, id, r -> new Create("alice", List.of("bob"), "t", r)).get(60, TimeUnit.SECONDS))
            .isEqualTo(new Conversation.Accepted(1));
      }
      List<CompletableFuture<Reply>> sends = new ArrayList<>();
      for (int m = 0; m < 30; m++) {
        for (String id : conversations) {
          String clientMsgId = "m" + m;
          sends.add(ask(system, id, r -> new Send("alice", clientMsgId, "text " + clientMsgId, r)));
        }
      }
      CompletableFuture.allOf(sends.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
      assertThat(sends).allSatisfy(s -> assertThat(s.join()).isInstanceOf(Sent.class));

      // Every event went through the write stage, and concurrent writes of different conversations shared batches.
      long rows = writes.rows() - rowsBefore, batches = writes.batches() - batchesBefore;
      assertThat(rows).isEqualTo(10 * 31);
      assertThat(batches).isPositive().isLessThan(rows);

      // The plugin's read journal finds every event by its conversation's tag, each conversation gap-free and in seq order.
      JdbcReadJournal readJournal =
          PersistenceQuery.get(Adapter.toClassic(system)).getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
      Map<String, List<Long>> seqsByConversation = new LinkedHashMap<>();
      for (String id : conversations) {
        List<EventEnvelope> envelopes =
            readJournal
                .currentEventsByTag(ProjectionTags.of(id), Offset.noOffset())
                .runWith(Sink.seq(), Materializer.matFromSystem(system))
                .toCompletableFuture()
                .get(60, TimeUnit.SECONDS);
        String pid = Conversation.persistenceId(id).id();
        List<EventEnvelope> mine = envelopes.stream().filter(e -> e.persistenceId().equals(pid)).toList();
        seqsByConversation.put(id, mine.stream().map(EventEnvelope::sequenceNr).toList());
        List<Long> offsets = mine.stream().map(e -> ((Sequence) e.offset()).value()).toList();
        assertThat(offsets).isSorted().doesNotHaveDuplicates();
      }
      List<Long> expected = LongStream.rangeClosed(1, 31).boxed().toList();
      assertThat(seqsByConversation).allSatisfy((id, seqs) -> assertThat(seqs).as(id).isEqualTo(expected));
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.parley.testing.TestNode#storagesStoppingQuickly")
  void aBatchIsWrittenWithItsTagsAndOrderingsInBatchOrder(String storage, TestNode.Factory factory) throws Exception {
    try (TestNode node = factory.start()) {
      JournalInserts inserts = inserts(node);
      String a = "a-" + UUID.randomUUID(), b = "b-" + UUID.randomUUID();
      List<JournalInserts.Row> batch =
          List.of(row(a, 1, Set.of("t-a")), row(b, 1, Set.of("t-b", "t-x")), row(a, 2, Set.of("t-a")), row(b, 2, Set.of()),
              row(a, 3, Set.of("t-a")));
      try (Connection c = node.openDatabase()) {
        inserts.write(c, batch, node.onPostgreSQL());
        assertThat(c.getAutoCommit()).isTrue();
      }
      Map<String, Long> orderings = orderings(node, a, b);
      List<String> inBatchOrder = batch.stream().map(r -> r.persistenceId() + "/" + r.sequenceNumber()).toList();
      assertThat(orderings.keySet()).containsExactlyElementsOf(inBatchOrder);
      Map<String, Set<String>> tags = tags(node, a, b);
      for (JournalInserts.Row r : batch) {
        String key = r.persistenceId() + "/" + r.sequenceNumber();
        assertThat(tags.getOrDefault(key, Set.of())).as(key).isEqualTo(r.tags());
      }
      assertThat(payload(node, b, 1)).isEqualTo(b + "/1");
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.parley.testing.TestNode#storagesStoppingQuickly")
  void aBatchWithAConflictingRowWritesNothingOfIt(String storage, TestNode.Factory factory) throws Exception {
    try (TestNode node = factory.start()) {
      JournalInserts inserts = inserts(node);
      String a = "a-" + UUID.randomUUID(), b = "b-" + UUID.randomUUID(), c = "c-" + UUID.randomUUID();
      try (Connection connection = node.openDatabase()) {
        inserts.write(connection, List.of(row(a, 1, Set.of("t"))), node.onPostgreSQL());
        // a's seq 1 exists: the batch must leave no trace, neither b's and c's rows nor their tags
        List<JournalInserts.Row> conflicting = List.of(row(b, 1, Set.of("t")), row(a, 1, Set.of("t")), row(c, 1, Set.of("t")));
        assertThatThrownBy(() -> inserts.write(connection, conflicting, node.onPostgreSQL())).isInstanceOf(SQLException.class);
        // the connection is usable again, in auto-commit
        inserts.write(connection, List.of(row(a, 2, Set.of("t"))), node.onPostgreSQL());
      }
      assertThat(orderings(node, a, b, c).keySet()).containsExactly(a + "/1", a + "/2");
      assertThat(tags(node, a, b, c).keySet()).containsExactlyInAnyOrder(a + "/1", a + "/2");
    }
  }

  private static JournalInserts inserts(TestNode node) {
    JournalConfig config = new JournalConfig(node.node().system().settings().config().getConfig("jdbc-journal"));
    return new JournalInserts(config.eventJournalTableConfiguration(), config.eventTagTableConfiguration());
  }

  private static JournalInserts.Row row(String pid, long seq, Set<String> tags) {
    return new JournalInserts.Row(
        pid, seq, false, "writer-1", 1_700_000_000_000L + seq, "", (pid + "/" + seq).getBytes(StandardCharsets.UTF_8), 4,
        "manifest", null, null, null, tags);
  }

  /** (pid/seq → ordering) of the given persistence ids, by ordering. */
  private static Map<String, Long> orderings(TestNode node, String... pids) throws SQLException {
    Map<String, Long> result = new LinkedHashMap<>();
    try (Connection c = node.openDatabase();
        PreparedStatement s =
            c.prepareStatement(
                "SELECT \"persistence_id\", \"sequence_number\", \"ordering\" FROM \"event_journal\""
                    + " WHERE \"persistence_id\" IN (" + "?, ".repeat(pids.length - 1) + "?) ORDER BY \"ordering\"")) {
      for (int i = 0; i < pids.length; i++) s.setString(i + 1, pids[i]);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) result.put(rs.getString(1) + "/" + rs.getLong(2), rs.getLong(3));
      }
    }
    return result;
  }

  /** (pid/seq → tags) through the tag table's event ids: each tag row must point at its own event. */
  private static Map<String, Set<String>> tags(TestNode node, String... pids) throws SQLException {
    Map<String, Set<String>> result = new HashMap<>();
    try (Connection c = node.openDatabase();
        PreparedStatement s =
            c.prepareStatement(
                "SELECT j.\"persistence_id\", j.\"sequence_number\", t.\"tag\" FROM \"event_tag\" t JOIN \"event_journal\" j"
                    + " ON j.\"ordering\" = t.\"event_id\" WHERE j.\"persistence_id\" IN (" + "?, ".repeat(pids.length - 1) + "?)")) {
      for (int i = 0; i < pids.length; i++) s.setString(i + 1, pids[i]);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) result.computeIfAbsent(rs.getString(1) + "/" + rs.getLong(2), k -> new HashSet<>()).add(rs.getString(3));
      }
    }
    return result;
  }

  private static String payload(TestNode node, String pid, long seq) throws SQLException {
    try (Connection c = node.openDatabase();
        PreparedStatement s =
            c.prepareStatement(
                "SELECT \"event_payload\" FROM \"event_journal\" WHERE \"persistence_id\" = ? AND \"sequence_number\" = ?")) {
      s.setString(1, pid);
      s.setLong(2, seq);
      try (ResultSet rs = s.executeQuery()) {
        assertThat(rs.next()).isTrue();
        return new String(rs.getBytes(1), StandardCharsets.UTF_8);
      }
    }
  }

  private static CompletableFuture<Reply> ask(ActorSystem<?> system, String id, Function<ActorRef<Reply>, Command> command) {
    return ClusterSharding.get(system)
        .entityRefFor(Conversation.ENTITY_TYPE_KEY, id)
        .ask(command::apply, TIMEOUT)
        .toCompletableFuture();
  }
}
