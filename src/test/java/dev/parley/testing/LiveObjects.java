package dev.parley.testing;

import java.lang.management.ManagementFactory;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.ObjectName;

/**
 * How many instances of a class are alive in this JVM: the live heap's class histogram (the JVM's
 * own {@code GC.class_histogram} diagnostic command, which runs a full collection first). A test
 * that counts the objects of a feature before and after tells whether the feature let them go, with
 * no timing involved.
 */
public final class LiveObjects {

  private LiveObjects() {}

  /** The live instances of the class named {@code className} (a binary name, e.g. {@code a.B$C}). */
  public static long count(String className) {
    String histogram = histogram();
    Matcher m = Pattern.compile("^\\s*\\d+:\\s+(\\d+)\\s+\\d+\\s+" + Pattern.quote(className) + "(\\s|$)", Pattern.MULTILINE).matcher(histogram);
    return m.find() ? Long.parseLong(m.group(1)) : 0;
  }

  private static String histogram() {
    try {
      return (String)
          ManagementFactory.getPlatformMBeanServer()
              .invoke(
                  new ObjectName("com.sun.management:type=DiagnosticCommand"),
                  "gcClassHistogram",
                  new Object[] {new String[0]},
                  new String[] {String[].class.getName()});
    } catch (Exception e) {
      throw new IllegalStateException("the JVM's class histogram is not available", e);
    }
  }
}
