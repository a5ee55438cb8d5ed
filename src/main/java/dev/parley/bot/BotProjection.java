package dev.parley.bot;

import dev.parley.conversation.ProjectionTags;
import dev.parley.storage.TaggedProjection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.query.EventEnvelope;

/**
 * Records which bot has work in which conversation, and wakes its runner: a {@link TaggedProjection}
 * (one offset-tracked consumer per projection tag, on one node of the cluster).
 *
 * <p>Sharded entities only run when messaged and remember-entities is off (a moved shard would
 * restart all of them at once), so something durable must wake runners: this projection after
 * every batch, and {@link BotSweeper} for a wake lost with a node. The conversation's own push
 * ({@link BotWakeUps}) is usually first; this is what makes the wake durable. A batch's progress rows and the
 * tag's offset are written in one transaction; wakes are sent after the commit.
 */
public final class BotProjection {

  public static final String NAME = "bot-projection";

  private BotProjection() {}

  /** The offsets are kept apart from the inbox's: "bots/conversations-3". */
  static String offsetTag(String tag) {
    return "bots/" + tag;
  }

  static void init(ActorSystem<?> system, BotStore store, Executor blocking, Bots bots, BotRunnerSettings settings) {
    TaggedProjection.init(
        system,
        NAME,
        ProjectionTags.all(),
        // Checked every keep-alive-interval: a consumer moved off a leaving node starts on its new
        // node within it (Pekko's 10 s default was a large part of a deploy's bot silence, issue 17).
        new TaggedProjection.Settings(
            settings.batchSize(), settings.batchWindow(), settings.minBackoff(), settings.maxBackoff(), Optional.of(settings.projectionKeepAlive())),
        blocking,
        (context, tag) -> new Consumer(offsetTag(tag), store, blocking, bots));
  }

  /** One tag's consumer: records which bot has work where, then wakes those runners. */
  private record Consumer(String offsetTag, BotStore store, Executor blocking, Bots bots) implements TaggedProjection.Handler<List<BotStore.Wake>> {

    @Override
    public long offset() {
      return store.offset(offsetTag);
    }

    @Override
    public CompletionStage<List<BotStore.Wake>> apply(List<EventEnvelope> batch) {
      return CompletableFuture.supplyAsync(() -> store.apply(offsetTag, batch, bots.registeredNames()), blocking);
    }

    @Override
    public void committed(List<BotStore.Wake> wakes) {
      wakes.forEach(bots::wake);
    }
  }
}
