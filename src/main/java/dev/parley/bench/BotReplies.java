package dev.parley.bench;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.HdrHistogram.Histogram;

/**
 * The bot's side of a run with a bot in every conversation ({@code --bot}, issue 17): for each of
 * the bench's messages (clientMsgId {@code s<n>}) the bot's replies (sender {@code bot:<name>},
 * clientMsgId {@code r<seq>-<n>} where seq is the triggering message's), as the members' clients
 * receive them. The reply gap is measured with the server's timestamps: reply ts minus message ts.
 * Members see each event, so the books are keyed by (conversation, seq) and count distinct replies.
 */
public final class BotReplies {

  /** One message of a person and what the bot answered: replies are distinct reply seqs. */
  private static final class Trigger {
    long ts = -1;
    long firstReplyTs = -1;
    final TreeSet<Long> replySeqs = new TreeSet<>();
  }

  private final String botUser;
  private final Map<String, Trigger> triggers = new ConcurrentHashMap<>();

  public BotReplies(String botUser) {
    this.botUser = botUser;
  }

  public String botUser() {
    return botUser;
  }

  /** A message event reached a member. */
  void message(String conversation, long seq, String sender, String clientMsgId, Long ts) {
    if (clientMsgId == null || ts == null) return;
    if (clientMsgId.startsWith("s")) {
      Trigger t = triggers.computeIfAbsent(conversation + "|" + seq, k -> new Trigger());
      synchronized (t) {
        t.ts = ts;
      }
    } else if (botUser.equals(sender) && clientMsgId.startsWith("r") && clientMsgId.endsWith("-0")) {
      long trigger = Long.parseLong(clientMsgId, 1, clientMsgId.indexOf('-'), 10);
      Trigger t = triggers.computeIfAbsent(conversation + "|" + trigger, k -> new Trigger());
      synchronized (t) {
        t.replySeqs.add(seq);
        if (t.firstReplyTs < 0 || ts < t.firstReplyTs) t.firstReplyTs = ts;
      }
    }
  }

  /** Messages seen that have no reply yet. */
  public long owed() {
    long owed = 0;
    for (Trigger t : triggers.values()) {
      synchronized (t) {
        if (t.ts >= 0 && t.replySeqs.isEmpty()) owed++;
      }
    }
    return owed;
  }

  /**
   * One line per message seen: {@code conversation,seq,ts,first_reply_ts,replies} (ts in epoch ms,
   * first_reply_ts -1 when none), for the summary scripts to split by phase.
   */
  public void write(Path file) throws IOException {
    try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8))) {
      out.println("conversation,seq,ts,first_reply_ts,replies");
      triggers.forEach(
          (key, t) -> {
            synchronized (t) {
              if (t.ts < 0) return; // a reply to a message not sent by this run
              int bar = key.lastIndexOf('|');
              out.println(key.substring(0, bar) + "," + key.substring(bar + 1) + "," + t.ts + "," + t.firstReplyTs + "," + t.replySeqs.size());
            }
          });
    }
  }

  /** For the text report: messages, those without exactly one reply, and the gap's p50/p99/max in ms. */
  public String summary() {
    Histogram gaps = new Histogram(3_600_000L, 3);
    long messages = 0, notExactlyOne = 0;
    for (Trigger t : triggers.values()) {
      synchronized (t) {
        if (t.ts < 0) continue;
        messages++;
        if (t.replySeqs.size() != 1) notExactlyOne++;
        if (t.firstReplyTs >= 0) gaps.recordValue(Math.min(3_600_000L, Math.max(0, t.firstReplyTs - t.ts)));
      }
    }
    return String.format(
        "bot %s: %d messages, %d without exactly one reply; reply gap ms p50 %d, p99 %d, max %d%n",
        botUser, messages, notExactlyOne, gaps.getValueAtPercentile(50), gaps.getValueAtPercentile(99), gaps.getMaxValue());
  }
}
