package dev.parley;

import com.typesafe.config.Config;
import dev.parley.auth.TokenSettings;
import dev.parley.bot.BotRunnerSettings;
import dev.parley.cluster.AdmissionControl;
import dev.parley.cluster.Drain;
import dev.parley.cluster.RebalancePlan;
import dev.parley.conversation.ConversationSettings;
import dev.parley.conversation.RecoveryWarmUp;
import dev.parley.gateway.AbuseLimits;
import dev.parley.gateway.GatewaySettings;
import dev.parley.gateway.IdleConnections;
import dev.parley.gateway.ServerTls;
import dev.parley.gateway.Session;
import dev.parley.inbox.InboxSettings;
import dev.parley.storage.DbSettings;
import dev.parley.storage.StorageBreaker;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * A typed, validated view of the {@code parley} section of the configuration, read once at
 * start-up and passed down. Nothing below this class reads raw configuration keys.
 */
public record ParleyConfig(
    Http http,
    String jwtSecret,
    Path dataDir,
    DbSettings db,
    Cluster cluster,
    Drain.Settings drain,
    Admission admission,
    ConversationSettings conversation,
    GatewaySettings gateway,
    InboxSettings inbox,
    TokenSettings jwt,
    AbuseLimits limits,
    StorageBreaker.Settings storageBreaker,
    ServerTls.Settings tls,
    BotRunnerSettings botRunner,
    RecoveryWarmUp.Settings warmUp,
    Rebalance rebalance) {

  /** What each websocket session takes of these settings. */
  public Session.Settings sessions() {
    return new Session.Settings(gateway, conversation.askTimeout(), inbox.maxPage(), storageBreaker.resumeSpread());
  }

  /** Connection rebalancing (operations.md): the plan's rules and how often a node's count goes out. */
  public record Rebalance(RebalancePlan.Settings plan, Duration publishInterval) {}

  /**
   * {@code allowedOrigins}: browser origins, besides the node's own, that may open websockets.
   * {@code pekkoIoTcp}: plain-text connections through Pekko IO's TCP instead of Parley's own selector.
   */
  public record Http(String host, int port, List<String> allowedOrigins, boolean pekkoIoTcp) {}

  public record Cluster(String host, int port, List<String> seedNodes, boolean bootstrap) {}

  /** Admission control of new connections and of replays (dev.parley.cluster.AdmissionControl). */
  public record Admission(AdmissionControl.Settings connections, AdmissionControl.Settings resumes) {}

  /**
   * Reads and validates the whole {@code parley} section before anything starts. Every problem
   * becomes one line naming the key, its environment variable, the bad value and what is allowed;
   * all of them are thrown together as {@link ConfigReader.Invalid} ({@code parley server} prints
   * them and exits with status 2).
   */
  public static ParleyConfig from(Config root) {
    ConfigReader c = new ConfigReader(root.getConfig("parley"));
    checkTogether(c);
    ParleyConfig settings;
    try {
      settings = read(c);
    } catch (IllegalArgumentException e) {
      // A settings record's own check; after a problem found above it may only echo a placeholder.
      if (c.valid()) c.problem(e.getMessage());
      c.throwIfInvalid();
      throw e;
    }
    c.throwIfInvalid();
    return settings;
  }

  /** Rules that involve more than one key, or a key's form rather than its type. */
  private static void checkTogether(ConfigReader c) {
    String url = c.string("db.url");
    c.check(
        url.isBlank() || url.startsWith("jdbc:postgresql:") || url.startsWith("jdbc:h2:"),
        "db.url",
        "must be empty (embedded H2 under data-dir), a jdbc:postgresql: or a jdbc:h2: URL");
    String algorithm = c.string("jwt.algorithm").trim().toUpperCase(java.util.Locale.ROOT);
    c.check(List.of("HS256", "RS256", "ES256").contains(algorithm), "jwt.algorithm", "must be one of HS256, RS256, ES256");
    if (!algorithm.equals("HS256")) return;
    String secret = c.string("jwt.secret");
    boolean developmentSecret = dev.parley.auth.Tokens.usesDevelopmentSecret(secret);
    c.check(
        developmentSecret || secret.getBytes(java.nio.charset.StandardCharsets.UTF_8).length >= 32,
        "jwt.secret",
        "must be at least 32 bytes (e.g. openssl rand -base64 48), or empty for the public development secret");
    String host = c.string("http.interface");
    // The development secret is public: anyone who can reach the node can sign a token for any
    // user. So it is only ever served on loopback (security.md, "Development defaults").
    c.check(
        !developmentSecret || isLoopback(host),
        "http.interface",
        "must be a loopback address (127.0.0.1, localhost, ::1) while parley.jwt.secret (PARLEY_JWT_SECRET) is empty:"
            + " the development secret is public; set PARLEY_JWT_SECRET to listen on other interfaces");
  }

  /** Loopback by its literal form: 127.0.0.0/8, ::1 or localhost (no name lookup at start-up). */
  public static boolean isLoopback(String host) {
    String h = host.trim();
    return h.equals("localhost") || h.startsWith("127.") || h.equals("::1") || h.equals("[::1]");
  }

  private static ParleyConfig read(ConfigReader c) {
    return new ParleyConfig(
        new Http(
            c.string("http.interface"),
            c.integer("http.port", 0, 65535),
            Arrays.stream(c.string("http.allowed-origins").split(","))
                .map(String::trim)
                .filter(o -> !o.isEmpty())
                .toList(),
            c.flag("http.pekko-io-tcp")),
        c.string("jwt.secret"),
        Path.of(c.string("data-dir")),
        new DbSettings(
            c.string("db.url"),
            c.string("db.user"),
            c.string("db.password"),
            c.integer("db.pool-size", 1, Integer.MAX_VALUE),
            c.duration("db.connection-timeout"),
            c.string("db.plan-cache-mode")),
        new Cluster(
            c.string("cluster.host"),
            c.integer("cluster.port", 0, 65535),
            Arrays.stream(c.string("cluster.seed-nodes").split(","))
                .map(String::trim)
                .filter(s -> !s.isEmpty())
                .toList(),
            c.flag("cluster.bootstrap")),
        new Drain.Settings(
            c.duration("drain.readiness-delay"),
            c.duration("drain.window"),
            c.duration("drain.handover"),
            c.duration("drain.coordinator-grace"),
            c.flag("drain.move-shards-early"),
            c.duration("drain.max-window"),
            c.number("drain.handover-rate", 0, true)),
        new Admission(
            new AdmissionControl.Settings(
                c.number("admission.connections-per-second", 0, true), c.longAtLeast("admission.connections-burst", 1)),
            new AdmissionControl.Settings(
                c.number("admission.resumes-per-second", 0, true), c.longAtLeast("admission.resumes-burst", 1))),
        new ConversationSettings(
            c.integer("conversation.recent-window", 1, Integer.MAX_VALUE),
            c.integer("conversation.idempotency-window", 1, Integer.MAX_VALUE),
            c.integer("conversation.snapshot-every", 1, Integer.MAX_VALUE),
            c.duration("conversation.idle-timeout"),
            c.duration("conversation.ask-timeout"),
            c.duration("conversation.resend-after"),
            c.duration("conversation.resend-max-interval"),
            c.integer("conversation.max-sends-in-flight", 0, Integer.MAX_VALUE),
            c.duration("conversation.max-send-wait")),
        new GatewaySettings(
            c.integer("gateway.max-frame-bytes", 256, Integer.MAX_VALUE),
            c.integer("gateway.max-text-length", 1, Integer.MAX_VALUE),
            c.integer("gateway.outbound-buffer", 8, Integer.MAX_VALUE),
            c.integer("gateway.max-in-flight", 1, Integer.MAX_VALUE),
            c.integer("gateway.max-replay", 0, Integer.MAX_VALUE),
            c.integer("gateway.history-max-limit", 1, Integer.MAX_VALUE),
            c.duration("gateway.resubscribe-spread"),
            new IdleConnections.Settings(c.duration("gateway.idle-timeout"), c.duration("gateway.idle-sweep-interval")),
            c.duration("gateway.request-body-timeout")),
        new InboxSettings(
            c.integer("inbox.pool-size", 1, Integer.MAX_VALUE),
            c.integer("inbox.max-page", 1, Integer.MAX_VALUE),
            c.integer("inbox.projection.batch-size", 1, Integer.MAX_VALUE),
            c.duration("inbox.projection.batch-window"),
            c.duration("inbox.projection.min-backoff"),
            c.duration("inbox.projection.max-backoff")),
        new TokenSettings(
            TokenSettings.algorithm(c.string("jwt.algorithm")),
            c.string("jwt.secret"),
            optional(c.string("jwt.public-key-file")).map(Path::of),
            optional(c.string("jwt.jwks-url")).map(URI::create),
            c.duration("jwt.jwks-refresh"),
            c.duration("jwt.jwks-min-refresh-interval"),
            c.duration("jwt.clock-skew"),
            optional(c.string("jwt.audience")),
            optional(c.string("jwt.issuer"))),
        new AbuseLimits(
            c.number("limits.sends-per-second", 0, true),
            c.integer("limits.sends-burst", 1, Integer.MAX_VALUE),
            c.number("limits.typing-per-second", 0, true),
            c.integer("limits.typing-burst", 1, Integer.MAX_VALUE),
            c.integer("limits.subscriptions-per-connection", 0, Integer.MAX_VALUE),
            c.integer("limits.connections-per-user", 0, Integer.MAX_VALUE),
            c.number("limits.conversations-created-per-minute", 0, true),
            c.integer("limits.conversations-created-burst", 1, Integer.MAX_VALUE)),
        new StorageBreaker.Settings(
            c.integer("storage-breaker.max-failures", 0, Integer.MAX_VALUE),
            c.duration("storage-breaker.probe-interval"),
            c.duration("storage-breaker.resume-spread")),
        new ServerTls.Settings(optional(c.string("http.tls.key-store")).map(Path::of), c.string("http.tls.key-store-password")),
        new BotRunnerSettings(
            c.integer("bot-runner.pool-size", 1, Integer.MAX_VALUE),
            c.integer("bot-runner.threads-per-bot", 1, Integer.MAX_VALUE),
            c.duration("bot-runner.processing-timeout"),
            c.duration("bot-runner.min-backoff"),
            c.duration("bot-runner.max-backoff"),
            c.integer("bot-runner.max-attempts", 1, Integer.MAX_VALUE),
            c.number("bot-runner.replies-per-second", 0, false),
            c.integer("bot-runner.replies-burst", 1, Integer.MAX_VALUE),
            c.number("bot-runner.conversation-replies-per-second", 0, false),
            c.integer("bot-runner.conversation-replies-burst", 1, Integer.MAX_VALUE),
            c.integer("bot-runner.chunk", 1, Integer.MAX_VALUE),
            c.duration("bot-runner.idle-timeout"),
            c.duration("bot-runner.sweep-interval"),
            c.integer("gateway.max-text-length", 1, Integer.MAX_VALUE),
            c.integer("bot-runner.projection.batch-size", 1, Integer.MAX_VALUE),
            c.duration("bot-runner.projection.batch-window"),
            c.duration("bot-runner.projection.keep-alive-interval"),
            c.duration("bot-runner.handoff-rewake")),
        new RecoveryWarmUp.Settings(
            c.integer("warm-up.conversations", 0, Integer.MAX_VALUE),
            c.integer("warm-up.parallelism", 1, Integer.MAX_VALUE),
            c.integer("warm-up.per-second", 0, Integer.MAX_VALUE),
            c.duration("warm-up.timeout")),
        new Rebalance(
            new RebalancePlan.Settings(
                c.flag("rebalance.enabled"),
                c.duration("rebalance.interval"),
                c.number("rebalance.margin", 0, true),
                c.integer("rebalance.min-excess", 1, Integer.MAX_VALUE),
                c.number("rebalance.moves-per-second", 0, false),
                c.duration("rebalance.min-connection-age"),
                c.duration("rebalance.handover"),
                c.duration("rebalance.settle-after-member-left"),
                c.flag("rebalance.steer-new-connections")),
            c.duration("rebalance.publish-interval")));
  }

  private static Optional<String> optional(String value) {
    return value == null || value.isBlank() ? Optional.empty() : Optional.of(value.trim());
  }

  private static void require(boolean condition, String message) {
    if (!condition) throw new IllegalArgumentException(message);
  }
}
