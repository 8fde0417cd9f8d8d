/* Unit tests for SHA-256 (FIPS 180-4 / NIST vectors) and HMAC-SHA256 (RFC 4231 vectors). */
#include "sha256.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

/* Hex digest of a buffer, one shot. */
static const char *hash_hex(const void *data, size_t len)
{
    static char hex[SHA256_HEX_LEN + 1];
    unsigned char d[SHA256_DIGEST_LEN];

    sha256_digest(data, len, d);
    sha256_hex(d, sizeof(d), hex);
    return hex;
}

/* Hex HMAC of a buffer, one shot; `hexlen` digits kept (RFC 4231 case 5 truncates). */
static const char *hmac_hex(const void *key, size_t keylen, const void *data, size_t len,
                            size_t hexlen)
{
    static char hex[SHA256_HEX_LEN + 1];
    unsigned char d[SHA256_DIGEST_LEN];

    sha256_hmac_digest(key, keylen, data, len, d);
    sha256_hex(d, sizeof(d), hex);
    hex[hexlen] = '\0';
    return hex;
}

/* FIPS 180-4 examples (NIST CSRC "SHA256.pdf", "SHA256LongMessage"), the empty string and a
 * million 'a' (FIPS 180-2 appendix B.3). */
static void test_sha256_vectors(void)
{
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                       "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    char *million = malloc(1000000);

    is_str(hash_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
           "SHA-256 of \"abc\" (one block)");
    is_str(hash_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
           "SHA-256 of the empty message");
    is_str(hash_hex(m448, strlen(m448)),
           "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
           "SHA-256 of the 448-bit message (padding spills into a second block)");
    is_str(hash_hex(m896, strlen(m896)),
           "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
           "SHA-256 of the 896-bit message");
    memset(million, 'a', 1000000);
    is_str(hash_hex(million, 1000000),
           "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
           "SHA-256 of one million 'a'");
    free(million);
}

/* Any split of the input into updates gives the one-shot digest (block-boundary handling). */
static void test_sha256_incremental(void)
{
    unsigned char msg[300], want[SHA256_DIGEST_LEN], got[SHA256_DIGEST_LEN];
    int bad = 0;

    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (unsigned char)(i * 7 + 3);
    for (size_t len = 0; len <= sizeof(msg); len += 1) {
        sha256_digest(msg, len, want);
        for (size_t cut = 0; cut <= len; cut += (len > 140 ? 13 : 1)) {
            struct sha256 c;
            sha256_init(&c);
            sha256_update(&c, msg, cut);
            sha256_update(&c, msg + cut, 0);
            sha256_update(&c, msg + cut, len - cut);
            sha256_final(&c, got);
            bad += memcmp(want, got, sizeof(got)) != 0;
        }
    }
    is_int(bad, 0, "split updates at every offset of messages of 0..300 bytes match one shot");
    {
        /* Byte by byte over 55, 56, 63, 64, 65 bytes: the padding edge cases. */
        static const size_t lens[] = { 55, 56, 63, 64, 65, 119, 120, 128 };
        bad = 0;
        for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
            struct sha256 c;
            sha256_digest(msg, lens[k], want);
            sha256_init(&c);
            for (size_t i = 0; i < lens[k]; i++)
                sha256_update(&c, msg + i, 1);
            sha256_final(&c, got);
            bad += memcmp(want, got, sizeof(got)) != 0;
        }
        is_int(bad, 0, "byte-at-a-time updates across the padding boundaries match one shot");
    }
}

/* RFC 4231 §4.2-4.8, HMAC-SHA-256 column. */
static void test_hmac_rfc4231(void)
{
    unsigned char k20[20], k131[131], k25[25], d50[50];
    const char *t6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    const char *t7 = "This is a test using a larger than block-size key and a larger than block-size "
                     "data. The key needs to be hashed before being used by the HMAC algorithm.";

    memset(k20, 0x0b, sizeof(k20));
    is_str(hmac_hex(k20, 20, "Hi There", 8, 64),
           "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", "RFC 4231 test case 1");
    is_str(hmac_hex("Jefe", 4, "what do ya want for nothing?", 28, 64),
           "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
           "RFC 4231 test case 2 (key shorter than the output)");
    memset(k20, 0xaa, sizeof(k20));
    memset(d50, 0xdd, sizeof(d50));
    is_str(hmac_hex(k20, 20, d50, 50, 64),
           "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe", "RFC 4231 test case 3");
    for (int i = 0; i < 25; i++)
        k25[i] = (unsigned char)(i + 1);
    memset(d50, 0xcd, sizeof(d50));
    is_str(hmac_hex(k25, 25, d50, 50, 64),
           "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b", "RFC 4231 test case 4");
    memset(k20, 0x0c, sizeof(k20));
    is_str(hmac_hex(k20, 20, "Test With Truncation", 20, 32), "a3b6167473100ee06e0c796c2955552b",
           "RFC 4231 test case 5 (truncated to 128 bits)");
    memset(k131, 0xaa, sizeof(k131));
    is_str(hmac_hex(k131, 131, t6, strlen(t6), 64),
           "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
           "RFC 4231 test case 6 (key longer than a block is hashed first)");
    is_str(hmac_hex(k131, 131, t7, strlen(t7), 64),
           "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
           "RFC 4231 test case 7 (long key and long data)");
}

/* Incremental HMAC equals one shot; a 64-byte key is used as is (exactly a block). */
static void test_hmac_incremental(void)
{
    struct sha256_hmac h;
    unsigned char a[SHA256_DIGEST_LEN], b[SHA256_DIGEST_LEN], key[64];
    char hex[65];

    memset(key, 0x5a, sizeof(key));
    sha256_hmac_digest(key, 64, "1700000000{\"attempt_id\":1}", 26, a);
    sha256_hmac_init(&h, key, 64);
    sha256_hmac_update(&h, "1700000000", 10);
    sha256_hmac_update(&h, "{\"attempt_id\":1}", 16);
    sha256_hmac_final(&h, b);
    ok(memcmp(a, b, sizeof(a)) == 0, "HMAC over timestamp then body equals HMAC over both at once");
    sha256_hmac_digest("s3cret", 6, "1700000000{\"attempt_id\":1}", 26, a);
    sha256_hex(a, sizeof(a), hex);
    is_str(hex, "eb575efcc52383bf186b75698bd9b5e02353145b739a4bbe7213ed8a0225ca41",
           "matches `openssl dgst -sha256 -hmac s3cret` on the same message");
}

/* Constant-time equality gives the right answers; wiping zeroes. */
static void test_ct_equal(void)
{
    unsigned char x[32], y[32];

    memset(x, 7, sizeof(x));
    memcpy(y, x, sizeof(y));
    ok(sha256_ct_equal(x, y, 32), "equal buffers compare equal");
    y[0] ^= 1;
    ok(!sha256_ct_equal(x, y, 32), "a difference in the first byte is found");
    y[0] ^= 1;
    y[31] ^= 0x80;
    ok(!sha256_ct_equal(x, y, 32), "a difference in the last bit is found");
    ok(sha256_ct_equal(x, y, 0), "zero-length buffers are equal");
    sha256_wipe(x, sizeof(x));
    memset(y, 0, sizeof(y));
    ok(memcmp(x, y, sizeof(x)) == 0, "wipe zeroes the buffer");
}

int main(void)
{
    test_sha256_vectors();
    test_sha256_incremental();
    test_hmac_rfc4231();
    test_hmac_incremental();
    test_ct_equal();
    return tap_done();
}
