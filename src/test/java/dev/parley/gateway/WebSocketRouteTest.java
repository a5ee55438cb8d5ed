package dev.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.model.Uri;
import org.apache.pekko.http.javadsl.model.ws.BinaryMessage;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class WebSocketRouteTest {
  /** Only Pekko's own defaults: application.conf would start cluster remoting on a fixed port. */
  private static final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.empty());
  private static final Materializer materializer = Materializer.matFromSystem(testKit.system());
  private static final int MAX_BYTES = 16;

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void theQueryTokenIsWhatPekkosQueryParserReads() {
    String jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlXy0~";
    for (String query :
        List.of(
            "token=" + jwt, "token=", "token=a%2Eb", "token=a+b", "token=a&token=b", "x=1&token=" + jwt, "token=" + jwt + "&x=1",
            "token=a=b", "token=a;b", "tokens=a", "Token=a", "token", "x=1", "", "token=a/b?c", "token=%41%42")) {
      Uri uri = Uri.create("http://localhost/v1/ws?" + query);
      assertThat(WebSocketRoute.queryToken(uri)).as(query).isEqualTo(uri.query().get("token"));
    }
    assertThat(WebSocketRoute.queryToken(Uri.create("http://localhost/v1/ws"))).isEmpty();
    assertThat(WebSocketRoute.queryToken(Uri.create("http://localhost/v1/ws?token=" + jwt))).contains(jwt);
  }

  @Test
  void bearerPrefersTheQueryTokenThenTheAuthorizationHeader() {
    assertThat(WebSocketRoute.bearer(Optional.of("q"), Optional.of("Bearer h"))).isEqualTo("q");
    assertThat(WebSocketRoute.bearer(Optional.empty(), Optional.of("bearer  h "))).isEqualTo("h");
    assertThat(WebSocketRoute.bearer(Optional.empty(), Optional.of("Basic abc"))).isNull();
    assertThat(WebSocketRoute.bearer(Optional.empty(), Optional.empty())).isNull();
  }
}
