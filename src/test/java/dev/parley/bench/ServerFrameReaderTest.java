package dev.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class ServerFrameReaderTest {

  private static final ObjectMapper BINDING = new ObjectMapper();

  /** Frames of protocol.md as the node writes them, and some it might: the streaming read equals the record binding. */
  @ParameterizedTest
  @ValueSource(strings = {
    "{\"type\":\"ack\",\"id\":\"s17\",\"conversation\":\"c-1\",\"clientMsgId\":\"s17\",\"seq\":42,\"ts\":1764892800123}",
    "{\"type\":\"message\",\"conversation\":\"c-1\",\"seq\":43,\"sender\":\"u-2\",\"clientMsgId\":\"s18\",\"text\":\"x\\\"y{}[]\",\"ts\":1764892800124,\"attachments\":[{\"a\":[1,2,{}]}],\"meta\":{\"seq\":99,\"type\":\"nested\"}}",
    "{\"type\":\"error\",\"id\":\"s19\",\"conversation\":\"c-1\",\"code\":\"unavailable\",\"message\":\"busy\",\"retryAfterMs\":250}",
    "{\"type\":\"subscribed\",\"id\":\"r3\",\"conversation\":\"c-1\",\"lastSeq\":7,\"recovered\":false}",
    "{\"type\":\"reconnect\",\"afterMs\":1200,\"closeInMs\":30000}",
    "{\"type\":\"writes_resumed\"}",
    "{\"type\":\"ok\",\"id\":7,\"seq\":null,\"recovered\":null,\"sender\":null}",
    "{\"type\":\"member_joined\",\"conversation\":\"c-2\",\"seq\":\"5\",\"ts\":1.0E3}",
    "{}"
  })
  void readsWhatTheRecordBindingReads(String json) throws IOException {
    byte[] utf8 = ("  " + json + " ").getBytes(StandardCharsets.UTF_8);
    ServerFrame streamed = ServerFrameReader.read(utf8, 2, utf8.length - 3);
    assertThat(streamed).isEqualTo(BINDING.readValue(json, ServerFrame.class));
  }

  @Test
  void refusesWhatIsNotOneObject() {
    for (String json : new String[] {"[1]", "{\"type\":", "{\"type\":{\"a\":1}}", "{\"seq\":\"many\"}"}) {
      byte[] utf8 = json.getBytes(StandardCharsets.UTF_8);
      assertThatThrownBy(() -> ServerFrameReader.read(utf8, 0, utf8.length)).as(json).isInstanceOf(IOException.class);
    }
  }
}
