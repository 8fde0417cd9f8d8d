/* SHA-256 (FIPS 180-4 §6.2) and HMAC-SHA256 (RFC 2104): the request signatures, no OpenSSL. */
#include "sha256.h"

#include <string.h>

/* FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the first
 * 64 primes. */
static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* Rotates right (FIPS 180-4 §3.2 ROTR). */
static uint32_t sha256_rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

/* Reads a big-endian 32-bit word: the standard defines the message as big-endian words. */
static uint32_t sha256_load32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Writes a big-endian 32-bit word. */
static void sha256_store32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Processes one 64-byte block (FIPS 180-4 §6.2.2 steps 1-4). */
static void sha256_block(uint32_t h[8], const unsigned char *block)
{
    uint32_t w[64], a, b, c, d, e, f, g, hh;

    for (int t = 0; t < 16; t++)
        w[t] = sha256_load32(block + 4 * t);
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = sha256_rotr(w[t - 15], 7) ^ sha256_rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = sha256_rotr(w[t - 2], 17) ^ sha256_rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    a = h[0]; b = h[1]; c = h[2]; d = h[3];
    e = h[4]; f = h[5]; g = h[6]; hh = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t S1 = sha256_rotr(e, 6) ^ sha256_rotr(e, 11) ^ sha256_rotr(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = hh + S1 + ch + sha256_k[t] + w[t];
        uint32_t S0 = sha256_rotr(a, 2) ^ sha256_rotr(a, 13) ^ sha256_rotr(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + maj;
        hh = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d;
    h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
    /* The schedule is derived from the message, which may be a key pad. */
    sha256_wipe(w, sizeof(w));
}

/* FIPS 180-4 §5.3.3 initial hash value. */
void sha256_init(struct sha256 *c)
{
    static const uint32_t h0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

    memcpy(c->h, h0, sizeof(h0));
    c->bytes = 0;
    c->n = 0;
}

/* Buffers partial blocks and hashes whole ones straight from the input. */
void sha256_update(struct sha256 *c, const void *data, size_t len)
{
    const unsigned char *p = data;

    c->bytes += len;
    if (c->n > 0) {
        size_t take = SHA256_BLOCK_LEN - c->n < len ? SHA256_BLOCK_LEN - c->n : len;
        memcpy(c->buf + c->n, p, take);
        c->n += take;
        p += take;
        len -= take;
        if (c->n < SHA256_BLOCK_LEN)
            return;
        sha256_block(c->h, c->buf);
        c->n = 0;
    }
    for (; len >= SHA256_BLOCK_LEN; p += SHA256_BLOCK_LEN, len -= SHA256_BLOCK_LEN)
        sha256_block(c->h, p);
    if (len > 0) {
        memcpy(c->buf, p, len);
        c->n = len;
    }
}

/* Pads (a 1 bit, zeros, the 64-bit bit length: §5.1.1) and writes the digest. */
void sha256_final(struct sha256 *c, unsigned char out[SHA256_DIGEST_LEN])
{
    uint64_t bits = c->bytes * 8;

    c->buf[c->n++] = 0x80;
    if (c->n > SHA256_BLOCK_LEN - 8) {
        memset(c->buf + c->n, 0, SHA256_BLOCK_LEN - c->n);
        sha256_block(c->h, c->buf);
        c->n = 0;
    }
    memset(c->buf + c->n, 0, SHA256_BLOCK_LEN - 8 - c->n);
    for (int i = 0; i < 8; i++)
        c->buf[SHA256_BLOCK_LEN - 1 - i] = (unsigned char)(bits >> (8 * i));
    sha256_block(c->h, c->buf);
    for (int i = 0; i < 8; i++)
        sha256_store32(out + 4 * i, c->h[i]);
    sha256_wipe(c, sizeof(*c));
}

/* One-shot digest. */
void sha256_digest(const void *data, size_t len, unsigned char out[SHA256_DIGEST_LEN])
{
    struct sha256 c;

    sha256_init(&c);
    sha256_update(&c, data, len);
    sha256_final(&c, out);
}

/* RFC 2104: inner = H((K ^ ipad) || m), outer = H((K ^ opad) || inner). */
void sha256_hmac_init(struct sha256_hmac *h, const void *key, size_t keylen)
{
    unsigned char k[SHA256_BLOCK_LEN], pad[SHA256_BLOCK_LEN];

    memset(k, 0, sizeof(k));
    if (keylen > SHA256_BLOCK_LEN)
        sha256_digest(key, keylen, k);
    else if (keylen > 0)
        memcpy(k, key, keylen);
    for (int i = 0; i < SHA256_BLOCK_LEN; i++)
        pad[i] = k[i] ^ 0x36;
    sha256_init(&h->inner);
    sha256_update(&h->inner, pad, sizeof(pad));
    for (int i = 0; i < SHA256_BLOCK_LEN; i++)
        pad[i] = k[i] ^ 0x5c;
    sha256_init(&h->outer);
    sha256_update(&h->outer, pad, sizeof(pad));
    sha256_wipe(k, sizeof(k));
    sha256_wipe(pad, sizeof(pad));
}

/* Feeds the inner hash. */
void sha256_hmac_update(struct sha256_hmac *h, const void *data, size_t len)
{
    sha256_update(&h->inner, data, len);
}

/* Finishes the inner hash and runs it through the outer one. */
void sha256_hmac_final(struct sha256_hmac *h, unsigned char out[SHA256_DIGEST_LEN])
{
    unsigned char inner[SHA256_DIGEST_LEN];

    sha256_final(&h->inner, inner);
    sha256_update(&h->outer, inner, sizeof(inner));
    sha256_final(&h->outer, out);
    sha256_wipe(inner, sizeof(inner));
}

/* One-shot HMAC. */
void sha256_hmac_digest(const void *key, size_t keylen, const void *data, size_t len,
                        unsigned char out[SHA256_DIGEST_LEN])
{
    struct sha256_hmac h;

    sha256_hmac_init(&h, key, keylen);
    sha256_hmac_update(&h, data, len);
    sha256_hmac_final(&h, out);
}

/* Lowercase hex. */
void sha256_hex(const unsigned char *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

/* ORs every byte difference so the loop never ends early on a mismatch. */
int sha256_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char diff = 0;

    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(x[i] ^ y[i]);
    return diff == 0;
}

/* Writes through a volatile pointer so the stores are not optimised away as dead. */
void sha256_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;

    for (size_t i = 0; i < n; i++)
        v[i] = 0;
}
