package org.camelopenaiproxy.upstream;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;

/**
 * How a deployment is reached over the network, from {@code config/upstreams.yaml}:
 * <ul>
 * <li>{@code egress} ({@code egress_proxy}): its egress proxy, {@link EgressProxy#DIRECT} for none, or
 * {@code null} to use the default ({@code proxy.egress.url}, else the environment's
 * {@code HTTPS_PROXY}/{@code HTTP_PROXY}/{@code NO_PROXY});</li>
 * <li>{@code caFile}/{@code caPem} ({@code ca_file}): the only CAs trusted for its TLS certificate
 * (PEM, read when the file is loaded); {@code null}: the JVM's default trust store. TLS is always
 * verified, host name included;</li>
 * <li>{@code address}: a fixed IP address for the base URL's host name, used instead of DNS (TLS
 * still checks the certificate against the host name, which is also what SNI and {@code Host} carry).</li>
 * </ul>
 */
public record UpstreamNetwork(EgressProxy egress, String caFile, String caPem, String address) {

    public static final UpstreamNetwork DEFAULT = new UpstreamNetwork(null, null, null, null);

    /** Reads and checks a CA bundle: it must hold at least one PEM certificate. Call off the event loop. */
    public static String readCaFile(String file) {
        String pem;
        try {
            pem = Files.readString(Path.of(file), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new IllegalArgumentException("ca_file " + file + " cannot be read: " + e.getClass().getSimpleName());
        }
        try {
            if (CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII))).isEmpty()) {
                throw new IllegalArgumentException("ca_file " + file + " holds no certificate");
            }
        } catch (CertificateException e) {
            throw new IllegalArgumentException("ca_file " + file + " is not a PEM certificate bundle");
        }
        return pem;
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder();
        if (egress != null) {
            s.append("egress ").append(egress);
        }
        if (caFile != null) {
            s.append(s.length() > 0 ? ", " : "").append("ca ").append(caFile);
        }
        if (address != null) {
            s.append(s.length() > 0 ? ", " : "").append("address ").append(address);
        }
        return s.toString();
    }
}
