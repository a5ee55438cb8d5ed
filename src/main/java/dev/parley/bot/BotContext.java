package dev.parley.bot;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What a bot knows and can do while it handles one event. The actions are collected and carried out
 * after {@link Bot#onEvent} returns, in the order asked: a bot that fails half-way has done nothing.
 * One context per attempt, used from the bot's thread only.
 */
public final class BotContext {

  /** What a bot asked for while handling an event. */
  public sealed interface Action {
    /** A message from the bot, sent with clientMsgId {@code r<seq>-<n>} (deduplicated when retried). */
    record Reply(String text) implements Action {}

    /** A {@code handoff} timeline event: people should take over. */
    record Handoff(String reason) implements Action {}

    /** Adds a user (e.g. an agent) to the conversation; nothing happens when already a member. */
    record Invite(String user) implements Action {}
  }

  private final String conversation;
  private final String self;
  private final long seq;
  private final int maxReplyLength;
  private final Map<String, String> state;
  private final List<Action> actions = new ArrayList<>();

  BotContext(String conversation, String self, long seq, int maxReplyLength, Map<String, String> state) {
    this.conversation = conversation;
    this.self = self;
    this.seq = seq;
    this.maxReplyLength = maxReplyLength;
    this.state = new HashMap<>(state);
  }

  public String conversation() {
    return conversation;
  }

  /** The bot's own user id, {@code bot:<name>}. */
  public String self() {
    return self;
  }

  /** The seq of the event being handled. */
  public long seq() {
    return seq;
  }

  /**
   * The bot's state in this conversation: read and change it freely; it is stored with the offset
   * when the event is handled (and discarded when the attempt fails). Keep it small (64 KB as JSON).
   */
  public Map<String, String> state() {
    return state;
  }

  public void reply(String text) {
    if (text == null || text.isEmpty()) throw new IllegalArgumentException("a reply needs a text");
    if (text.length() > maxReplyLength) throw new IllegalArgumentException("reply longer than " + maxReplyLength + " characters");
    actions.add(new Action.Reply(text));
  }

  public void handoff(String reason) {
    actions.add(new Action.Handoff(reason == null ? "" : reason));
  }

  public void invite(String user) {
    if (user == null || user.isBlank()) throw new IllegalArgumentException("invite needs a user id");
    actions.add(new Action.Invite(user));
  }

  List<Action> actions() {
    return List.copyOf(actions);
  }
}
