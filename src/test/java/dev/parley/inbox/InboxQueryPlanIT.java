package dev.parley.inbox;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Issue 4: the inbox page query is an index range whatever the number of the user's
 * conversations. On PostgreSQL, with a user of 100,000 conversations among other users' rows,
 * {@code EXPLAIN} of {@link InboxStore#pageQuery} (first page and a page after a cursor, as a
 * custom and as a generic plan) must read {@code inbox_entry_by_activity} backwards under a
 * {@code Limit}: no sequential scan of {@code inbox_entry}, no sort of the user's rows, and
 * (EXPLAIN ANALYZE) no more index rows than the page. On both databases the pages over those rows,
 * with ties in last activity, are complete and in order.
 */
class InboxQueryPlanIT {

  private static final int BIG = 100_000;
  private static final int PAGE = 50;
  private static final long BASE = 1_700_000_000_000L;

  @Test
  void onPostgresThePageQueryReadsTheActivityIndexBackwardsUnderALimit() throws Exception {
    try (TestNode node = TestNode.onPostgres();
        Connection c = node.openDatabase()) {
      try (Statement s = c.createStatement()) {
        // Every third conversation shares its last activity with two others: the keyset's tie-break matters.
        s.execute(
            "INSERT INTO inbox_conversation (conversation_id, title, last_seq, last_activity, preview_seq, preview_sender, preview_text)"
                + " SELECT 'c-' || lpad(i::text, 6, '0'), 'title ' || i, 5, " + BASE + " + (i / 3) * 1000, 5, 'someone', 'text ' || i"
                + " FROM generate_series(1, " + BIG + ") AS i");
        s.execute(
            "INSERT INTO inbox_entry (user_id, conversation_id, last_activity, read_seq, unread)"
                + " SELECT 'big', 'c-' || lpad(i::text, 6, '0'), " + BASE + " + (i / 3) * 1000, 3, 2 FROM generate_series(1, " + BIG + ") AS i");
        // 2,000 other users, 50 conversations each, in the same conversations.
        s.execute(
            "INSERT INTO inbox_entry (user_id, conversation_id, last_activity, read_seq, unread)"
                + " SELECT 'user-' || (i % 2000), 'c-' || lpad(i::text, 6, '0'), " + BASE + " + (i / 3) * 1000, 0, 5"
                + " FROM generate_series(1, " + BIG + ") AS i");
        s.execute("ANALYZE inbox_entry");
        s.execute("ANALYZE inbox_conversation");
      }
      Inbox.Cursor middle = new Inbox.Cursor(BASE + (BIG / 2 / 3) * 1000, String.format("c-%06d", BIG / 2));

      List<String> plans = new ArrayList<>();
      String firstArgs = "'big', " + (PAGE + 1);
      String nextArgs = "'big', " + middle.lastActivity() + ", '" + middle.conversation() + "', " + (PAGE + 1);
      // The query as a literal statement, and as the prepared statement the node runs, planned for
      // its parameters (custom) and for any parameters (generic: what a statement run often gets).
      plans.add(checkedPlan(c, "EXPLAIN (ANALYZE, FORMAT JSON) " + inlined(InboxStore.pageQuery(true), "'big'", String.valueOf(PAGE + 1))));
      try (Statement s = c.createStatement()) {
        s.execute("PREPARE first_page AS " + numbered(InboxStore.pageQuery(true)));
        s.execute("PREPARE next_page AS " + numbered(InboxStore.pageQuery(false)));
      }
      for (String mode : List.of("force_custom_plan", "force_generic_plan")) {
        try (Statement s = c.createStatement()) {
          s.execute("SET plan_cache_mode = " + mode);
        }
        plans.add(checkedPlan(c, "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE first_page(" + firstArgs + ")"));
        plans.add(checkedPlan(c, "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE next_page(" + nextArgs + ")"));
      }
      try (Statement s = c.createStatement()) {
        s.execute("RESET plan_cache_mode");
      }
      plans.forEach(System.out::println);

      // What the node serves from those rows: the newest first, continuing after a cursor, ties broken by id.
      InboxStore store = node.inboxStore();
      Inbox.Page first = store.page("big", PAGE, Optional.empty());
      assertThat(ids(first)).containsExactlyElementsOf(expectedIds(BIG, PAGE));
      Inbox.Page after = store.page("big", PAGE, Optional.of(middle));
      assertThat(ids(after)).containsExactlyElementsOf(expectedIds(BIG / 2 - 1, PAGE));
      assertThat(after.next()).contains(after.items().get(PAGE - 1).cursor());
    }
  }

  /**
   * H2 reads an index in order only when the ORDER BY matches it column by column (it cannot read
   * one backwards): its plan must say "index sorted" and EXPLAIN ANALYZE must count no more index
   * rows than the page (and the rows tied with the cursor), for a user with 20,000 conversations
   * among other users' rows.
   */
  @Test
  void onH2ThePageQueryReadsTheActivityIndexInOrderUnderALimit() throws Exception {
    int big = 20_000;
    try (TestNode node = TestNode.onH2();
        Connection c = node.openDatabase();
        Statement s = c.createStatement()) {
      s.execute(
          "INSERT INTO inbox_conversation (conversation_id, title, last_seq, last_activity)"
              + " SELECT 'c-' || LPAD(CAST(X AS VARCHAR), 6, '0'), 'title', 5, " + BASE + " + (X / 3) * 1000 FROM SYSTEM_RANGE(1, " + big + ")");
      s.execute(
          "INSERT INTO inbox_entry (user_id, conversation_id, last_activity, read_seq, unread)"
              + " SELECT 'big', 'c-' || LPAD(CAST(X AS VARCHAR), 6, '0'), " + BASE + " + (X / 3) * 1000, 3, 2 FROM SYSTEM_RANGE(1, " + big + ")");
      s.execute(
          "INSERT INTO inbox_entry (user_id, conversation_id, last_activity, read_seq, unread)"
              + " SELECT 'user-' || MOD(X, 400), 'c-' || LPAD(CAST(X AS VARCHAR), 6, '0'), " + BASE + " + (X / 3) * 1000, 0, 5 FROM SYSTEM_RANGE(1, " + big + ")");
      s.execute("ANALYZE");
      List<String> plans = new ArrayList<>();
      plans.add(checkedH2Plan(s, inlined(InboxStore.pageQuery(true), "'big'", String.valueOf(PAGE + 1))));
      plans.add(
          checkedH2Plan(
              s,
              inlined(InboxStore.pageQuery(false), "'big'", String.valueOf(BASE + (big / 2 / 3) * 1000L), String.format("'c-%06d'", big / 2), String.valueOf(PAGE + 1))));
      plans.forEach(System.out::println);
      Inbox.Page first = node.inboxStore().page("big", PAGE, Optional.empty());
      assertThat(ids(first)).containsExactlyElementsOf(expectedIds(big, PAGE));
    }
  }

  private static String checkedH2Plan(Statement s, String sql) throws SQLException {
    String plan;
    try (ResultSet r = s.executeQuery("EXPLAIN ANALYZE " + sql)) {
      r.next();
      plan = r.getString(1);
    }
    assertThat(plan).as("H2 plan").contains("INBOX_ENTRY_BY_ACTIVITY").contains("/* index sorted */");
    java.util.regex.Matcher scanned = java.util.regex.Pattern.compile("scanCount: (\\d+)").matcher(plan);
    assertThat(scanned.find()).as("a scan count in %s", plan).isTrue();
    // H2's range starts at the cursor's last activity inclusive: one page plus the two rows tied with it.
    assertThat(Long.parseLong(scanned.group(1))).as("index rows read in %s", plan).isLessThanOrEqualTo(PAGE + 3);
    return plan;
  }

  @Test
  void onH2EveryPageOfAUserWithTiesInActivityIsCompleteAndInOrder() throws Exception {
    checkAllPages(TestNode.onH2(), 3_000);
  }

  @Test
  void onPostgresEveryPageOfAUserWithTiesInActivityIsCompleteAndInOrder() throws Exception {
    checkAllPages(TestNode.onPostgres(), 3_000);
  }

  private static void checkAllPages(TestNode started, int count) throws Exception {
    try (TestNode node = started;
        Connection c = node.openDatabase()) {
      c.setAutoCommit(false);
      try (PreparedStatement conversation =
              c.prepareStatement(
                  "INSERT INTO inbox_conversation (conversation_id, title, last_seq, last_activity) VALUES (?, 'title', 1, ?)");
          PreparedStatement entry =
              c.prepareStatement("INSERT INTO inbox_entry (user_id, conversation_id, last_activity, read_seq, unread) VALUES (?, ?, ?, 1, 0)")) {
        for (int i = 1; i <= count; i++) {
          String id = String.format("c-%06d", i);
          long activity = BASE + (i / 3) * 1000L;
          conversation.setString(1, id);
          conversation.setLong(2, activity);
          conversation.addBatch();
          for (String user : List.of("big", "other-" + (i % 7))) {
            entry.setString(1, user);
            entry.setString(2, id);
            entry.setLong(3, activity);
            entry.addBatch();
          }
        }
        conversation.executeBatch();
        entry.executeBatch();
      }
      c.commit();
      // Through the public API of the running node, as a client walks it: limit 97 does not divide the ties.
      String token = node.token("big");
      List<String> walked = new ArrayList<>();
      String cursor = null;
      do {
        JsonNode page = node.api().get("/v1/inbox?limit=97" + (cursor == null ? "" : "&cursor=" + cursor), token).body();
        page.path("items").forEach(item -> walked.add(item.path("conversation").asText()));
        cursor = page.path("next").isNull() ? null : page.path("next").asText();
      } while (cursor != null);
      assertThat(walked).containsExactlyElementsOf(expectedIds(count, count));
      try (WsClient client = node.connect("other-3")) {
        JsonNode page = client.request(WsClient.frame("inbox").put("limit", 5)).path("items");
        assertThat(page.size()).isEqualTo(5);
        int newest = count;
        while (newest % 7 != 3) newest--;
        assertThat(page.get(0).path("conversation").asText()).isEqualTo(String.format("c-%06d", newest));
      }
    }
  }

  /** The ids {@code from}, {@code from - 1}, ... of {@code n} items: newest activity, then highest id first. */
  private static List<String> expectedIds(int from, int n) {
    List<String> ids = new ArrayList<>();
    for (int i = from; i > from - n && i >= 1; i--) ids.add(String.format("c-%06d", i));
    return ids;
  }

  private static List<String> ids(Inbox.Page page) {
    return page.items().stream().map(Inbox.Item::conversation).toList();
  }

  /** JDBC's ? placeholders replaced by {@code literals}, in order. */
  private static String inlined(String sql, String... literals) {
    StringBuilder out = new StringBuilder();
    int n = 0;
    for (char ch : sql.toCharArray()) {
      if (ch == '?') out.append(literals[n++]);
      else out.append(ch);
    }
    return out.toString();
  }

  /** JDBC's ? placeholders as PREPARE's $1, $2, ... */
  private static String numbered(String sql) {
    StringBuilder out = new StringBuilder();
    int n = 0;
    for (char ch : sql.toCharArray()) {
      if (ch == '?') out.append('$').append(++n);
      else out.append(ch);
    }
    return out.toString();
  }

  /** Runs an {@code EXPLAIN (ANALYZE, FORMAT JSON)}, checks the plan, returns it as text. */
  private static String checkedPlan(Connection c, String explain) throws SQLException {
    String json;
    try (Statement s = c.createStatement();
        ResultSet r = s.executeQuery(explain)) {
      r.next();
      json = r.getString(1);
    }
    JsonNode root;
    try {
      root = WsClient.JSON.readTree(json).get(0).get("Plan");
    } catch (Exception e) {
      throw new AssertionError("not a JSON plan: " + json, e);
    }
    List<JsonNode> nodes = new ArrayList<>();
    collect(root, nodes);
    String described = explain + "\n" + json;
    assertThat(root.path("Node Type").asText()).as("top node of %s", described).isEqualTo("Limit");
    assertThat(nodes)
        .as("no sequential scan of inbox_entry and no sort in %s", described)
        .noneMatch(n -> n.path("Node Type").asText().equals("Seq Scan") && n.path("Relation Name").asText().equals("inbox_entry"))
        .noneMatch(n -> n.path("Node Type").asText().contains("Sort"));
    JsonNode range =
        nodes.stream()
            .filter(n -> n.path("Relation Name").asText().equals("inbox_entry"))
            .findFirst()
            .orElseThrow(() -> new AssertionError("inbox_entry is not read in " + described));
    assertThat(range.path("Node Type").asText()).as("%s", described).isIn("Index Scan", "Index Only Scan");
    assertThat(range.path("Index Name").asText()).as("%s", described).isEqualTo("inbox_entry_by_activity");
    assertThat(range.path("Scan Direction").asText()).as("%s", described).isEqualTo("Backward");
    // The index range stops with the page: it does not walk the user's 100,000 rows.
    assertThat(range.path("Actual Rows").asLong()).as("index rows read in %s", described).isLessThanOrEqualTo(PAGE + 1);
    return described;
  }

  private static void collect(JsonNode plan, List<JsonNode> into) {
    into.add(plan);
    for (JsonNode child : plan.path("Plans")) collect(child, into);
  }
}
