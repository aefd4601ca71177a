package org.camelopenaiproxy.pipeline.policy;

/**
 * The prompt-token estimate a request is admitted with (settled against the upstream's reported
 * usage when the answer ends): about one token per four bytes of the body, except for inline
 * binary data. A base64 image or audio clip (a {@code data:...;base64,} URL, an {@code input_audio}
 * {@code data} field) is megabytes of text but a few hundred to about a thousand tokens upstream, so
 * counting its bytes would refuse any key with a tokens-per-minute limit a single picture. Each run
 * of at least {@link #MIN_BINARY_RUN} base64 characters counts as {@link #TOKENS_PER_ATTACHMENT}
 * tokens instead (OpenAI's most for one high-detail image tile set is about 1,100 for gpt-4o and
 * 1,536 for the patch-based models), plus one token per 4 KiB of it so a huge attachment still
 * weighs something.
 */
public final class PromptEstimate {

    /** Base64 runs shorter than this are counted as text. */
    public static final int MIN_BINARY_RUN = 1024;
    /** What one inline attachment is reserved as. */
    public static final long TOKENS_PER_ATTACHMENT = 1536;
    /** Bodies up to this size are estimated by their length alone (no scan on the common path). */
    private static final int SCAN_FROM_BYTES = 8 * 1024;

    private PromptEstimate() {
    }

    /** The estimate for a body of {@code length} bytes at the start of {@code bytes}. */
    public static long tokens(byte[] bytes, int length) {
        if (length <= SCAN_FROM_BYTES) {
            return textTokens(length);
        }
        long textBytes = 0;
        long attachments = 0;
        long binaryBytes = 0;
        int run = 0;
        for (int i = 0; i < length; i++) {
            if (base64(bytes[i])) {
                run++;
                continue;
            }
            if (run >= MIN_BINARY_RUN) {
                attachments++;
                binaryBytes += run;
            } else {
                textBytes += run;
            }
            textBytes++;
            run = 0;
        }
        if (run >= MIN_BINARY_RUN) {
            attachments++;
            binaryBytes += run;
        } else {
            textBytes += run;
        }
        return textTokens(textBytes) + attachments * TOKENS_PER_ATTACHMENT + binaryBytes / 4096;
    }

    private static long textTokens(long bytes) {
        return (bytes + 3L) / 4;
    }

    private static boolean base64(byte b) {
        return (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '+' || b == '/'
                || b == '=';
    }
}
