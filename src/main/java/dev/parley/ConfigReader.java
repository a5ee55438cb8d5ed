package dev.parley;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the {@code parley} section for {@link ParleyConfig#from} and collects every problem instead
 * of stopping at the first: each becomes one line naming the key, its environment variable, the
 * bad value and what is allowed ({@code parley.http.port (PARLEY_HTTP_PORT) is "abc": must be a
 * whole number from 0 to 65535}). A value with a problem reads as a harmless placeholder so the
 * rest can still be read; {@link #throwIfInvalid()} then reports them all at once, before anything
 * starts.
 */
public final class ConfigReader {

  /** Keys whose values are never printed. */
  private static final Set<String> SECRETS = Set.of("jwt.secret", "db.password", "admin.token", "http.tls.key-store-password");

  private static final Pattern ENV_OVERRIDE = Pattern.compile("\\$\\{\\?(PARLEY_[A-Z0-9_]+)}");
  private static final Map<String, String> ENVIRONMENT_NAMES = environmentNames();

  private final Config parley;
  private final List<String> problems = new ArrayList<>();

  ConfigReader(Config parley) {
    this.parley = parley;
  }

  /** Thrown when the configuration has problems; one line each, ready to print. */
  public static final class Invalid extends RuntimeException {
    private final List<String> problems;

    Invalid(List<String> problems) {
      super(String.join("; ", problems));
      this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
      return problems;
    }
  }

  String string(String key) {
    return read(key, () -> parley.getString(key), "", "must be a string");
  }

  int integer(String key, int min, int max) {
    int value = read(key, () -> parley.getInt(key), min, "must be a whole number" + range(min, max));
    if (value < min || value > max) return rejected(key, "must be a whole number" + range(min, max), min);
    return value;
  }

  long longAtLeast(String key, long min) {
    long value = read(key, () -> parley.getLong(key), min, "must be a whole number" + range(min, Long.MAX_VALUE));
    if (value < min) return rejected(key, "must be a whole number" + range(min, Long.MAX_VALUE), min);
    return value;
  }

  double number(String key, double min, boolean minAllowed) {
    String allowed = "must be a number " + (minAllowed ? "of at least " : "greater than ") + format(min);
    double value = read(key, () -> parley.getDouble(key), minAllowed ? min : min + 1, allowed);
    if (value < min || (!minAllowed && value == min)) return rejected(key, allowed, minAllowed ? min : min + 1);
    return value;
  }

  boolean flag(String key) {
    return read(key, () -> parley.getBoolean(key), false, "must be on or off (true/false)");
  }

  Duration duration(String key) {
    String allowed = "must be a duration such as 500ms, 5s or 2m, not negative";
    Duration value = read(key, () -> parley.getDuration(key), Duration.ZERO, allowed);
    if (value.isNegative()) return rejected(key, allowed, Duration.ZERO);
    return value;
  }

  /** Records a problem with {@code key} unless {@code ok}. */
  void check(boolean ok, String key, String allowed) {
    if (!ok) problem(key, allowed);
  }

  void problem(String key, String allowed) {
    problems.add(describe(key) + ": " + allowed);
  }

  /** A problem a settings record found in its own constructor (its message names the key). */
  void problem(String message) {
    problems.add(message);
  }

  boolean valid() {
    return problems.isEmpty();
  }

  void throwIfInvalid() {
    if (!problems.isEmpty()) throw new Invalid(problems);
  }

  private <T> T read(String key, Supplier<T> getter, T placeholder, String allowed) {
    try {
      return getter.get();
    } catch (ConfigException.Missing e) {
      problems.add("parley." + key + environmentName(key) + " is not set: it " + allowed);
      return placeholder;
    } catch (ConfigException | IllegalArgumentException e) {
      return rejected(key, allowed, placeholder);
    }
  }

  private <T> T rejected(String key, String allowed, T placeholder) {
    problem(key, allowed);
    return placeholder;
  }

  /** {@code parley.http.port (PARLEY_HTTP_PORT) is "abc"}; secrets only by their length. */
  private String describe(String key) {
    String value;
    if (!parley.hasPathOrNull(key) || parley.getIsNull(key)) {
      value = "not set";
    } else {
      String raw = String.valueOf(parley.getValue(key).unwrapped());
      value = SECRETS.contains(key) ? "a hidden value of " + raw.length() + " characters" : "\"" + raw + "\"";
    }
    return "parley." + key + environmentName(key) + " is " + value;
  }

  private static String environmentName(String key) {
    String name = ENVIRONMENT_NAMES.get(key);
    return name == null ? "" : " (" + name + ")";
  }

  private static String range(long min, long max) {
    if (max == Long.MAX_VALUE || max == Integer.MAX_VALUE) return " of at least " + min;
    return " from " + min + " to " + max;
  }

  private static String format(double d) {
    return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
  }

  /**
   * Which environment variable overrides which key, read from application.conf itself (its
   * {@code key = ${?PARLEY_...}} lines), so the two cannot disagree.
   */
  private static Map<String, String> environmentNames() {
    Map<String, String> names = new HashMap<>();
    try {
      ConfigObject root = ConfigFactory.parseResources(ConfigReader.class.getClassLoader(), "application.conf").root();
      ConfigValue parley = root.get("parley");
      if (parley instanceof ConfigObject section) collect(section, "", names);
    } catch (RuntimeException e) {
      // Only the hint in the message is lost.
    }
    return names;
  }

  private static void collect(ConfigObject object, String prefix, Map<String, String> names) {
    for (Map.Entry<String, ConfigValue> entry : object.entrySet()) {
      String key = prefix + entry.getKey();
      if (entry.getValue() instanceof ConfigObject child) {
        collect(child, key + ".", names);
      } else {
        Matcher m = ENV_OVERRIDE.matcher(entry.getValue().render());
        if (m.find()) names.put(key, m.group(1));
      }
    }
  }
}
