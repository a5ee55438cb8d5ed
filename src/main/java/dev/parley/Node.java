package dev.parley;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequestEntity;
import static org.apache.pekko.http.javadsl.server.Directives.handleExceptions;
import static org.apache.pekko.http.javadsl.server.Directives.handleRejections;
import static org.apache.pekko.http.javadsl.server.Directives.toStrictEntity;
import static org.apache.pekko.http.javadsl.server.Directives.withSizeLimit;

import com.nimbusds.jose.JWSAlgorithm;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import dev.parley.auth.Revocations;
import dev.parley.auth.TokenSettings;
import dev.parley.auth.Tokens;
import dev.parley.bot.Bots;
import dev.parley.cluster.AdmissionControl;
import dev.parley.cluster.DatabaseHealthCheck;
import dev.parley.cluster.Drain;
import dev.parley.cluster.MemberFailures;
import dev.parley.cluster.NodeLifecycle;
import dev.parley.cluster.SoleMemberHandoff;
import dev.parley.cluster.UnfinishedLeave;
import dev.parley.conversation.Conversations;
import dev.parley.conversation.RecoveryWarmUp;
import dev.parley.gateway.ConnectedSessions;
import dev.parley.gateway.ConnectedUsers;
import dev.parley.gateway.ConnectionRebalancer;
import dev.parley.gateway.ConnectionSwitch;
import dev.parley.gateway.GatewaySettings;
import dev.parley.gateway.HttpApi;
import dev.parley.gateway.HttpErrors;
import dev.parley.gateway.IdleConnections;
import dev.parley.gateway.ServerTls;
import dev.parley.gateway.UserLimits;
import dev.parley.gateway.WebSocketRoute;
import dev.parley.inbox.Inbox;
import dev.parley.inbox.InboxProjection;
import dev.parley.inbox.InboxStore;
import dev.parley.notification.NotificationSettings;
import dev.parley.notification.Notifications;
import dev.parley.ops.Metrics;
import dev.parley.ops.NodeAgent;
import dev.parley.presence.Presence;
import dev.parley.presence.PresenceSettings;
import dev.parley.storage.JournalPolling;
import dev.parley.storage.JournalWrites;
import dev.parley.storage.Storage;
import dev.parley.storage.StorageBreaker;
import dev.parley.web.ChatClient;
import dev.parley.web.DevLogin;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.AddressFromURIString;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.cluster.typed.JoinSeedNodes;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.Uri;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.http.scaladsl.model.IllegalRequestException;
import org.apache.pekko.management.cluster.bootstrap.ClusterBootstrap;
import org.apache.pekko.management.javadsl.PekkoManagement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * One Parley node, wired: schema migrated, actor system up and in the cluster, conversations
 * sharded, gateway bound. The only place where features are put together.
 */
public final class Node implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Node.class);
  /** A leaving node's self-down takes effect locally within milliseconds; inside its phase's 5 s. */
  private static final Duration UNFINISHED_LEAVE_DOWN_WITHIN = Duration.ofSeconds(3);

  private final ActorSystem<Void> system;
  private final ConnectionSwitch.Binding binding;
  private final Uri management;
  private final InboxStore inboxStore;
  private final Bots bots;
  private final Optional<String> developmentAdminToken;

  private Node(
      ActorSystem<Void> system, ConnectionSwitch.Binding binding, Uri management, InboxStore inboxStore, Bots bots, Optional<String> developmentAdminToken) {
    this.system = system;
    this.binding = binding;
    this.management = management;
    this.inboxStore = inboxStore;
    this.bots = bots;
    this.developmentAdminToken = developmentAdminToken;
  }

  /** Starts a node from a fully loaded configuration (application.conf, overrides, reference). */
  public static Node start(Config config) throws Exception {
    ParleyConfig settings = ParleyConfig.from(config);
    NotificationSettings notifications = notificationSettings(config);
    routeJavaUtilLogging();
    boolean developmentSecret =
        JWSAlgorithm.HS256.equals(settings.jwt().algorithm()) && Tokens.usesDevelopmentSecret(settings.jwt().secret());
    // A development node (public secret, loopback only) gets an admin token of its own, printed
    // below, so the dashboard's status and drain panel and `parley admin` work out of the box.
    String developmentAdminToken = null;
    if (developmentSecret && config.getString("parley.admin.token").isBlank()) {
      developmentAdminToken = "dev-" + UUID.randomUUID().toString().replace("-", "");
      config = config.withValue("parley.admin.token", ConfigValueFactory.fromAnyRef(developmentAdminToken));
    }
    if (ForkJoinPool.getCommonPoolParallelism() < 2) {
      log.warn(
          "the common ForkJoinPool has fewer than 2 threads: every reply from a conversation will start a new "
              + "thread. Run with -Djava.util.concurrent.ForkJoinPool.common.parallelism=2 (the parley command does).");
    }
    Storage storage = Storage.from(settings.db(), settings.dataDir());
    log.debug("migrating the {} schema", storage.vendor());
    storage.migrate();

    // The shutdown phases must outlast the longest drain window (operations.md, "Drain arithmetic").
    config = Drain.derivedShutdownTimeouts(config, settings.drain());
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "parley", storage.pekkoConfig().withFallback(config));
    try {
      // Management first: health probes answer (not ready) while the node is still joining, and
      // cluster bootstrap needs its contact point.
      Uri management =
          PekkoManagement.get(Adapter.toClassic(system)).start().toCompletableFuture().get(30, TimeUnit.SECONDS);
      // Before joining (bounded by its own timeout): shards come to a member as soon as it is Up
      // (the next draining node's, or a balancing round's), and its first recoveries then run
      // compiled code instead of the interpreter's.
      try {
        RecoveryWarmUp.run(system, storage, settings.warmUp(), settings.conversation())
            .toCompletableFuture()
            .get(settings.warmUp().timeout().toMillis() + 10_000, TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        // A database that hangs the listing query: the node starts cold rather than not at all.
        log.warn("recovery warm-up did not end within {}: joining without it", settings.warmUp().timeout());
      }
      joinCluster(system, settings.cluster());
      awaitMemberUp(system, config.getDuration("pekko.cluster.shutdown-after-unsuccessful-join-seed-nodes"));

      TokenSettings jwt = settings.jwt();
      if (developmentSecret) jwt = jwt.withSecret(Tokens.DEVELOPMENT_SECRET);
      Tokens tokens = new Tokens(jwt, Clock.systemUTC());
      UserLimits userLimits = new UserLimits(settings.limits());
      StorageBreaker storageBreaker =
          new StorageBreaker(
              settings.storageBreaker(),
              new DatabaseHealthCheck(system.classicSystem()),
              (delay, probe) -> system.scheduler().scheduleOnce(delay, probe, system.executionContext()));
      storageBreaker.bindMetrics(Metrics.get(system).registry());
      JournalPolling.get(system).bindMetrics(Metrics.get(system).registry());
      JournalWrites.get(system).bindMetrics(Metrics.get(system).registry());
      NodeLifecycle.get(system).registerStorageBreaker(storageBreaker);
      Conversations conversations = Conversations.init(system, settings.conversation(), storageBreaker);
      Presence.get(system).start(system, PresenceSettings.from(config), conversations);
      InboxStore inboxStore = InboxStore.open(storage, settings.inbox().poolSize(), settings.db().connectionTimeout());
      system.getWhenTerminated().thenRun(inboxStore::close);
      inboxStore.bindMetrics(Metrics.get(system).registry());
      Executor inboxDispatcher = system.dispatchers().lookup(DispatcherSelector.fromConfig("parley.inbox.dispatcher"));
      ActorRef<Topic.Command<Inbox.Change>> inboxChanges =
          system.systemActorOf(Topic.create(Inbox.Change.class, Inbox.TOPIC), "inbox-changes", Props.empty());
      Inbox inbox = new Inbox(inboxStore, inboxDispatcher, conversations, inboxChanges);
      InboxProjection.init(system, inboxStore, inboxDispatcher, inboxChanges, settings.inbox());
      Bots bots =
          Bots.start(system, config.getConfig("parley.bots"), settings.botRunner(), storage, settings.db().connectionTimeout(), conversations);
      Notifications.start(system, notifications, storage, settings.db().connectionTimeout());
      ActorRef<Topic.Command<Revocations.Revoked>> revocationTopic =
          system.systemActorOf(Topic.create(Revocations.Revoked.class, Revocations.TOPIC), "revocations", Props.empty());
      Revocations.get(system).start(storage, revocationTopic);
      ConnectedSessions connectedSessions = new ConnectedSessions();
      ActorRef<ConnectedUsers.Command> connectedUsers =
          system.systemActorOf(ConnectedUsers.create(inboxChanges, revocationTopic, connectedSessions), "connected-users", Props.empty());
      // Clients answered `unavailable` while the database was away hear when writes work again.
      storageBreaker.whenClosed(() -> connectedUsers.tell(ConnectedUsers.WritesResumed.INSTANCE));
      AdmissionControl connections = new AdmissionControl(settings.admission().connections());
      AdmissionControl resumes = new AdmissionControl(settings.admission().resumes());
      NodeLifecycle.get(system).registerAdmission(connections, resumes);
      NodeAgent.start(system);
      MemberFailures.start(system);
      WebSocketRoute webSocket = new WebSocketRoute(system, tokens, conversations, inbox, connectedSessions, settings.sessions(), settings.http().allowedOrigins(), connections, resumes, userLimits);
      Route routes =
          concat(
              new HttpApi(tokens, Revocations.get(system), conversations, inbox, settings.gateway(), settings.inbox().maxPage(), userLimits).route(),
              new DevLogin(tokens, developmentSecret).route(),
              new ChatClient().route());
      // GET /v1/ws is answered by the websocket route itself, before (and without) the routing DSL.
      var handler = IdleConnections.aroundRoutes(webSocket::answer, withJsonErrors(wholeBodies(routes, settings.gateway())), system, IdleConnections.get(system));
      ConnectionSwitch.Binding binding;
      if (settings.tls().keyStore().isPresent()) {
        // TLS connections keep Pekko HTTP's own bind (ConnectionSwitch serves plain-text ones).
        ServerBinding tls =
            Http.get(system)
                .newServerAt(settings.http().host(), settings.http().port())
                .enableHttps(ServerTls.context(settings.tls()))
                .bindFlow(handler)
                .toCompletableFuture()
                .get(30, TimeUnit.SECONDS);
        binding = new ConnectionSwitch.Binding(tls.localAddress(), tls::unbind);
      } else {
        binding = ConnectionSwitch.bind(system, settings.http().host(), settings.http().port(), settings.http().pekkoIoTcp(), handler).toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
      Drain.install(system, settings.drain(), binding.unbind());
      UnfinishedLeave.install(system, UNFINISHED_LEAVE_DOWN_WITHIN);
      SoleMemberHandoff.install(system);
      IdleConnections.get(system).start(settings.gateway().idle());
      NodeLifecycle.get(system).startedServing();
      ConnectionRebalancer.get(system)
          .start(settings.rebalance().plan(), settings.admission().connections().ratePerSecond(), settings.rebalance().publishInterval());
      announce(settings, storage, binding, management, developmentSecret, developmentAdminToken);
      return new Node(system, binding, management, inboxStore, bots, Optional.ofNullable(developmentAdminToken));
    } catch (Exception e) {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      throw e;
    }
  }

  /** {@code parley.notifications}, a bad value reported like any other setting's (one line, exit status 2). */
  private static NotificationSettings notificationSettings(Config config) {
    try {
      return NotificationSettings.from(config);
    } catch (IllegalArgumentException | com.typesafe.config.ConfigException e) {
      throw new ConfigReader.Invalid(List.of(e.getMessage()));
    }
  }

  /**
   * The PostgreSQL driver logs through java.util.logging, which prints multi-line records on
   * stderr: during a database outage one stack trace per broken connection (438 of them, ~13,000
   * lines, in one test run). Routed into SLF4J they take Logback's format and levels.
   */
  private static synchronized void routeJavaUtilLogging() {
    if (SLF4JBridgeHandler.isInstalled()) return;
    SLF4JBridgeHandler.removeHandlersForRootLogger();
    SLF4JBridgeHandler.install();
  }

  /** The few lines a person starting a node needs: where it is, what it stores in, its warnings. */
  private static void announce(
      ParleyConfig settings, Storage storage, ConnectionSwitch.Binding binding, Uri management, boolean developmentSecret, String adminToken) {
    String scheme = settings.tls().keyStore().isPresent() ? "https" : "http";
    String http = scheme + "://" + binding.localAddress().getHostString() + ":" + binding.localAddress().getPort();
    String cluster =
        settings.cluster().bootstrap()
            ? "formed by Kubernetes bootstrap"
            : settings.cluster().seedNodes().isEmpty() ? "single node (no seed nodes)" : "seed nodes " + settings.cluster().seedNodes();
    log.info("Parley node up: {} (chat client at /, API at /v1), storage {}, cluster {}", http, storage.describe(), cluster);
    log.info("Management: {} (health /ready /alive, dashboard /admin)", management);
    if (developmentSecret) {
      log.warn(
          "PARLEY_JWT_SECRET is not set: tokens signed with the PUBLIC development secret are accepted, so anyone who can"
              + " reach this node can act as any user; it listens on loopback only. Set PARLEY_JWT_SECRET before exposing it.");
    }
    if (adminToken != null) {
      log.warn(
          "Development admin token (this run only): {} -- paste it into the dashboard at {}/admin, or"
              + " export PARLEY_ADMIN_TOKEN={} for `parley admin`. Set PARLEY_ADMIN_TOKEN to choose your own.",
          adminToken, management, adminToken);
    }
  }

  private static void joinCluster(ActorSystem<?> system, ParleyConfig.Cluster settings) {
    if (settings.bootstrap()) {
      ClusterBootstrap.get(Adapter.toClassic(system)).start();
      return;
    }
    List<String> seedNodes = settings.seedNodes();
    Cluster cluster = Cluster.get(system);
    if (seedNodes.isEmpty()) {
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
    } else {
      List<Address> seeds = seedNodes.stream().map(AddressFromURIString::parse).toList();
      cluster.manager().tell(new JoinSeedNodes(seeds));
    }
  }

  private static void awaitMemberUp(ActorSystem<?> system, Duration timeout) throws Exception {
    CompletableFuture<Void> up = new CompletableFuture<>();
    org.apache.pekko.cluster.Cluster.get(Adapter.toClassic(system)).registerOnMemberUp(() -> up.complete(null));
    up.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Every request body is read whole (up to max-frame-bytes, within request-body-timeout) before the
   * routes answer, also when they answer without it (401, 404, 405). A body the routes leave unread
   * in part stalls the connection: Pekko HTTP parses the next request only after it, so an HTTP/1.1
   * client that reuses the kept-alive connection waits and then sees it closed without an answer
   * (Pekko cancels the unread body after the materializer's subscription timeout), and an answer
   * sent before the body has fully arrived closes the connection under the client. A body that
   * arrived with its headers is already whole: those requests pass without the read's thread hop.
   */
  private static Route wholeBodies(Route routes, GatewaySettings gateway) {
    return extractRequestEntity(
        entity ->
            entity.isStrict()
                ? routes
                // The size limit fails the read with EntityStreamSizeException (413) as soon as the
                // body passes max-frame-bytes; toStrictEntity's own limit would answer 400.
                : withSizeLimit(gateway.maxFrameBytes(), () -> toStrictEntity(gateway.requestBodyTimeout(), () -> routes)));
  }

  /** Every failure the router produces is answered in the protocol's JSON shape, without internals. */
  private static Route withJsonErrors(Route routes) {
    ExceptionHandler exceptions =
        ExceptionHandler.newBuilder()
            .match(EntityStreamSizeException.class, e -> complete(HttpErrors.response(ErrorCode.TOO_LARGE, "request body is too large")))
            // A body that did not arrive within request-body-timeout (408), or broke off (400).
            .match(
                IllegalRequestException.class,
                e ->
                    complete(
                        HttpErrors.json(
                            e.status().intValue(),
                            dev.parley.gateway.Frames.error(null, ErrorCode.BAD_REQUEST, e.info().summary()))))
            .matchAny(
                e -> {
                  log.error("unexpected failure serving a request", e);
                  return complete(HttpErrors.response(ErrorCode.INTERNAL, "internal error"));
                })
            .build();
    RejectionHandler rejections =
        RejectionHandler.defaultHandler()
            .mapRejectionResponse(
                response -> {
                  int status = response.status().intValue();
                  ErrorCode code =
                      switch (status) {
                        case 401 -> ErrorCode.UNAUTHORIZED;
                        case 403 -> ErrorCode.FORBIDDEN;
                        case 404 -> ErrorCode.NOT_FOUND;
                        case 413 -> ErrorCode.TOO_LARGE;
                        default -> status >= 500 ? ErrorCode.INTERNAL : ErrorCode.BAD_REQUEST;
                      };
                  String reason = status == 404 ? "no such resource" : response.status().reason();
                  return HttpErrors.json(status, dev.parley.gateway.Frames.error(null, code, reason));
                });
    return handleRejections(rejections, () -> handleExceptions(exceptions, () -> routes));
  }

  public ActorSystem<Void> system() {
    return system;
  }

  /** The bound HTTP port (useful when configured as 0). */
  public int httpPort() {
    return binding.localAddress().getPort();
  }

  /** Where Pekko Management (health checks, cluster routes) listens. */
  public Uri managementUri() {
    return management;
  }

  /** The inbox read model of this node (its statement count is how tests prove there is no N+1). */
  public InboxStore inboxStore() {
    return inboxStore;
  }

  /** The admin token a development node made for itself (printed at start), if it did. */
  public Optional<String> developmentAdminToken() {
    return developmentAdminToken;
  }

  /** The bots registered on this node (and their store: progress rows, dead letters). */
  public Bots bots() {
    return bots;
  }

  public CompletableFuture<Void> whenTerminated() {
    return system.getWhenTerminated().thenAccept(done -> {}).toCompletableFuture();
  }

  /**
   * Leaves gracefully, as on SIGTERM: readiness off, connections drained with reconnect hints,
   * shards handed off, cluster left (CoordinatedShutdown), then waits for the end.
   */
  @Override
  public void close() throws Exception {
    CoordinatedShutdown.get(system).runAll(CoordinatedShutdown.unknownReason()).toCompletableFuture().get(120, TimeUnit.SECONDS);
    system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }
}
