package dev.parley;

import com.typesafe.config.Config;
import dev.parley.auth.TokenSettings;
import dev.parley.cluster.AdmissionControl;
import dev.parley.cluster.Drain;
import dev.parley.conversation.RecoveryWarmUp;
import dev.parley.gateway.ServerTls;
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
    Db db,
    Cluster cluster,
    Drain.Settings drain,
    Admission admission,
    ConversationSettings conversation,
    GatewaySettings gateway,
    InboxSettings inbox,
    TokenSettings jwt,
    Limits limits,
    StorageBreaker.Settings storageBreaker,
    ServerTls.Settings tls,
    BotRunnerSettings botRunner,
    RecoveryWarmUp.Settings warmUp) {

  /** {@code allowedOrigins}: browser origins, besides the node's own, that may open websockets. */
  public record Http(String host, int port, List<String> allowedOrigins) {}

  public record Db(
      String url, String user, String password, int poolSize, Duration connectionTimeout, String planCacheMode) {}

  public record Cluster(String host, int port, List<String> seedNodes, boolean bootstrap) {}

  /** Admission control of new connections and of replays (dev.parley.cluster.AdmissionControl). */
  public record Admission(AdmissionControl.Settings connections, AdmissionControl.Settings resumes) {}

  public record ConversationSettings(
      int recentWindow,
      int idempotencyWindow,
      int snapshotEvery,
      Duration idleTimeout,
      Duration askTimeout,
      Duration resendAfter,
      int maxSendsInFlight) {
    /** Without a cap on sends in flight (tests of the entity alone). */
    public ConversationSettings(
        int recentWindow, int idempotencyWindow, int snapshotEvery, Duration idleTimeout, Duration askTimeout, Duration resendAfter) {
      this(recentWindow, idempotencyWindow, snapshotEvery, idleTimeout, askTimeout, resendAfter, 0);
    }

    public ConversationSettings {
      require(maxSendsInFlight >= 0, "parley.conversation.max-sends-in-flight must not be negative");
      require(recentWindow >= 1, "parley.conversation.recent-window must be at least 1");
      require(!resendAfter.isNegative(), "parley.conversation.resend-after must not be negative");
      require(idempotencyWindow >= 1, "parley.conversation.idempotency-window must be at least 1");
      require(snapshotEvery >= 1, "parley.conversation.snapshot-every must be at least 1");
    }
  }

  public record GatewaySettings(
      int maxFrameBytes,
      int maxTextLength,
      int outboundBuffer,
      int maxInFlight,
      int maxReplay,
      int historyMaxLimit,
      Duration resubscribeSpread) {
    public GatewaySettings {
      require(maxFrameBytes >= 256, "parley.gateway.max-frame-bytes must be at least 256");
      require(maxTextLength >= 1, "parley.gateway.max-text-length must be at least 1");
      require(outboundBuffer >= 8, "parley.gateway.outbound-buffer must be at least 8");
      require(maxInFlight >= 1, "parley.gateway.max-in-flight must be at least 1");
      require(historyMaxLimit >= 1, "parley.gateway.history-max-limit must be at least 1");
    }
  }

  /**
   * The inbox read model: its own connection pool, page size bound, and how its projection batches
   * journal events and backs off after a failure.
   */
  public record InboxSettings(
      int poolSize, int maxPage, int batchSize, Duration batchWindow, Duration minBackoff, Duration maxBackoff) {
    public InboxSettings {
      require(poolSize >= 1, "parley.inbox.pool-size must be at least 1");
      require(maxPage >= 1, "parley.inbox.max-page must be at least 1");
      require(batchSize >= 1, "parley.inbox.projection.batch-size must be at least 1");
    }
  }

  /**
   * Abuse limits ({@code parley.limits}): per connection, and per user <em>per node</em> (a user
   * connected to three nodes may hold three times the per-user allowance). A rate of 0 switches a
   * bucket off; a count of 0 means no limit.
   */
  public record Limits(
      double sendsPerSecond,
      int sendsBurst,
      double typingPerSecond,
      int typingBurst,
      int subscriptionsPerConnection,
      int connectionsPerUser,
      double conversationsCreatedPerMinute,
      int conversationsCreatedBurst) {
    public Limits {
      require(sendsPerSecond >= 0 && typingPerSecond >= 0 && conversationsCreatedPerMinute >= 0, "parley.limits rates must not be negative");
      require(sendsBurst >= 1 && typingBurst >= 1 && conversationsCreatedBurst >= 1, "parley.limits bursts must be at least 1");
      require(subscriptionsPerConnection >= 0 && connectionsPerUser >= 0, "parley.limits counts must not be negative");
    }

    /** No limits at all (tests of other features, and the bench's own connections). */
    public static Limits none() {
      return new Limits(0, 1, 0, 1, 0, 0, 0, 1);
    }
  }

  /**
   * How bots are driven (dev.parley.bot): defaults every registered bot may override in its own
   * block of {@code parley.bots}, and the bot projection's batching.
   */
  public record BotRunnerSettings(
      int poolSize,
      int threadsPerBot,
      Duration processingTimeout,
      Duration minBackoff,
      Duration maxBackoff,
      int maxAttempts,
      double repliesPerSecond,
      int repliesBurst,
      int chunk,
      Duration idleTimeout,
      Duration sweepInterval,
      int maxReplyLength,
      int batchSize,
      Duration batchWindow) {
    public BotRunnerSettings {
      require(poolSize >= 1, "parley.bot-runner.pool-size must be at least 1");
      require(threadsPerBot >= 1, "parley.bot-runner.threads-per-bot must be at least 1");
      require(maxAttempts >= 1, "parley.bot-runner.max-attempts must be at least 1");
      require(repliesPerSecond > 0, "parley.bot-runner.replies-per-second must be positive");
      require(repliesBurst >= 1, "parley.bot-runner.replies-burst must be at least 1");
      require(chunk >= 1, "parley.bot-runner.chunk must be at least 1");
      require(batchSize >= 1, "parley.bot-runner.projection.batch-size must be at least 1");
    }
  }

  public static ParleyConfig from(Config root) {
    Config c = root.getConfig("parley");
    return new ParleyConfig(
        new Http(
            c.getString("http.interface"),
            c.getInt("http.port"),
            Arrays.stream(c.getString("http.allowed-origins").split(","))
                .map(String::trim)
                .filter(o -> !o.isEmpty())
                .toList()),
        c.getString("jwt.secret"),
        Path.of(c.getString("data-dir")),
        new Db(
            c.getString("db.url"),
            c.getString("db.user"),
            c.getString("db.password"),
            c.getInt("db.pool-size"),
            c.getDuration("db.connection-timeout"),
            c.getString("db.plan-cache-mode")),
        new Cluster(
            c.getString("cluster.host"),
            c.getInt("cluster.port"),
            Arrays.stream(c.getString("cluster.seed-nodes").split(","))
                .map(String::trim)
                .filter(s -> !s.isEmpty())
                .toList(),
            c.getBoolean("cluster.bootstrap")),
        new Drain.Settings(
            c.getDuration("drain.readiness-delay"),
            c.getDuration("drain.window"),
            c.getDuration("drain.handover"),
            c.getDuration("drain.coordinator-grace"),
            c.getBoolean("drain.move-shards-early")),
        new Admission(
            new AdmissionControl.Settings(
                c.getDouble("admission.connections-per-second"), c.getLong("admission.connections-burst")),
            new AdmissionControl.Settings(
                c.getDouble("admission.resumes-per-second"), c.getLong("admission.resumes-burst"))),
        new ConversationSettings(
            c.getInt("conversation.recent-window"),
            c.getInt("conversation.idempotency-window"),
            c.getInt("conversation.snapshot-every"),
            c.getDuration("conversation.idle-timeout"),
            c.getDuration("conversation.ask-timeout"),
            c.getDuration("conversation.resend-after"),
            c.getInt("conversation.max-sends-in-flight")),
        new GatewaySettings(
            c.getInt("gateway.max-frame-bytes"),
            c.getInt("gateway.max-text-length"),
            c.getInt("gateway.outbound-buffer"),
            c.getInt("gateway.max-in-flight"),
            c.getInt("gateway.max-replay"),
            c.getInt("gateway.history-max-limit"),
            c.getDuration("gateway.resubscribe-spread")),
        new InboxSettings(
            c.getInt("inbox.pool-size"),
            c.getInt("inbox.max-page"),
            c.getInt("inbox.projection.batch-size"),
            c.getDuration("inbox.projection.batch-window"),
            c.getDuration("inbox.projection.min-backoff"),
            c.getDuration("inbox.projection.max-backoff")),
        new TokenSettings(
            TokenSettings.algorithm(c.getString("jwt.algorithm")),
            c.getString("jwt.secret"),
            optional(c.getString("jwt.public-key-file")).map(Path::of),
            optional(c.getString("jwt.jwks-url")).map(URI::create),
            c.getDuration("jwt.jwks-refresh"),
            c.getDuration("jwt.jwks-min-refresh-interval"),
            c.getDuration("jwt.clock-skew"),
            optional(c.getString("jwt.audience")),
            optional(c.getString("jwt.issuer"))),
        new Limits(
            c.getDouble("limits.sends-per-second"),
            c.getInt("limits.sends-burst"),
            c.getDouble("limits.typing-per-second"),
            c.getInt("limits.typing-burst"),
            c.getInt("limits.subscriptions-per-connection"),
            c.getInt("limits.connections-per-user"),
            c.getDouble("limits.conversations-created-per-minute"),
            c.getInt("limits.conversations-created-burst")),
        new StorageBreaker.Settings(
            c.getInt("storage-breaker.max-failures"),
            c.getDuration("storage-breaker.probe-interval")),
        new ServerTls.Settings(optional(c.getString("http.tls.key-store")).map(Path::of), c.getString("http.tls.key-store-password")),
        new BotRunnerSettings(
            c.getInt("bot-runner.pool-size"),
            c.getInt("bot-runner.threads-per-bot"),
            c.getDuration("bot-runner.processing-timeout"),
            c.getDuration("bot-runner.min-backoff"),
            c.getDuration("bot-runner.max-backoff"),
            c.getInt("bot-runner.max-attempts"),
            c.getDouble("bot-runner.replies-per-second"),
            c.getInt("bot-runner.replies-burst"),
            c.getInt("bot-runner.chunk"),
            c.getDuration("bot-runner.idle-timeout"),
            c.getDuration("bot-runner.sweep-interval"),
            c.getInt("gateway.max-text-length"),
            c.getInt("bot-runner.projection.batch-size"),
            c.getDuration("bot-runner.projection.batch-window")),
        new RecoveryWarmUp.Settings(
            c.getInt("warm-up.conversations"),
            c.getInt("warm-up.parallelism"),
            c.getInt("warm-up.per-second"),
            c.getDuration("warm-up.timeout")));
  }

  private static Optional<String> optional(String value) {
    return value == null || value.isBlank() ? Optional.empty() : Optional.of(value.trim());
  }

  private static void require(boolean condition, String message) {
    if (!condition) throw new IllegalArgumentException(message);
  }
}
