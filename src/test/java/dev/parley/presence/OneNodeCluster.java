package dev.parley.presence;

import com.typesafe.config.ConfigFactory;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;

/** A test kit whose system is a one-node cluster of its own, for presence's Distributed Data, notifying subscribers quickly. */
final class OneNodeCluster {
  private OneNodeCluster() {}

  static ActorTestKit start() {
    ActorTestKit testKit =
        ActorTestKit.create(
            ConfigFactory.parseString(
                    """
                    pekko.actor.provider = cluster
                    pekko.remote.artery.canonical.hostname = 127.0.0.1
                    pekko.remote.artery.canonical.port = 0
                    pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
                    pekko.cluster.distributed-data.notify-subscribers-interval = 100ms
                    """)
                .withFallback(ConfigFactory.parseResources("serialization.conf")));
    Cluster cluster = Cluster.get(testKit.system());
    cluster.manager().tell(Join.create(cluster.selfMember().address()));
    return testKit;
  }
}
