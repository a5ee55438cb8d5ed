package dev.parley.bot;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueType;
import dev.parley.cluster.DrainAwareAllocationStrategy;
import dev.parley.conversation.Conversations;
import dev.parley.conversation.PersistedEvents;
import dev.parley.storage.Storage;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.typed.Cluster;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bots registered in configuration ({@code parley.bots.<name>}), read once at start-up, and the
 * wiring of everything that drives them: the runner entity, the projection, the sweeper. Every
 * node must register the same bots (the projection of a tag runs on any node).
 */
public final class Bots {

  private static final Logger log = LoggerFactory.getLogger(Bots.class);

  public static final String USER_PREFIX = "bot:";
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");

  /**
   * One registered bot and what contains it: its own threads (a bot that hangs blocks only them),
   * its processing timeout and retry bound, its cluster-wide reply budget (this node's share) and
   * its reply rate limit per conversation.
   */
  public record Registered(
      String name,
      boolean enabled,
      Bot bot,
      Duration processingTimeout,
      int maxAttempts,
      Duration minBackoff,
      Duration maxBackoff,
      ReplyBudget replies,
      double conversationRepliesPerSecond,
      int conversationRepliesBurst,
      ExecutorService executor) {
    public String user() {
      return USER_PREFIX + name;
    }
  }

  private final Map<String, Registered> registered;
  private final BotStore store;
  private final ClusterSharding sharding;
  private final Cluster cluster;
  private final CoordinatedShutdown shutdown;

  private Bots(Map<String, Registered> registered, BotStore store, ActorSystem<?> system) {
    this.registered = registered;
    this.store = store;
    this.sharding = ClusterSharding.get(system);
    this.cluster = Cluster.get(system);
    this.shutdown = CoordinatedShutdown.get(system);
  }

  /** Registers the bots of {@code botsConfig} and starts driving the enabled ones on this node. */
  public static Bots start(
      ActorSystem<?> system,
      Config botsConfig,
      BotRunnerSettings settings,
      Storage storage,
      Duration connectionTimeout,
      Conversations conversations) {
    Map<String, Registered> registered = new LinkedHashMap<>();
    for (String name : botsConfig.root().keySet()) {
      if (botsConfig.root().get(name).valueType() != ConfigValueType.OBJECT) continue;
      registered.put(name, register(name, botsConfig.getConfig(name), settings));
    }
    BotStore store = BotStore.open(storage, settings.poolSize(), connectionTimeout);
    system.getWhenTerminated().thenRun(() -> {
      registered.values().forEach(r -> r.executor().shutdownNow());
      store.close();
    });
    Bots bots = new Bots(Map.copyOf(registered), store, system);
    ClusterSharding sharding = bots.sharding;
    var blocking = system.dispatchers().lookup(DispatcherSelector.fromConfig("parley.bot-runner.dispatcher"));
    sharding.init(
        Entity.of(
            BotRunner.ENTITY_TYPE_KEY,
            entity -> BotRunner.create(entity.getEntityId(), bots, store, blocking, conversations, settings, entity.getShard()))
            .withStopMessage(BotRunner.HandOff.INSTANCE)
            .withAllocationStrategy(DrainAwareAllocationStrategy.create(system, BotRunner.ENTITY_TYPE_KEY.name())));
    ReplyBudget.watchMembers(system, nodes -> registered.values().forEach(r -> r.replies().sharedBy(nodes)));
    PersistedEvents.get(system).listen(new BotWakeUps(bots));
    BotProjection.init(system, store, blocking, bots, settings);
    BotSweeper.init(system, store, blocking, bots, settings.sweepInterval());
    log.info("bots registered: {} (enabled: {})", registered.keySet(), bots.enabledNames());
    return bots;
  }

  private static Registered register(String name, Config c, BotRunnerSettings defaults) {
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("parley.bots." + name + ": a bot name is lowercase letters, digits, - and _");
    }
    String type = c.getString("type");
    Bot bot =
        switch (type) {
          case "echo" -> new EchoBot();
          case "first-response" -> FirstResponseBot.fromConfig(c);
          case "webhook" -> WebhookBot.fromConfig(name, c);
          case "class" -> instantiate(name, c.getString("class"));
          default -> throw new IllegalArgumentException(
              "parley.bots." + name + ".type must be echo, first-response, webhook or class, not " + type);
        };
    double perSecond = c.hasPath("replies-per-second") ? c.getDouble("replies-per-second") : defaults.repliesPerSecond();
    long burst = c.hasPath("replies-burst") ? c.getLong("replies-burst") : defaults.repliesBurst();
    ReplyBudget replies = new ReplyBudget(perSecond, burst);
    int threads = c.hasPath("threads") ? c.getInt("threads") : defaults.threadsPerBot();
    AtomicInteger counter = new AtomicInteger();
    ExecutorService executor =
        Executors.newFixedThreadPool(
            threads,
            runnable -> {
              Thread t = new Thread(runnable, "parley-bot-" + name + "-" + counter.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    return new Registered(
        name,
        c.hasPath("enabled") && c.getBoolean("enabled"),
        bot,
        c.hasPath("processing-timeout") ? c.getDuration("processing-timeout") : defaults.processingTimeout(),
        c.hasPath("max-attempts") ? c.getInt("max-attempts") : defaults.maxAttempts(),
        c.hasPath("min-backoff") ? c.getDuration("min-backoff") : defaults.minBackoff(),
        c.hasPath("max-backoff") ? c.getDuration("max-backoff") : defaults.maxBackoff(),
        replies,
        c.hasPath("conversation-replies-per-second")
            ? c.getDouble("conversation-replies-per-second")
            : defaults.conversationRepliesPerSecond(),
        c.hasPath("conversation-replies-burst") ? c.getInt("conversation-replies-burst") : defaults.conversationRepliesBurst(),
        executor);
  }

  private static Bot instantiate(String name, String className) {
    try {
      return (Bot) Class.forName(className).getDeclaredConstructor().newInstance();
    } catch (ReflectiveOperationException | ClassCastException e) {
      throw new IllegalArgumentException(
          "parley.bots." + name + ".class: " + className + " is not a dev.parley.bot.Bot with a public no-argument constructor", e);
    }
  }

  /** The bot name of a user id {@code bot:<name>}. */
  public static Optional<String> nameOf(String user) {
    return user != null && user.startsWith(USER_PREFIX) ? Optional.of(user.substring(USER_PREFIX.length())) : Optional.empty();
  }

  public Optional<Registered> enabled(String name) {
    return Optional.ofNullable(registered.get(name)).filter(Registered::enabled);
  }

  /** Every registered bot: the projection keeps offsets for disabled ones too, so they resume when enabled. */
  public Set<String> registeredNames() {
    return registered.keySet();
  }

  public Set<String> enabledNames() {
    return registered.values().stream().filter(Registered::enabled).map(Registered::name).collect(Collectors.toUnmodifiableSet());
  }

  public BotStore store() {
    return store;
  }

  /** Tells the runner of (bot, conversation) that events up to {@code lastSeen} exist; ignored for bots not enabled. */
  void wake(BotStore.Wake wake) {
    if (enabled(wake.bot()).isEmpty()) return;
    if (noOtherNodeToRunIt()) {
      log.debug("bot {} in {}: wake to seq {} dropped, this node is stopping and no other is up", wake.bot(), wake.conversation(), wake.lastSeen());
      return;
    }
    sharding
        .entityRefFor(BotRunner.ENTITY_TYPE_KEY, BotRunner.entityId(wake.bot(), wake.conversation()))
        .tell(new BotRunner.Wake(wake.lastSeen()));
  }

  /**
   * This node is stopping and no other member is up: no node can run the runner now. Sent anyway, the
   * wake would wait in this node's shard region for a shard home that no coordinator will give, and
   * the region's graceful stop waits for its buffered messages: every stop of a single node (or of a
   * cluster's last one) with bots at work took the whole {@code cluster-sharding-shutdown-region}
   * timeout (25 s), the handoff's own re-wakes among those messages. Dropping the wake loses nothing:
   * the runner's offset is durable and the projection and the sweeper of the next node to start wake
   * every runner that is behind.
   */
  private boolean noOtherNodeToRunIt() {
    if (shutdown.getShutdownReason().isEmpty()) return false;
    Member self = cluster.selfMember();
    for (Member member : cluster.state().getMembers()) {
      if (!member.equals(self) && member.status() == MemberStatus.up()) return false;
    }
    return true;
  }
}
