package dev.parley.presence;

import static dev.parley.testing.WsClient.frame;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.testing.TestNode;
import dev.parley.testing.WsClient;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Presence end to end on one node, over real websockets: transitions across a user's devices,
 * who may see them, the errors for bad presence frames, and the batching that keeps a big room's
 * churn to one frame per interval per connection.
 */
class PresenceIT {

  private static final long BATCH_INTERVAL_MS = 500;
  private static TestNode node;

  @BeforeAll
  static void start() throws Exception {
    node =
        TestNode.onH2(
            Map.of(
                "parley.presence.batch-interval", BATCH_INTERVAL_MS + "ms",
                "parley.presence.max-users-per-frame", 50,
                // A create of 1,000 members and a watch of 201 users are larger than the tests' 2 KiB frames.
                "parley.gateway.max-frame-bytes", 65536));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  @Test
  void aUserIsOnlineWhileAnyDeviceIsAwayOnlyWhenAllAreAndOfflineWithLastSeenAfterTheLast() {
    String alice = "alice-" + UUID.randomUUID();
    String marker = "marker-" + UUID.randomUUID();
    try (WsClient bob = node.connect("bob-" + UUID.randomUUID())) {
      String room = createAndWatch(bob, List.of(alice, marker));
      JsonNode before = page(bob, room).get(alice);
      assertThat(before.path("status").asText()).as("before alice ever connected").isEqualTo("offline");
      assertThat(before.path("lastSeen").isNull()).as("lastSeen unknown").isTrue();

      WsClient phone = node.connect(alice);
      expectStatus(bob, alice, "online");
      try (WsClient laptop = node.connect(alice)) {
        assertThat(phone.request(frame("set_presence").put("status", "away")).path("status").asText()).isEqualTo("away");
        // The laptop is still active: alice stays online. The marker's change comes after the
        // phone's in the node's order, so an "away" for alice would have been sent by then.
        try (WsClient markerClient = node.connect(marker)) {
          expectStatus(bob, marker, "online");
        }
        assertThat(bob.framesBeforePong()).noneMatch(f -> statusIn(f, alice).equals("away"));

        laptop.request(frame("set_presence").put("status", "away"));
        ObjectNode away = expectStatus(bob, alice, "away");
        assertThat(away.path("lastSeen").asLong()).as("away since").isPositive();
      }
      // The laptop closed; the phone is still connected, away: no change.
      phone.request(frame("set_presence").put("status", "online"));
      expectStatus(bob, alice, "online");

      long beforeClose = System.currentTimeMillis();
      phone.close();
      ObjectNode offline = expectStatus(bob, alice, "offline");
      assertThat(offline.path("lastSeen").asLong()).as("last seen: when the last device closed").isGreaterThanOrEqualTo(beforeClose);
      assertThat(page(bob, room).get(alice).path("status").asText()).isEqualTo("offline");
      assertThat(page(bob, room).get(alice).path("lastSeen").asLong()).isEqualTo(offline.path("lastSeen").asLong());
    }
  }

  @Test
  void onlyMembersSeeAConversationsPresence() {
    String alice = "alice-" + UUID.randomUUID();
    String marker = "marker-" + UUID.randomUUID();
    String mallory = "mallory-" + UUID.randomUUID();
    try (WsClient bob = node.connect("bob-" + UUID.randomUUID()); WsClient malloryClient = node.connect(mallory)) {
      String room = createAndWatch(bob, List.of(alice, marker));

      ObjectNode refusedPage = malloryClient.request(frame("presence").put("conversation", room));
      assertThat(refusedPage.path("code").asText()).as("%s", refusedPage).isEqualTo("forbidden");
      ObjectNode refusedSubscription = malloryClient.request(frame("subscribe").put("conversation", room));
      assertThat(refusedSubscription.path("code").asText()).isEqualTo("forbidden");
      ObjectNode refusedWatch = malloryClient.request(frame("presence_subscribe").put("conversation", room));
      assertThat(refusedWatch.path("code").asText()).as("%s", refusedWatch).isEqualTo("bad_request");

      // Bob names a non-member among the users he watches: her presence is never sent to him.
      ObjectNode named = frame("presence_subscribe").put("conversation", room);
      named.putArray("users").add(alice).add(mallory).add(marker);
      assertThat(bob.request(named).path("type").asText()).isEqualTo("ok");
      ObjectNode current = bob.expect("presence");
      assertThat(current.path("users").findValuesAsText("user")).as("the named members' current state").containsExactlyInAnyOrder(alice, marker);
      malloryClient.request(frame("set_presence").put("status", "away"));
      try (WsClient aliceClient = node.connect(alice)) {
        expectStatus(bob, alice, "online");
        assertThat(malloryClient.framesBeforePong()).as("mallory watches nothing").noneMatch(f -> "presence".equals(f.path("type").asText()));
      }
      expectStatus(bob, alice, "offline");
      assertThat(bob.framesBeforePong()).noneMatch(f -> !statusIn(f, mallory).isEmpty());

      // Once alice has left, bob is no longer told her presence, nor may she see the room's.
      try (WsClient aliceClient = node.connect(alice)) {
        expectStatus(bob, alice, "online");
        assertThat(aliceClient.request(frame("leave").put("conversation", room)).path("type").asText()).isEqualTo("ok");
        ObjectNode afterLeaving = aliceClient.request(frame("presence").put("conversation", room));
        assertThat(afterLeaving.path("code").asText()).isEqualTo("forbidden");
        bob.expect(f -> WsClient.isEventOf(room, f) && "member_left".equals(f.path("type").asText()), "alice's member_left");
      }
      try (WsClient markerClient = node.connect(marker)) {
        expectStatus(bob, marker, "online");
      }
      assertThat(bob.framesBeforePong()).as("alice's going offline after she left").noneMatch(f -> !statusIn(f, alice).isEmpty());
      assertThat(page(bob, room)).doesNotContainKey(alice);
    }
  }

  @Test
  void badPresenceFramesGetClearErrors() {
    try (WsClient bob = node.connect("bob-" + UUID.randomUUID())) {
      String room = createAndWatch(bob, List.of("carol"));
      assertThat(code(bob, frame("set_presence").put("status", "invisible"))).isEqualTo("bad_request");
      assertThat(code(bob, frame("set_presence"))).isEqualTo("bad_request");
      ObjectNode both = frame("presence_subscribe").put("conversation", room).put("counts", true);
      both.putArray("users").add("carol");
      assertThat(code(bob, both)).isEqualTo("bad_request");
      assertThat(code(bob, frame("presence_subscribe").put("conversation", room).put("counts", "yes"))).isEqualTo("bad_request");
      ObjectNode tooMany = frame("presence_subscribe").put("conversation", room);
      var users = tooMany.putArray("users");
      for (int i = 0; i < 201; i++) users.add("user-" + i);
      assertThat(code(bob, tooMany)).isEqualTo("too_large");
      assertThat(code(bob, frame("presence").put("conversation", room).put("limit", 0))).isEqualTo("bad_request");
      assertThat(code(bob, frame("presence").put("conversation", room).put("after", 7))).isEqualTo("bad_request");
      assertThat(code(bob, frame("presence").put("conversation", "no-such-room-" + UUID.randomUUID()))).isEqualTo("not_found");
      bob.pingPong();
    }
  }

  /**
   * A room of 1,000 members, 100 of whom connect and then disconnect as fast as the test can open
   * sockets: a watcher of every member and a watcher of counts each get at most one frame per
   * batch interval, and between them every change arrives.
   */
  @Test
  void aBigRoomsChurnReachesEachWatcherAsAtMostOneBatchedFramePerInterval() {
    String prefix = "big-" + UUID.randomUUID().toString().substring(0, 8) + "-";
    List<String> members = new ArrayList<>();
    for (int i = 0; i < 999; i++) members.add(prefix + i);
    try (WsClient watcher = node.connect(prefix + "watcher"); WsClient counter = node.connect(prefix + "counter")) {
      String room = "big-room-" + UUID.randomUUID();
      ObjectNode create = frame("create").put("conversation", room);
      var list = create.putArray("members");
      members.subList(0, 998).forEach(list::add);
      list.add(prefix + "counter");
      assertThat(watcher.request(create).path("type").asText()).isEqualTo("created");
      watch(watcher, room, frame("presence_subscribe").put("conversation", room));
      watch(counter, room, frame("presence_subscribe").put("conversation", room).put("counts", true));
      ObjectNode initial = counter.expect("presence");
      assertThat(initial.path("counts").get(0).path("members").asInt()).isEqualTo(1000);

      long started = System.nanoTime();
      List<WsClient> churn = new ArrayList<>();
      for (int i = 0; i < 100; i++) churn.add(node.connect(members.get(i)));
      Set<String> seenOnline = new HashSet<>();
      int watcherFrames = 0;
      while (seenOnline.size() < 100) {
        ObjectNode f = watcher.expect("presence");
        watcherFrames++;
        assertThat(f.path("users").size()).as("users per frame (max-users-per-frame)").isLessThanOrEqualTo(50);
        f.path("users").forEach(u -> {
          if (u.path("status").asText().equals("online")) seenOnline.add(u.path("user").asText());
        });
      }
      int counterFrames = 0;
      int online = 0;
      while (online < 102) {
        ObjectNode f = counter.expect("presence");
        counterFrames++;
        online = f.path("counts").get(0).path("online").asInt();
      }
      churn.forEach(WsClient::close);
      Set<String> seenOffline = new HashSet<>();
      while (seenOffline.size() < 100) {
        ObjectNode f = watcher.expect("presence");
        watcherFrames++;
        f.path("users").forEach(u -> {
          if (u.path("status").asText().equals("offline")) seenOffline.add(u.path("user").asText());
        });
      }
      long elapsedMs = (System.nanoTime() - started) / 1_000_000;
      long intervals = elapsedMs / BATCH_INTERVAL_MS + 2;
      System.out.printf("big room: 200 changes in %d ms -> watcher %d frames, counter %d frames (cap %d)%n", elapsedMs, watcherFrames, counterFrames, intervals);
      assertThat(seenOnline).containsAll(members.subList(0, 100));
      assertThat(seenOffline).containsAll(members.subList(0, 100));
      assertThat(watcherFrames).as("frames to the member watcher in %d ms", elapsedMs).isLessThanOrEqualTo((int) intervals);
      assertThat(counterFrames).as("frames to the counts watcher").isLessThanOrEqualTo((int) intervals);
    }
  }

  // ---- helpers --------------------------------------------------------------------------------

  private static String createAndWatch(WsClient client, List<String> others) {
    String room = "presence-" + UUID.randomUUID();
    ObjectNode create = frame("create").put("conversation", room);
    var list = create.putArray("members");
    others.forEach(list::add);
    assertThat(client.request(create).path("type").asText()).isEqualTo("created");
    watch(client, room, frame("presence_subscribe").put("conversation", room));
    return room;
  }

  private static void watch(WsClient client, String room, ObjectNode presenceSubscribe) {
    assertThat(client.request(frame("subscribe").put("conversation", room)).path("type").asText()).isEqualTo("subscribed");
    ObjectNode ok = client.request(presenceSubscribe);
    assertThat(ok.path("type").asText()).as("%s", ok).isEqualTo("ok");
  }

  private static ObjectNode expectStatus(WsClient client, String user, String status) {
    ObjectNode f =
        client.expect(
            frame -> "presence".equals(frame.path("type").asText()) && statusIn(frame, user).equals(status),
            user + " " + status);
    for (JsonNode u : f.path("users")) if (u.path("user").asText().equals(user)) return (ObjectNode) u;
    throw new AssertionError("unreachable");
  }

  private static String statusIn(ObjectNode presence, String user) {
    for (JsonNode u : presence.path("users")) if (u.path("user").asText().equals(user)) return u.path("status").asText();
    return "";
  }

  private static Map<String, JsonNode> page(WsClient client, String room) {
    ObjectNode page = client.request(frame("presence").put("conversation", room));
    assertThat(page.path("type").asText()).as("%s", page).isEqualTo("presence_page");
    Map<String, JsonNode> byUser = new HashMap<>();
    page.path("members").forEach(m -> byUser.put(m.path("user").asText(), m));
    return byUser;
  }

  private static String code(WsClient client, ObjectNode request) {
    ObjectNode reply = client.request(request);
    assertThat(reply.path("type").asText()).as("%s", reply).isEqualTo("error");
    return reply.path("code").asText();
  }
}
