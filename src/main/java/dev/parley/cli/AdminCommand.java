package dev.parley.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.gateway.Frames;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * {@code parley admin}: operator commands against a node's management port (the routes of {@link
 * dev.parley.cluster.AdminRoutes} and {@link dev.parley.ops.ClusterAdminRoutes}), authenticated
 * with the admin token. Any node answers for the whole cluster; {@code --json} prints the node's
 * JSON answer as it is, for scripts.
 */
@Command(
    name = "admin",
    mixinStandardHelpOptions = true,
    description = "Operate a running cluster through a node's management port.",
    subcommands = {
      AdminCommand.Status.class,
      AdminCommand.Members.class,
      AdminCommand.Shards.class,
      AdminCommand.Connections.class,
      AdminCommand.Drain.class,
      AdminCommand.Leave.class,
      AdminCommand.Down.class,
      AdminCommand.Revoke.class
    })
public final class AdminCommand {

  @Option(
      names = "--management",
      defaultValue = "http://127.0.0.1:8558",
      scope = ScopeType.INHERIT,
      description = "A node's Pekko Management address (default: ${DEFAULT-VALUE}).")
  URI management;

  @Option(
      names = "--token",
      defaultValue = "${env:PARLEY_ADMIN_TOKEN}",
      scope = ScopeType.INHERIT,
      description = "Admin token (default: PARLEY_ADMIN_TOKEN).")
  String token;

  @Option(names = "--json", scope = ScopeType.INHERIT, description = "Print the node's JSON answer as it is.")
  boolean json;

  @Spec CommandSpec spec;

  @Command(name = "status", mixinStandardHelpOptions = true, description = "Show the node's address, version, connections and admission counters.")
  static final class Status implements Callable<Integer> {
    @ParentCommand AdminCommand admin;

    @Override
    public Integer call() throws Exception {
      return admin.call("GET", "/parley/status", AdminCommand::printFields);
    }
  }

  @Command(name = "members", mixinStandardHelpOptions = true, description = "List the cluster's members: status, reachability, app-version, roles.")
  static final class Members implements Callable<Integer> {
    @ParentCommand AdminCommand admin;

    @Override
    public Integer call() throws Exception {
      return admin.call(
          "GET",
          "/parley/members",
          (out, body) -> {
            List<List<String>> rows = new ArrayList<>();
            rows.add(List.of("ADDRESS", "STATUS", "REACHABLE", "APP-VERSION", "ROLES"));
            for (JsonNode m : body.path("members")) {
              List<String> roles = new ArrayList<>();
              m.path("roles").forEach(r -> roles.add(r.asText()));
              String address = m.path("address").asText();
              if (address.equals(body.path("leader").asText())) address += " (leader)";
              rows.add(
                  List.of(
                      address,
                      m.path("status").asText(),
                      m.path("reachable").asBoolean() ? "yes" : "NO",
                      m.path("appVersion").asText(),
                      roles.isEmpty() ? "-" : String.join(",", roles)));
            }
            table(out, rows);
          });
    }
  }

  @Command(name = "shards", mixinStandardHelpOptions = true, description = "Conversation shards and live conversations per node.")
  static final class Shards implements Callable<Integer> {
    @ParentCommand AdminCommand admin;

    @Override
    public Integer call() throws Exception {
      return admin.call(
          "GET",
          "/parley/shards",
          (out, body) -> {
            List<List<String>> rows = new ArrayList<>();
            rows.add(List.of("ADDRESS", "SHARDS", "ENTITIES"));
            for (JsonNode n : body.path("nodes")) {
              rows.add(List.of(n.path("address").asText(), n.path("shards").asText(), n.path("entities").asText()));
            }
            rows.add(List.of("total", body.path("shards").asText(), body.path("entities").asText()));
            table(out, rows);
          });
    }
  }

  @Command(name = "connections", mixinStandardHelpOptions = true, description = "Open client connections per node.")
  static final class Connections implements Callable<Integer> {
    @ParentCommand AdminCommand admin;

    @Override
    public Integer call() throws Exception {
      return admin.call(
          "GET",
          "/parley/connections",
          (out, body) -> {
            List<List<String>> rows = new ArrayList<>();
            rows.add(List.of("ADDRESS", "CONNECTIONS", "DRAINING"));
            for (JsonNode n : body.path("nodes")) {
              rows.add(
                  List.of(n.path("address").asText(), n.path("connections").asText(), n.path("draining").asBoolean() ? "yes" : "no"));
            }
            rows.add(List.of("total", body.path("connections").asText(), ""));
            table(out, rows);
          });
    }
  }

  @Command(
      name = "drain",
      mixinStandardHelpOptions = true,
      description = "Make a node leave as on SIGTERM: drain its clients, hand off its shards, exit. Without NODE: the node asked.")
  static final class Drain implements Callable<Integer> {
    @ParentCommand AdminCommand admin;

    @Parameters(arity = "0..1", paramLabel = "NODE", description = "Member address (pekko://parley@host:port) or host:port.")
    String node;

    @Override
    public Integer call() throws Exception {
      if (node == null) return admin.call("POST", "/parley/drain", AdminCommand::printFields);
      return admin.call("POST", "/parley/nodes/drain?node=" + encode(node), AdminCommand::printFields);
    }
  }

  @Command(name = "leave", mixinStandardHelpOptions = true, description = "Make a node leave the cluster (it drains its clients and exits).")
  static final class Leave implements Callable<Integer> {
    @ParentCommand AdminCommand admin;

    @Parameters(paramLabel = "NODE", description = "Member address (pekko://parley@host:port) or host:port.")
    String node;

    @Override
    public Integer call() throws Exception {
      return admin.call("POST", "/parley/nodes/leave?node=" + encode(node), AdminCommand::printFields);
    }
  }

  @Command(
      name = "down",
      mixinStandardHelpOptions = true,
      description = "Mark a node down: only for a node that is gone (crashed, partitioned away); a live node should leave.")
  static final class Down implements Callable<Integer> {
    @ParentCommand AdminCommand admin;

    @Parameters(paramLabel = "NODE", description = "Member address (pekko://parley@host:port) or host:port.")
    String node;

    @Override
    public Integer call() throws Exception {
      return admin.call("POST", "/parley/nodes/down?node=" + encode(node), AdminCommand::printFields);
    }
  }

  @Command(
      name = "revoke",
      mixinStandardHelpOptions = true,
      description = "Revoke every token of a user issued until now, on every node: open connections close, new ones get 401.")
  static final class Revoke implements Callable<Integer> {
    @ParentCommand AdminCommand admin;

    @Parameters(index = "0", paramLabel = "USER", description = "The user id (the tokens' sub).")
    String user;

    @Override
    public Integer call() throws Exception {
      return admin.call(
          "POST", "/parley/revoke", Frames.write(Frames.JSON.createObjectNode().put("user", user)), AdminCommand::printFields);
    }
  }

  /** How a subcommand prints a successful answer for people. */
  interface Printer {
    void print(PrintWriter out, JsonNode body);
  }

  int call(String method, String path, Printer printer) throws Exception {
    return call(method, path, null, printer);
  }

  int call(String method, String path, String jsonBody, Printer printer) throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (token == null || token.isBlank()) {
      err.println("no admin token: pass --token or set PARLEY_ADMIN_TOKEN");
      err.flush();
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
      // A refused connection's exception has no message: say what it means and what to check.
      String why = e instanceof java.net.ConnectException ? "connection refused" : String.valueOf(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
      err.println(
          "cannot reach the node's management port at " + management + " (" + why + "): is the node running,"
              + " and is --management (default http://127.0.0.1:8558, PARLEY_MANAGEMENT_PORT on the node) right?");
      err.flush();
      return 3;
    }
    JsonNode body = Frames.JSON.readTree(response.body());
    boolean ok = response.statusCode() / 100 == 2;
    if (json) {
      out.println(Frames.write(body));
    } else if (ok) {
      printer.print(out, body);
    } else {
      err.println(response.statusCode() + " " + body.path("code").asText() + ": " + body.path("message").asText());
    }
    out.flush();
    err.flush();
    return ok ? 0 : 1;
  }

  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  private static void printFields(PrintWriter out, JsonNode body) {
    printFields(out, "", body);
  }

  private static void printFields(PrintWriter out, String prefix, JsonNode node) {
    for (Iterator<Map.Entry<String, JsonNode>> fields = node.fields(); fields.hasNext(); ) {
      Map.Entry<String, JsonNode> field = fields.next();
      if (field.getValue().isObject()) printFields(out, prefix + field.getKey() + ".", field.getValue());
      else out.println(prefix + field.getKey() + ": " + field.getValue().asText());
    }
  }

  /** Left-aligned columns, two spaces apart, the first row a header. */
  private static void table(PrintWriter out, List<List<String>> rows) {
    int[] widths = new int[rows.get(0).size()];
    for (List<String> row : rows) {
      for (int i = 0; i < row.size(); i++) widths[i] = Math.max(widths[i], row.get(i).length());
    }
    for (List<String> row : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < row.size(); i++) {
        line.append(row.get(i));
        if (i < row.size() - 1) line.append(" ".repeat(widths[i] - row.get(i).length() + 2));
      }
      out.println(line.toString().stripTrailing());
    }
  }
}
