package org.camelopenaiproxy.pipeline.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

/** SHA-256 hashing and generation of client keys. */
public final class KeyHashes {

    public static final String KEY_PREFIX = "sk-proxy-";
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    });

    private KeyHashes() {
    }

    /** Lower-case hex SHA-256 of the key's UTF-8 bytes, the form stored in keys.yaml. */
    public static String sha256Hex(String key) {
        MessageDigest md = SHA256.get();
        md.reset();
        return HexFormat.of().formatHex(md.digest(key.getBytes(StandardCharsets.UTF_8)));
    }

    /** A new random client key: {@code sk-proxy-} followed by 256 random bits, base64url. */
    public static String newKey() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return KEY_PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }
}
