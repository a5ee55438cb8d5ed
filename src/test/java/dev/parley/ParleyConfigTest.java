package dev.parley;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.parley.conversation.RecoveryWarmUp;
import java.time.Duration;
import java.util.Map;
import org.apache.pekko.cluster.sharding.typed.ShardedDaemonProcessSettings;
import org.junit.jupiter.api.Test;

/**
 * Bad settings are reported before anything starts, each in one line that names the key, its
 * environment variable, the bad value and what is allowed; and the defaults are safe.
 */
class ParleyConfigTest {

  private static final String SECRET = "a-test-secret-that-is-long-enough-0123456789";

  private static Config with(Map<String, Object> overrides) {
    ConfigFactory.invalidateCaches();
    return ConfigFactory.load(ConfigFactory.parseMap(overrides).withFallback(ConfigFactory.defaultApplication()));
  }

  private static ConfigReader.Invalid problemsOf(Map<String, Object> overrides) {
    return catchThrowableOfType(ConfigReader.Invalid.class, () -> ParleyConfig.from(with(overrides)));
  }

  @Test
  void theDefaultsAreValidAndListenOnLoopbackOnly() {
    ParleyConfig settings = ParleyConfig.from(with(Map.of()));
    assertThat(settings.http().host()).isEqualTo("127.0.0.1");
  }

  /**
   * A starting node's warm-up recovers conversations before it joins; each recovery reads the
   * database three times (snapshot, highest sequence number, events). At 40 recoveries a second
   * those reads were the whole 1 s database peak of a rolling deploy (1.46x steady, issue 20 in
   * benchmarks.md); the shipped pace keeps them under 50 a second and still fits the timeout.
   */
  @Test
  void theShippedWarmUpReadsTheDatabaseUnderFiftyTimesASecondAndEndsWithinItsTimeout() {
    RecoveryWarmUp.Settings warmUp = ParleyConfig.from(with(Map.of())).warmUp();
    assertThat(3 * warmUp.perSecond()).isLessThan(50);
    assertThat(Duration.ofMillis(1000L * warmUp.conversations() / warmUp.perSecond())).isLessThan(warmUp.timeout());
  }

  /**
   * The read side's consumers are sharded daemon processes; one whose shard moved starts again at
   * the next keep-alive ping. Pekko's 10 s made a moved inbox consumer apply ~9 s of backlog at once
   * after a rolling deploy (issue 20): every projection, not only the bots', is pinged every second.
   */
  @Test
  void aMovedProjectionConsumerStartsOnItsNewNodeWithinOneSecond() {
    ShardedDaemonProcessSettings daemons = ShardedDaemonProcessSettings.fromConfig(with(Map.of()).getConfig("pekko.cluster.sharded-daemon-process"));
    assertThat(daemons.keepAliveInterval().toMillis()).isLessThanOrEqualTo(1000);
  }

  /**
   * configuration.md documents {@code max-sends-in-flight = 0} as "no cap" (only {@code max-send-wait}
   * decides); the reader used to refuse it as below 1 (issue 18, 2026-12-06 fourth session).
   */
  @Test
  void zeroSendsInFlightIsAcceptedAsNoCap() {
    ParleyConfig settings = ParleyConfig.from(with(Map.of("parley.conversation.max-sends-in-flight", 0)));
    assertThat(settings.conversation().maxSendsInFlight()).isZero();
  }

  /**
   * The shipped admission refuses by wait, not by a fixed count: max-send-wait's 500 ms is 2,500
   * sends in flight at issue 18's 5,000 sends/s, and the old cap of 1,000 refused from 2,000/s up
   * before the wait rule could (benchmarks.md, issue 18, 2026-12-06 fourth session).
   */
  @Test
  void theShippedAdmissionLetsTheWaitDecideWithoutAFixedCapBelowIt() {
    ParleyConfig settings = ParleyConfig.from(with(Map.of()));
    assertThat(settings.conversation().maxSendsInFlight()).isZero();
    assertThat(settings.conversation().maxSendWait()).isPositive();
  }

  @Test
  void aValueOfTheWrongTypeNamesTheKeyItsVariableTheValueAndWhatIsAllowed() {
    assertThat(problemsOf(Map.of("parley.http.port", "abc")).problems())
        .containsExactly("parley.http.port (PARLEY_HTTP_PORT) is \"abc\": must be a whole number from 0 to 65535");
  }

  @Test
  void aNumberOutOfRangeIsRefusedBeforeItReachesTheConnectionPool() {
    assertThat(problemsOf(Map.of("parley.db.pool-size", -3)).problems())
        .containsExactly("parley.db.pool-size (PARLEY_DB_POOL_SIZE) is \"-3\": must be a whole number of at least 1");
  }

  @Test
  void aShortSecretIsRefusedAtOnceWithoutPrintingIt() {
    String problem = problemsOf(Map.of("parley.jwt.secret", "short")).problems().get(0);
    assertThat(problem)
        .startsWith("parley.jwt.secret (PARLEY_JWT_SECRET) is a hidden value of 5 characters: must be at least 32 bytes")
        .doesNotContain("\"short\"");
  }

  @Test
  void everyProblemIsReportedAtOnce() {
    ConfigReader.Invalid invalid =
        problemsOf(Map.of("parley.http.port", "abc", "parley.db.pool-size", 0, "parley.drain.window", "soon", "parley.db.url", "mysql://x"));
    assertThat(invalid.problems())
        .hasSize(4)
        .anySatisfy(p -> assertThat(p).startsWith("parley.drain.window (PARLEY_DRAIN_WINDOW) is \"soon\": must be a duration"))
        .anySatisfy(p -> assertThat(p).startsWith("parley.db.url (PARLEY_DB_URL) is \"mysql://x\": must be empty"));
  }

  @Test
  void theDevelopmentSecretIsRefusedOnAnInterfaceBeyondLoopback() {
    assertThat(problemsOf(Map.of("parley.http.interface", "0.0.0.0")).problems())
        .singleElement()
        .satisfies(p -> assertThat(p).startsWith("parley.http.interface (PARLEY_HTTP_INTERFACE) is \"0.0.0.0\": must be a loopback address"));
  }

  @Test
  void anyInterfaceIsFineWithARealSecret() {
    ParleyConfig settings = ParleyConfig.from(with(Map.of("parley.http.interface", "0.0.0.0", "parley.jwt.secret", SECRET)));
    assertThat(settings.http().host()).isEqualTo("0.0.0.0");
  }
}
