package dev.parley.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.ErrorCode;
import dev.parley.conversation.Conversation;
import dev.parley.inbox.Inbox;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.typed.javadsl.ActorContext;

/**
 * How a session's requests are answered: each counts in its {@link RequestWindow} from the call
 * until its reply frame (or error frame, with the retry hint of an overloaded node) is queued. The
 * answer comes back to the session's actor as a message ({@link Session.Finished},
 * {@link Session.Answered}) with {@code tell} semantics, no temporary actor per request. Confined to
 * the session's actor.
 */
final class Replies {

  private final ActorContext<Session.Command> ctx;
  private final ClientOutbound outbound;
  private final RequestWindow window;
  private final WritesResumedHint writesResumed;

  Replies(ActorContext<Session.Command> ctx, ClientOutbound outbound, RequestWindow window, WritesResumedHint writesResumed) {
    this.ctx = ctx;
    this.outbound = outbound;
    this.window = window;
    this.writesResumed = writesResumed;
  }

  /**
   * Runs one request against a conversation. Its reply frame is built on the session's thread
   * (the builder may touch session state), and until it is sent the request counts as in flight.
   */
  void request(CompletionStage<Conversation.Reply> answer, Function<Conversation.Reply, ObjectNode> onSuccess, JsonNode id) {
    window.started();
    // Not toCompletableFuture(): Scala's stages (Pekko's asks) refuse it.
    if (answer instanceof CompletableFuture<Conversation.Reply> future && future.isDone() && !future.isCompletedExceptionally()) {
      // Answered already (a send refused by an overloaded node): answer now, on this thread,
      // rather than through another message to this session. Under overload most sends end here,
      // so a refusal should cost as little as the node can make it (issue 18, target 8).
      finish(id, future.join(), onSuccess);
      return;
    }
    ctx.pipeToSelf(answer, (reply, failure) -> new Session.Finished(id, reply, onSuccess));
  }

  /** Like {@link #request}, for answers that are not a conversation's; the frame is built off-thread from the result alone. */
  <T> void answer(CompletionStage<T> result, Function<T, ObjectNode> onSuccess, JsonNode id) {
    window.started();
    ctx.pipeToSelf(
        result,
        (value, failure) -> {
          if (failure == null) return new Session.Answered(onSuccess.apply(value));
          Throwable cause = failure instanceof CompletionException ? failure.getCause() : failure;
          if (cause instanceof Inbox.Refused refused) return new Session.Answered(Frames.error(id, refused.code(), refused.getMessage()));
          return new Session.Answered(Frames.error(id, ErrorCode.UNAVAILABLE, "unavailable, retry"));
        });
  }

  /** A conversation's answer: its reply frame, or its error frame; {@code reply} is null when it did not answer at all. */
  void finish(JsonNode id, Conversation.Reply reply, Function<Conversation.Reply, ObjectNode> onSuccess) {
    if (reply instanceof Conversation.Rejected rejected) {
      if (rejected.code() == ErrorCode.UNAVAILABLE) writesResumed.refused();
      ObjectNode error = Frames.error(id, rejected.code(), rejected.reason());
      if (rejected.retryAfterMs() > 0) error.put("retryAfterMs", rejected.retryAfterMs());
      outbound.push(error);
    } else if (reply == null) {
      writesResumed.refused();
      outbound.push(Frames.error(id, ErrorCode.UNAVAILABLE, "conversation is unavailable, retry"));
    } else {
      writesResumed.accepted();
      outbound.push(onSuccess.apply(reply));
    }
    window.done();
  }

  /** An answer that is not a conversation's, its frame built already. */
  void answered(ObjectNode frame) {
    outbound.push(frame);
    window.done();
  }
}
