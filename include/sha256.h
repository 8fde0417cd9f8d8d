/* SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), plus constant-time comparison and wiping. */
#ifndef DIALERD_SHA256_H
#define DIALERD_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_BLOCK_LEN 64
#define SHA256_HEX_LEN 64          /* hex digits of a digest, without the NUL */

/* A running hash. Plain data owned by the caller (stack or struct); no allocation anywhere. */
struct sha256 {
    uint32_t h[8];
    uint64_t bytes;                /* message length so far */
    unsigned char buf[SHA256_BLOCK_LEN];
    size_t n;                      /* bytes waiting in buf */
};

/* A running HMAC: the inner hash being fed, and the outer hash keyed and waiting. */
struct sha256_hmac {
    struct sha256 inner, outer;
};

/* Starts a hash. */
void sha256_init(struct sha256 *c);
/* Feeds `len` bytes; any split of a message into updates gives the same digest. */
void sha256_update(struct sha256 *c, const void *data, size_t len);
/* Writes the digest and wipes the state (it must be initialised again before reuse). */
void sha256_final(struct sha256 *c, unsigned char out[SHA256_DIGEST_LEN]);
/* One-shot digest of a buffer. */
void sha256_digest(const void *data, size_t len, unsigned char out[SHA256_DIGEST_LEN]);

/* Starts an HMAC with a key of any length (longer than a block is hashed first, RFC 2104). */
void sha256_hmac_init(struct sha256_hmac *h, const void *key, size_t keylen);
/* Feeds message bytes. */
void sha256_hmac_update(struct sha256_hmac *h, const void *data, size_t len);
/* Writes the MAC and wipes the state. */
void sha256_hmac_final(struct sha256_hmac *h, unsigned char out[SHA256_DIGEST_LEN]);
/* One-shot HMAC of a buffer. */
void sha256_hmac_digest(const void *key, size_t keylen, const void *data, size_t len,
                        unsigned char out[SHA256_DIGEST_LEN]);

/* Lowercase hex of `n` bytes into out (2n characters and a NUL; out holds 2n + 1). */
void sha256_hex(const unsigned char *bytes, size_t n, char *out);
/*
 * 1 when the n bytes at a and b are equal, else 0, in time that depends only on n (never on
 * where they differ): for comparing MACs and token digests.
 */
int sha256_ct_equal(const void *a, const void *b, size_t n);
/* Overwrites n bytes with zeros in a way the compiler may not drop (secrets, key pads). */
void sha256_wipe(void *p, size_t n);

#endif
