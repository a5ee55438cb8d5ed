package dev.parley.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.ErrorCode;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/** HTTP responses in the protocol's JSON shape: the same {@code error} object and codes as the websocket. */
public final class HttpErrors {
  private HttpErrors() {}

  public static HttpResponse response(ErrorCode code, String message) {
    return json(code.httpStatus(), Frames.error(null, code, message));
  }

  public static HttpResponse json(int status, JsonNode body) {
    return HttpResponse.create()
        .withStatus(StatusCodes.get(status))
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, Frames.write(body)));
  }
}
