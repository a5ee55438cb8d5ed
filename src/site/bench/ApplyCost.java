// The Conversation's event handler in a loop (issue 18, target 2, sixth session): ns per MessagePosted at the
// default windows (recent 256, idempotency 1,024), and its two parts alone. Hot in cache, so a floor: in a node
// with 100 conversations' trees out of cache perf put it at ~3.4 us per call. Usage (any built jar):
//   javac -cp parley.jar -d /tmp/apply src/site/bench/ApplyCost.java && java -cp /tmp/apply:parley.jar dev.parley.conversation.ApplyCost
package dev.parley.conversation;

import java.util.List;
import org.pcollections.*;

/** The Conversation's event handler (ConversationState.apply) in a loop: ns per MessagePosted, steady state at the default windows. */
public class ApplyCost {
  public static void main(String[] args) {
    var limits = new ConversationState.Limits(256, 1024);
    ConversationState s = ConversationState.EMPTY.apply(new TimelineEvent.Created(1, 0, "a", "t", List.of("a", "b")), limits);
    long seq = 2;
    String[] ids = new String[1 << 16];
    for (int i = 0; i < ids.length; i++) ids[i] = java.util.UUID.randomUUID().toString();
    for (int round = 0; round < 12; round++) {
      int n = 400_000;
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++, seq++) {
        s = s.apply(new TimelineEvent.MessagePosted(seq, seq, (seq & 1) == 0 ? "a" : "b", ids[(int) (seq & (ids.length - 1))], "hello"), limits);
      }
      long full = System.nanoTime() - t0;
      // the parts: the recent window alone (TreePVector plus + minus(0) at 256), the idempotency keys alone (HashPMap + TreePVector at 1024)
      PVector<Object> recent = TreePVector.empty();
      for (int i = 0; i < 256; i++) recent = recent.plus(i);
      long t1 = System.nanoTime();
      for (int i = 0; i < n; i++) { recent = recent.plus(i); recent = recent.minus(0); }
      long window = System.nanoTime() - t1;
      PMap<String, Long> keys = HashTreePMap.empty(); PVector<String> order = TreePVector.empty();
      for (int i = 0; i < 1024; i++) { keys = keys.plus(ids[i], (long) i); order = order.plus(ids[i]); }
      long t2 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        String k = ids[(i + 1024) & (ids.length - 1)];
        keys = keys.plus(k, (long) i); order = order.plus(k); keys = keys.minus(order.get(0)); order = order.minus(0);
      }
      long idem = System.nanoTime() - t2;
      System.out.printf("round %d: apply %.0f ns per MessagePosted; recent window (256) %.0f ns; idempotency keys (1024) %.0f ns%n",
          round, full / (double) n, window / (double) n, idem / (double) n);
    }
  }
}
