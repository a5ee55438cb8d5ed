package dev.parley.gateway;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.HttpsConnectionContext;

/**
 * HTTPS/WSS on the node itself ({@code parley.http.tls}): a PKCS12 key store with the node's key
 * and certificate chain, TLS 1.2 and 1.3 only. Most deployments terminate TLS in front of the
 * nodes instead (security.md).
 */
public final class ServerTls {

  /** {@code keyStore} empty: plain HTTP. */
  public record Settings(Optional<Path> keyStore, String password) {}

  private ServerTls() {}

  public static HttpsConnectionContext context(Settings settings) {
    Path file = settings.keyStore().orElseThrow();
    char[] password = settings.password().toCharArray();
    try (InputStream in = Files.newInputStream(file)) {
      KeyStore keyStore = KeyStore.getInstance("PKCS12");
      keyStore.load(in, password);
      KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      keys.init(keyStore, password);
      SSLContext tls = SSLContext.getInstance("TLS");
      tls.init(keys.getKeyManagers(), null, new SecureRandom());
      return ConnectionContext.httpsServer(
          () -> {
            SSLEngine engine = tls.createSSLEngine();
            engine.setUseClientMode(false);
            // Old protocol versions have known downgrade and padding attacks.
            engine.setEnabledProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
            return engine;
          });
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read parley.http.tls.key-store " + file, e);
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("parley.http.tls.key-store " + file + " is not a usable PKCS12 key store: " + e.getMessage(), e);
    }
  }
}
