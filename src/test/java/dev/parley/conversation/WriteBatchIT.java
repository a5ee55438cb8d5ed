package dev.parley.conversation;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.ErrorCode;
import dev.parley.conversation.Conversation.Command;
import dev.parley.conversation.Conversation.Create;
import dev.parley.conversation.Conversation.Rejected;
import dev.parley.conversation.Conversation.Reply;
import dev.parley.conversation.Conversation.Send;
import dev.parley.conversation.Conversation.Sent;
import dev.parley.conversation.Conversation.Subscribe;
import dev.parley.conversation.Conversation.Subscribed;
import dev.parley.conversation.Conversation.Update;
import dev.parley.ops.Metrics;
import dev.parley.testing.JournalGate;
import dev.parley.testing.TestNode;
import io.micrometer.core.instrument.DistributionSummary;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Group commit in the conversation entity ({@link WriteBatch}, issue 18) against a real node on H2
 * and PostgreSQL: sends that arrive while a write is in flight are persisted together, each sender
 * gets its own seq, retries are answered with the original seq, and a failed batch persists none
 * of its sends and answers every one of them {@code unavailable}.
 *
 * <p>To put commands behind a write deterministically, a test holds the journal table (a table
 * lock on PostgreSQL, exclusive mode on H2), asks one send (its write then waits on the database),
 * tells the others straight to the entity's mailbox, and only then lets the database go: the
 * journal's answer to the first write can only arrive after them.
 */
class WriteBatchIT {

  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.parley.testing.TestNode#storages")
  void thousandConcurrentSendsFromTwentySendersGetDistinctGapFreeSeqsEqualToHistory(String storage, TestNode.Factory factory)
      throws Exception {
    try (TestNode node = factory.start()) {
      ActorSystem<Void> system = node.node().system();
      String id = "batch-" + UUID.randomUUID();
      List<String> senders = IntStream.range(0, 20).mapToObj(i -> "sender-" + i).toList();
      create(system, id, senders);

      ExecutorService pool = Executors.newFixedThreadPool(senders.size());
      List<CompletableFuture<Reply>> replies = new ArrayList<>();
      Map<String, String> clientMsgIdToSender = new HashMap<>();
      try {
        List<CompletableFuture<List<CompletableFuture<Reply>>>> perSender = new ArrayList<>();
        for (String sender : senders) {
          List<String> ids = IntStream.range(0, 50).mapToObj(i -> sender + "/m" + i).toList();
          ids.forEach(m -> clientMsgIdToSender.put(m, sender));
          perSender.add(
              CompletableFuture.supplyAsync(
                  () -> ids.stream().map(m -> ask(system, id, r -> new Send(sender, m, "text " + m, r))).toList(), pool));
        }
        for (var f : perSender) replies.addAll(f.get(60, TimeUnit.SECONDS));
        CompletableFuture.allOf(replies.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
      } finally {
        pool.shutdownNow();
      }

      Map<Long, String> ackedSeqToClientMsgId = new HashMap<>();
      for (CompletableFuture<Reply> reply : replies) {
        assertThat(reply.get()).isInstanceOf(Sent.class);
        Sent sent = (Sent) reply.get();
        assertThat(ackedSeqToClientMsgId.put(sent.seq(), sent.clientMsgId())).as("seq %d acked twice", sent.seq()).isNull();
      }
      // Created is seq 1; the thousand messages are 2..1001, no gap, no duplicate.
      assertThat(ackedSeqToClientMsgId.keySet()).containsExactlyInAnyOrderElementsOf(
          IntStream.rangeClosed(2, 1001).mapToObj(i -> (long) i).toList());

      List<TimelineEvent> history = new History(system).read(id, 1, 2000).toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertThat(history).hasSize(1001);
      for (TimelineEvent event : history.subList(1, history.size())) {
        TimelineEvent.MessagePosted posted = (TimelineEvent.MessagePosted) event;
        assertThat(posted.clientMsgId()).isEqualTo(ackedSeqToClientMsgId.get(posted.seq()));
        assertThat(posted.sender()).isEqualTo(clientMsgIdToSender.get(posted.clientMsgId()));
      }
      // Without group commit every write would carry one event.
      assertThat(writeBatches(system).max()).isGreaterThan(1);
      assertThat(writeBatches(system).totalAmount()).isEqualTo(1000);
      assertThat(writeBatches(system).count()).isLessThan(1000);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.parley.testing.TestNode#storages")
  void retriesWhileTheFirstAttemptIsInFlightOrInTheSameBatchGetTheOriginalSeqAndPostNothing(
      String storage, TestNode.Factory factory) throws Exception {
    try (TestNode node = factory.start()) {
      ActorSystem<Void> system = node.node().system();
      String id = "retry-" + UUID.randomUUID();
      create(system, id, List.of("ann", "bob", "cid"));
      ActorRef<Command> entity = entityItself(system, id, "ann");

      CompletableFuture<Reply> first;
      List<CompletableFuture<Reply>> behind = new ArrayList<>();
      try (JournalGate gate = JournalGate.hold(node)) {
        first = ask(system, entity, r -> new Send("ann", "a1", "first", r));
        behind.add(ask(system, entity, r -> new Send("bob", "b1", "second", r)));
        behind.add(ask(system, entity, r -> new Send("bob", "b1", "second", r))); // retry inside the batch
        behind.add(ask(system, entity, r -> new Send("ann", "a1", "first", r))); // retry of the write in flight
        behind.add(ask(system, entity, r -> new Send("cid", "c1", "third", r)));
        gate.release(null);
      }

      assertThat(first.get(60, TimeUnit.SECONDS)).isEqualTo(new Sent(2, "a1"));
      assertThat(behind.get(0).get(60, TimeUnit.SECONDS)).isEqualTo(new Sent(3, "b1"));
      assertThat(behind.get(1).get(60, TimeUnit.SECONDS)).isEqualTo(new Sent(3, "b1"));
      assertThat(behind.get(2).get(60, TimeUnit.SECONDS)).isEqualTo(new Sent(2, "a1"));
      assertThat(behind.get(3).get(60, TimeUnit.SECONDS)).isEqualTo(new Sent(4, "c1"));
      assertThat(journalSeqs(node, id)).containsExactly(1L, 2L, 3L, 4L);
      // b1 and c1 were one write, after a1's.
      assertThat(writeBatches(system).max()).isEqualTo(2);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.parley.testing.TestNode#storages")
  void aBatchWhoseWriteFailsAnswersEverySenderUnavailableAndPersistsNoneOfThem(String storage, TestNode.Factory factory)
      throws Exception {
    try (TestNode node = factory.start()) {
      ActorSystem<Void> system = node.node().system();
      String id = "doomed-" + UUID.randomUUID();
      List<String> senders = IntStream.range(0, 10).mapToObj(i -> "sender-" + i).toList();
      create(system, id, senders);
      ActorRef<Command> entity = entityItself(system, id, senders.get(0));

      CompletableFuture<Reply> first;
      List<CompletableFuture<Reply>> batch = new ArrayList<>();
      try (JournalGate gate = JournalGate.hold(node)) {
        first = ask(system, entity, r -> new Send(senders.get(0), "first", "first", r));
        for (String sender : senders) batch.add(ask(system, entity, r -> new Send(sender, "doomed", "doomed", r)));
        // The database accepts seq 2 of this conversation (the first send) and refuses the rest.
        gate.release(
            "ALTER TABLE \"event_journal\" ADD CONSTRAINT \"doomed_batch\" CHECK (\"persistence_id\" <> '"
                + Conversation.persistenceId(id).id()
                + "' OR \"sequence_number\" < 3)");
      }

      assertThat(first.get(60, TimeUnit.SECONDS)).isEqualTo(new Sent(2, "first"));
      for (CompletableFuture<Reply> reply : batch) {
        Reply answer = reply.get(60, TimeUnit.SECONDS);
        assertThat(answer).isInstanceOf(Rejected.class);
        assertThat(((Rejected) answer).code()).isEqualTo(ErrorCode.UNAVAILABLE);
      }
      assertThat(journalSeqs(node, id)).containsExactly(1L, 2L);
    }
  }

  // ---- helpers ----------------------------------------------------------------------------------

  private static void create(ActorSystem<?> system, String id, List<String> members) throws Exception {
    Reply reply =
        ask(system, id, r -> new Create(members.get(0), members.subList(1, members.size()), "t", r)).get(60, TimeUnit.SECONDS);
    assertThat(reply).isEqualTo(new Conversation.Accepted(1));
  }

  /** The entity's own ref (from a subscription): a tell to it lands in its mailbox at once. */
  private static ActorRef<Command> entityItself(ActorSystem<?> system, String id, String member) throws Exception {
    EntityRef<Command> ref = ClusterSharding.get(system).entityRefFor(Conversation.ENTITY_TYPE_KEY, id);
    Update answer =
        AskPattern.<Command, Update>ask(ref, r -> new Subscribe(member, -1, r, 1), TIMEOUT, system.scheduler())
            .toCompletableFuture()
            .get(60, TimeUnit.SECONDS);
    return ((Subscribed) answer).entity();
  }

  private static CompletableFuture<Reply> ask(ActorSystem<?> system, String id, Function<ActorRef<Reply>, Command> command) {
    EntityRef<Command> ref = ClusterSharding.get(system).entityRefFor(Conversation.ENTITY_TYPE_KEY, id);
    return ref.ask(command::apply, TIMEOUT).toCompletableFuture();
  }

  private static CompletableFuture<Reply> ask(
      ActorSystem<?> system, ActorRef<Command> entity, Function<ActorRef<Reply>, Command> command) {
    CompletionStage<Reply> answer = AskPattern.ask(entity, command::apply, TIMEOUT, system.scheduler());
    return answer.toCompletableFuture();
  }

  private static DistributionSummary writeBatches(ActorSystem<?> system) {
    return Metrics.get(system).registry().get("parley.conversation.write.batch").summary();
  }

  private static List<Long> journalSeqs(TestNode node, String id) throws SQLException {
    try (Connection c = node.openDatabase();
        PreparedStatement s =
            c.prepareStatement(
                "SELECT \"sequence_number\" FROM \"event_journal\" WHERE \"persistence_id\" = ? ORDER BY \"sequence_number\"")) {
      s.setString(1, Conversation.persistenceId(id).id());
      List<Long> seqs = new ArrayList<>();
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) seqs.add(rs.getLong(1));
      }
      return seqs;
    }
  }
}
