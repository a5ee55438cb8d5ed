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
 * Readiness check (Pekko Management): the node is ready only while its database answers. Opens a
 * fresh connection per probe, outside the journal's pool, so a saturated pool does not read as a
 * dead database and a probe never takes a connection a write needs.
 */
public final class DatabaseHealthCheck implements Supplier<CompletionStage<Boolean>> {

  private final Storage storage;
  private final Executor blocking;

  public DatabaseHealthCheck(ActorSystem system) {
    this.storage = Storage.from(ParleyConfig.from(system.settings().config()));
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
