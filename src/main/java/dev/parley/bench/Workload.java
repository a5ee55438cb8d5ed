package dev.parley.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * Who talks where: conversation {@code j}'s {@code k} members are the users of connections
 * {@code (j*k + m) mod n}, so conversations spread evenly over connections. Ids carry a fresh run
 * id, so every run starts from empty conversations and runs never see each other's traffic.
 *
 * <p>Sends rotate over (member, conversation) slots ordered conversation-first, so consecutive
 * sends go to different conversations and every conversation gets {@code rate / conversations}.
 */
public record Workload(String runId, int connections, List<Conversation> conversations, List<Slot> sendSlots) {

  public record Conversation(String id, List<Integer> members) {
    /** The member who creates the conversation and lists the others. */
    public int creator() {
      return members.get(0);
    }
  }

  public record Slot(int connection, String conversation) {}

  public static Workload plan(BenchSettings settings, String runId) {
    int n = settings.connections();
    int k = settings.members();
    List<Conversation> conversations = new ArrayList<>();
    for (int j = 0; j < settings.conversations(); j++) {
      List<Integer> members = new ArrayList<>();
      for (int m = 0; m < k; m++) members.add((int) (((long) j * k + m) % n));
      conversations.add(new Conversation("bench-" + runId + "-c" + j, List.copyOf(members)));
    }
    List<Slot> slots = new ArrayList<>();
    for (int m = 0; m < k; m++) {
      for (Conversation c : conversations) slots.add(new Slot(c.members().get(m), c.id()));
    }
    return new Workload(runId, n, List.copyOf(conversations), List.copyOf(slots));
  }

  public String user(int connection) {
    return "bench-" + runId + "-u" + connection;
  }

  public List<String> conversationsOf(int connection) {
    return conversations.stream().filter(c -> c.members().contains(connection)).map(Conversation::id).toList();
  }

  public Slot slotFor(long sendIndex) {
    return sendSlots.get((int) (sendIndex % sendSlots.size()));
  }
}
