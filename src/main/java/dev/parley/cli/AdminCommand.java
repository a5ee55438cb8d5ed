package dev.parley.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.gateway.Frames;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code parley admin}: operator commands against a node's management port (the admin routes of
 * {@link dev.parley.cluster.AdminRoutes}), authenticated with the admin token.
 */
@Command(
    name = "admin",
    mixinStandardHelpOptions = true,
    description = "Operate a running node through its management port.",
    subcommands = {AdminCommand.Drain.class, AdminCommand.Status.class, AdminCommand.Revoke.class})
public final class AdminCommand {

  @Option(
      names = "--management",
      defaultValue = "http://127.0.0.1:8558",
      description = "The node's Pekko Management address (default: ${DEFAULT-VALUE}).")
  URI management;

  @Option(
      names = "--token",
      defaultValue = "${env:PARLEY_ADMIN_TOKEN}",
      description = "Admin token (default: PARLEY_ADMIN_TOKEN).")
  String token;

  @Option(names = "--json", description = "Print the node's JSON answer as it is.")
  boolean json;

  @Command(name = "drain", mixinStandardHelpOptions = true, description = "Make the node leave as on SIGTERM: drain clients, hand off shards, exit.")
  static final class Drain implements Callable<Integer> {
    @ParentCommand AdminCommand admin;

    @Override
    public Integer call() throws Exception {
      return admin.call("POST", "/parley/drain");
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true, description = "Show the node's address, version, connections and admission counters.")
  static final class Status implements Callable<Integer> {
    @ParentCommand AdminCommand admin;

    @Override
    public Integer call() throws Exception {
      return admin.call("GET", "/parley/status");
    }
  }

  @Command(
      name = "revoke",
      mixinStandardHelpOptions = true,
      description = "Revoke every token of a user issued until now, on every node: open connections close, new ones get 401.")
  static final class Revoke implements Callable<Integer> {
    @ParentCommand AdminCommand admin;

    @picocli.CommandLine.Parameters(index = "0", paramLabel = "USER", description = "The user id (the tokens' sub).")
    String user;

    @Override
    public Integer call() throws Exception {
      return admin.call("POST", "/parley/revoke", Frames.write(Frames.JSON.createObjectNode().put("user", user)));
    }
  }

  int call(String method, String path) throws Exception {
    return call(method, path, null);
  }

  int call(String method, String path, String jsonBody) throws Exception {
    if (token == null || token.isBlank()) {
      System.err.println("no admin token: pass --token or set PARLEY_ADMIN_TOKEN");
      return 2;
    }
    HttpRequest request =
        HttpRequest.newBuilder(management.resolve(path))
            .timeout(Duration.ofSeconds(10))
            .header("Authorization", "Bearer " + token)
            .header("Content-Type", "application/json")
            .method(
                method,
                jsonBody == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(jsonBody))
            .build();
    HttpResponse<String> response;
    try {
      response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
    } catch (java.io.IOException e) {
      System.err.println("cannot reach " + management + ": " + e.getMessage());
      return 3;
    }
    JsonNode body = Frames.JSON.readTree(response.body());
    if (json) {
      System.out.println(Frames.write(body));
    } else {
      print("", body);
    }
    return response.statusCode() / 100 == 2 ? 0 : 1;
  }

  private static void print(String prefix, JsonNode node) {
    for (Iterator<Map.Entry<String, JsonNode>> fields = node.fields(); fields.hasNext(); ) {
      Map.Entry<String, JsonNode> field = fields.next();
      if (field.getValue().isObject()) print(prefix + field.getKey() + ".", field.getValue());
      else System.out.println(prefix + field.getKey() + ": " + field.getValue().asText());
    }
  }
}
