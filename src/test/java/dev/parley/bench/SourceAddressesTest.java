package dev.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SourceAddressesTest {

  @Test
  void addressesStartAt127_0_0_2AndAreAllLoopback() {
    SourceAddresses sources = SourceAddresses.of(3);

    assertThat(sources.all()).extracting(InetAddress::getHostAddress).containsExactly("127.0.0.2", "127.0.0.3", "127.0.0.4");
    assertThat(sources.all()).allMatch(InetAddress::isLoopbackAddress);
  }

  @Test
  void connectionsAreSpreadRoundRobinSoEveryAddressCarriesItsShare() {
    SourceAddresses sources = SourceAddresses.of(3);
    Map<String, Integer> perAddress = new HashMap<>();
    for (int i = 0; i < 50_000; i++) perAddress.merge(sources.forConnection(i).getHostAddress(), 1, Integer::sum);

    assertThat(perAddress).containsOnlyKeys("127.0.0.2", "127.0.0.3", "127.0.0.4");
    assertThat(perAddress.values()).allMatch(n -> n == 16_666 || n == 16_667);
    assertThat(sources.forConnection(0).getHostAddress()).isEqualTo("127.0.0.2");
    assertThat(sources.forConnection(4).getHostAddress()).isEqualTo("127.0.0.3");
  }

  @Test
  void theDerivedCountKeepsEachAddressUnderItsShareOfPorts() {
    assertThat(SourceAddresses.forConnections(1, 20_000).size()).isEqualTo(1);
    assertThat(SourceAddresses.forConnections(20_000, 20_000).size()).isEqualTo(1);
    assertThat(SourceAddresses.forConnections(20_001, 20_000).size()).isEqualTo(2);
    assertThat(SourceAddresses.forConnections(50_000, 20_000).size()).isEqualTo(3);
    assertThat(SourceAddresses.forConnections(Integer.MAX_VALUE, 1).size()).isEqualTo(SourceAddresses.MAX_ADDRESSES);
  }

  @Test
  void theLastAddressIs127_0_0_254AndCountsOutsideTheRangeAreRefused() {
    assertThat(SourceAddresses.of(SourceAddresses.MAX_ADDRESSES).forConnection(SourceAddresses.MAX_ADDRESSES - 1).getHostAddress())
        .isEqualTo("127.0.0.254");
    assertThatThrownBy(() -> SourceAddresses.of(0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SourceAddresses.of(SourceAddresses.MAX_ADDRESSES + 1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SourceAddresses.of(1).forConnection(-1)).isInstanceOf(IllegalArgumentException.class);
  }
}
