package dev.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.QueueCompletionResult;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class OutboundQueueTest {
  private static final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.empty());
  private static final Materializer materializer = Materializer.matFromSystem(testKit.system());

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static ObjectNode frame(String type) {
    return JsonNodeFactory.instance.objectNode().put("type", type);
  }

  @Test
  void completingEndsTheStreamAfterTheQueuedFrames() throws Exception {
    Pair<BoundedSourceQueue<Message>, Source<Message, NotUsed>> pair = Source.<Message>queue(4).preMaterialize(materializer);
    OutboundQueue queue = new OutboundQueue(pair.first());
    queue.offer(frame("pong"));
    queue.offer(frame("reconnect"));

    assertThat(queue.complete()).isTrue();

    CompletionStage<List<Message>> received = pair.second().runWith(Sink.seq(), materializer);
    assertThat(received.toCompletableFuture().get(5, TimeUnit.SECONDS))
        .extracting(m -> m.asTextMessage().getStrictText())
        .containsExactly("{\"type\":\"pong\"}", "{\"type\":\"reconnect\"}");
  }

  @Test
  void completingTwiceIsHarmless() {
    OutboundQueue queue = new OutboundQueue(Source.<Message>queue(4).preMaterialize(materializer).first());

    assertThat(queue.complete()).isTrue();
    assertThat(queue.complete()).isFalse();
  }

  @Test
  void aQueueTheClientSideAlreadyEndedIsNotAnError() {
    Pair<BoundedSourceQueue<Message>, Source<Message, NotUsed>> pair = Source.<Message>queue(4).preMaterialize(materializer);
    // The client closed: the websocket's side cancels the stream, which completes the queue.
    pair.second().runWith(Sink.cancelled(), materializer);
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> pair.first().offer(TextMessage.create("probe")) instanceof QueueCompletionResult);
    OutboundQueue queue = new OutboundQueue(pair.first());

    queue.offer(frame("reconnect"));

    assertThat(queue.complete()).isFalse();
  }
}
