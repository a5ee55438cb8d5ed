package dev.parley.ops;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.HashMap;
import java.util.Map;

/**
 * One gauge per value of a tag (for example connections per cluster node), registered once per
 * value and read at scrape time from the latest snapshot.
 *
 * <p>Why not Micrometer's {@code MultiGauge} with {@code overwrite}: it removes and re-registers
 * every row on each update, and a Prometheus scrape that runs meanwhile can see the old and the
 * new gauge of one row, which fails the whole scrape with {@code DuplicateLabelsException}
 * (micrometer#6851; seen here as {@code /metrics} answering 500 in 2 of 9 node starts). Here a
 * gauge is only registered when its tag value first appears and removed when it disappears, so
 * steady updates touch no registry state at all.
 *
 * <p>{@link #update} is meant to be called from one thread at a time (an actor); reads are safe
 * from any thread.
 */
public final class GaugesByTag {

  private final MeterRegistry registry;
  private final String name;
  private final String tag;
  private final String description;
  private final Map<String, Gauge> registered = new HashMap<>();
  private volatile Map<String, ? extends Number> latest = Map.of();

  public GaugesByTag(MeterRegistry registry, String name, String tag, String description) {
    this.registry = registry;
    this.name = name;
    this.tag = tag;
    this.description = description;
  }

  /** The current value per tag value; tag values missing from it lose their gauge. */
  public void update(Map<String, ? extends Number> valuesByTag) {
    latest = Map.copyOf(valuesByTag);
    for (String value : valuesByTag.keySet()) {
      registered.computeIfAbsent(
          value,
          v ->
              Gauge.builder(name, this, gauges -> gauges.read(v))
                  .description(description)
                  .tag(tag, v)
                  .strongReference(true)
                  .register(registry));
    }
    registered
        .entrySet()
        .removeIf(
            entry -> {
              if (valuesByTag.containsKey(entry.getKey())) return false;
              registry.remove(entry.getValue());
              return true;
            });
  }

  private double read(String tagValue) {
    Number value = latest.get(tagValue);
    // Between an update that dropped the value and the gauge's removal a scrape reads no value.
    return value == null ? Double.NaN : value.doubleValue();
  }
}
