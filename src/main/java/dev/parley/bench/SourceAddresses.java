package dev.parley.bench;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * The loopback source addresses idle connections are spread over, 127.0.0.2, 127.0.0.3, ...
 *
 * <p>A TCP connection is told apart by (source address, source port, destination address,
 * destination port). Towards one node the last two are fixed, so one source address holds at most
 * as many connections as there are ephemeral ports (32768-60999 on Linux: 28,232). On Linux every
 * address of 127.0.0.0/8 is local without configuration, so spreading connections round-robin over
 * a few of them lifts that limit.
 */
public final class SourceAddresses {

  /** Connections per source address when the count is derived: well inside the ephemeral range. */
  public static final int DEFAULT_CONNECTIONS_PER_ADDRESS = 20_000;

  /** 127.0.0.2 up to 127.0.0.254; 127.0.0.1 is left to everything else on the machine. */
  static final int MAX_ADDRESSES = 253;

  private final List<InetAddress> addresses;

  private SourceAddresses(List<InetAddress> addresses) {
    this.addresses = List.copyOf(addresses);
  }

  /** {@code count} addresses from 127.0.0.2; {@code count} between 1 and 253. */
  public static SourceAddresses of(int count) {
    if (count < 1 || count > MAX_ADDRESSES) {
      throw new IllegalArgumentException("--source-addresses must be between 1 and " + MAX_ADDRESSES + ": " + count);
    }
    List<InetAddress> addresses = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      try {
        addresses.add(InetAddress.getByAddress(new byte[] {127, 0, 0, (byte) (2 + i)}));
      } catch (UnknownHostException e) {
        throw new IllegalStateException(e); // cannot happen: the address has 4 bytes
      }
    }
    return new SourceAddresses(addresses);
  }

  /** As many addresses as {@code connections} need at {@code perAddress} connections each (at least one). */
  public static SourceAddresses forConnections(int connections, int perAddress) {
    if (connections < 1 || perAddress < 1) throw new IllegalArgumentException("connections and perAddress must be positive");
    return of((int) Math.min(MAX_ADDRESSES, Math.max(1, ((long) connections + perAddress - 1) / perAddress)));
  }

  /** Round-robin, so every address carries the same number of connections, give or take one. */
  public InetAddress forConnection(int connection) {
    if (connection < 0) throw new IllegalArgumentException("connection index must not be negative: " + connection);
    return addresses.get(connection % addresses.size());
  }

  public List<InetAddress> all() {
    return addresses;
  }

  public int size() {
    return addresses.size();
  }
}
