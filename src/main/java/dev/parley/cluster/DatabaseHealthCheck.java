package dev.parley.cluster;

import dev.parley.ParleyConfig;
import dev.parley.storage.Storage;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.apache.pekko.actor.ActorSystem;

/**
 * Whether the database answers: the storage breaker's probe and {@code /parley/status}. Opens a
 * fresh connection per probe, outside the journal's pool, so a saturated pool does not read as a
 * dead database and a probe never takes a connection a write needs.
 *
 * <p>No longer a readiness check: the database is shared by every node, and a readiness check on
 * it took every node out of the load balancer at once during a database blip (issue 23).
 */
public final class DatabaseHealthCheck implements Supplier<CompletionStage<Boolean>> {

  private final Storage storage;
  private final Executor blocking;

  public DatabaseHealthCheck(ActorSystem system) {
    ParleyConfig config = ParleyConfig.from(system.settings().config());
    this.storage = Storage.from(config.db(), config.dataDir());
    this.blocking = system.dispatchers().lookup("pekko.actor.default-blocking-io-dispatcher");
  }

  @Override
  public CompletionStage<Boolean> get() {
    return CompletableFuture.supplyAsync(
        () -> {
          try (Connection connection = DriverManager.getConnection(storage.url(), storage.user(), storage.password())) {
            return connection.isValid(2);
          } catch (Exception e) {
            return false;
          }
        },
        blocking);
  }
}
