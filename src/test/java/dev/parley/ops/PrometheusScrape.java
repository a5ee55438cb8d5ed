package dev.parley.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.Map;

/** One scrape of a node's {@code /metrics} over HTTP, as Prometheus does it (no token), parsed. */
record PrometheusScrape(String text, Map<String, Double> samples) {

  private static final HttpClient HTTP = HttpClient.newHttpClient();

  static PrometheusScrape of(URI management) throws Exception {
    HttpResponse<String> response =
        HTTP.send(HttpRequest.newBuilder(URI.create(management + "/metrics")).GET().build(), HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as("GET /metrics").isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(type -> assertThat(type).startsWith("text/plain"));
    Map<String, Double> samples = new HashMap<>();
    for (String line : response.body().split("\n")) {
      if (line.isBlank() || line.startsWith("#")) continue;
      int space = line.lastIndexOf(' ');
      samples.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
    }
    return new PrometheusScrape(response.body(), samples);
  }

  /** The sample named exactly so (labels included, as exposed: {@code name{a="b"}}); fails when absent. */
  double value(String sample) {
    Double value = samples.get(sample);
    if (value == null) throw new AssertionError("no sample " + sample + " in:\n" + text);
    return value;
  }
}
