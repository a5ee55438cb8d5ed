package dev.parley.bot;

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
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The bot projection's SQL on H2 and PostgreSQL (issue 18): a batch records every conversation's
 * newest seq in one statement whatever the number of conversations, wakes exactly the bots that
 * are behind, moves the offset in the same transaction, and a batch applied again (two consumers
 * for a moment, or a restart before the offset was read back) changes and wakes nothing.
 */
class BotProjectionBatchTest {

  static Stream<Arguments> vendors() {
    return Stream.of(Arguments.of("h2"), Arguments.of("postgresql"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("vendors")
  void aBatchOfManyConversationsCostsOneStatementForTheSeenSeqs(String vendor) throws Exception {
    int conversations = 20;
    List<EventEnvelope> created = new ArrayList<>();
    List<EventEnvelope> messages = new ArrayList<>();
    long ordering = 0;
    for (int i = 0; i < conversations; i++) {
      // Every other conversation has the echo bot; the rest only people (most of a 1:1 load).
      List<String> members = i % 2 == 0 ? List.of("ann", "bot:echo") : List.of("ann", "ben");
      created.add(envelope(++ordering, "conv-" + i, new TimelineEvent.Created(1, 1000, "ann", "t", members)));
    }
    for (long seq = 2; seq <= 4; seq++) {
      for (int i = 0; i < conversations; i++) {
        messages.add(envelope(++ordering, "conv-" + i, new TimelineEvent.MessagePosted(seq, 1000 + seq, "ann", "m" + seq, "hi")));
      }
    }

    try (MigratedDatabase db = MigratedDatabase.create(vendor, "parley_bots_");
        BotStore store = store(db)) {
      store.apply("bots/t", created, Set.of("echo"));
      assertThat(progress(db)).containsEntry("echo@conv-0", "seen 1, handled 0").hasSize(conversations / 2);

      long before = store.projectionStatements();
      List<BotStore.Wake> wakes = store.apply("bots/t", messages, Set.of("echo"));
      // The seen seqs of all 20 conversations in one statement, the offset's update: it was two
      // statements per conversation with a bot and one per conversation without (30 here).
      assertThat(store.projectionStatements() - before).as("statements for 60 messages of %d conversations", conversations).isEqualTo(2);
      assertThat(wakes).hasSize(conversations / 2);
      assertThat(wakes).allSatisfy(w -> assertThat(w.bot()).isEqualTo("echo")).allSatisfy(w -> assertThat(w.lastSeen()).isEqualTo(4));
      assertThat(wakes).extracting(BotStore.Wake::conversation).containsExactlyInAnyOrder(evenConversations(conversations));
      assertThat(progress(db)).containsEntry("echo@conv-0", "seen 4, handled 0").hasSize(conversations / 2);
      assertThat(store.offset("bots/t")).isEqualTo(ordering);

      // A second store on the same tables (a restarted node) reads the committed offset; the same
      // batch applied again moves no row and wakes nobody.
      try (BotStore restarted = store(db)) {
        assertThat(restarted.offset("bots/t")).isEqualTo(ordering);
        assertThat(restarted.apply("bots/t", messages.subList(30, messages.size()), Set.of("echo"))).isEmpty();
      }
      assertThat(progress(db)).containsEntry("echo@conv-0", "seen 4, handled 0").hasSize(conversations / 2);
    }
  }

  /**
   * On PostgreSQL the seen seqs of a batch's conversations are written through the conversation
   * index even on a table that has never been analyzed: 20,000 rows, 25 conversations in the
   * batch, no sequential scan of {@code bot_progress}, with custom and generic plans (one {@code
   * UPDATE ... FROM} over the batch's arrays risks a hash join over the whole table there).
   */
  @Test
  void onPostgresABatchFindsItsBotsRowsThroughTheConversationIndexWithoutStatistics() throws Exception {
    int conversations = 20_000;
    int inBatch = 25;
    try (MigratedDatabase db = MigratedDatabase.create("postgresql", "parley_bots_");
        Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        Statement s = c.createStatement()) {
      s.execute("ALTER TABLE bot_progress SET (autovacuum_enabled = false)");
      s.execute(
          "INSERT INTO bot_progress (bot, conversation_id, last_seen_seq, last_handled_seq, state, updated_at)"
              + " SELECT 'echo', 'c-' || i, 1, 1, '{}', 0 FROM generate_series(1, " + conversations + ") AS i");
      try (ResultSet r = s.executeQuery("SELECT reltuples FROM pg_class WHERE relname = 'bot_progress'")) {
        assertThat(r.next()).isTrue();
        assertThat(r.getDouble(1)).as("bot_progress has no statistics").isLessThan(0);
      }
      List<String> batch = new ArrayList<>();
      List<Long> seqs = new ArrayList<>();
      for (int i = 0; i < inBatch; i++) {
        batch.add("c-" + (1 + i * 797));
        seqs.add(5L);
      }
      c.setAutoCommit(false);
      for (String mode : List.of("force_custom_plan", "force_generic_plan")) {
        s.execute("SET plan_cache_mode = " + mode);
        List<String> moved = new ArrayList<>();
        try (PreparedStatement call =
            c.prepareStatement("SELECT bot, conversation_id, last_seen_seq, last_handled_seq FROM parley_bots_seen(?::varchar[], ?::int8[])")) {
          call.setArray(1, c.createArrayOf("varchar", batch.toArray()));
          call.setArray(2, c.createArrayOf("bigint", seqs.toArray()));
          try (ResultSet r = call.executeQuery()) {
            while (r.next()) moved.add(r.getString(2) + " seen " + r.getLong(3) + " handled " + r.getLong(4));
          }
        }
        assertThat(moved).hasSize(inBatch).contains("c-1 seen 5 handled 1");
        try (ResultSet r = s.executeQuery("SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables WHERE relname = 'bot_progress'")) {
          assertThat(r.next()).isTrue();
          assertThat(r.getLong(1)).as("sequential scans of bot_progress (%s)", mode).isZero();
          assertThat(r.getLong(2)).as("index scans of bot_progress (%s)", mode).isGreaterThanOrEqualTo(inBatch);
        }
        c.rollback();
      }
    }
  }

  private static String[] evenConversations(int conversations) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < conversations; i += 2) ids.add("conv-" + i);
    return ids.toArray(String[]::new);
  }

  private static EventEnvelope envelope(long ordering, String conversation, TimelineEvent event) {
    return EventEnvelope.apply(Offset.sequence(ordering), Conversation.persistenceId(conversation).id(), event.seq(), event, event.ts());
  }

  private static BotStore store(MigratedDatabase db) {
    return BotStore.open(db.storage(), 2, Duration.ofSeconds(5));
  }

  /** bot@conversation → "seen N, handled M". */
  private static Map<String, String> progress(MigratedDatabase db) throws Exception {
    Map<String, String> rows = new TreeMap<>();
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT bot, conversation_id, last_seen_seq, last_handled_seq FROM bot_progress")) {
      while (r.next()) rows.put(r.getString(1) + "@" + r.getString(2), "seen " + r.getLong(3) + ", handled " + r.getLong(4));
    }
    return rows;
  }
}
