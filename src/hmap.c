/* Hash map from string keys to pointers: agents by id, calls by attempt id, lines by number. */
#include "hmap.h"

#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Separate chaining; buckets double when the load passes one entry per bucket. */
struct hmap_entry {
    struct hmap_entry *next;
    uint64_t hash;
    void *value;
    char key[];
};

struct hmap {
    struct hmap_entry **buckets;
    size_t nbuckets;          /* a power of two */
    size_t len;
};

/* FNV-1a, 64 bits. */
static uint64_t hmap_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* New empty map. */
struct hmap *hmap_new(void)
{
    struct hmap *m = util_xcalloc(1, sizeof(*m));

    m->nbuckets = 64;
    m->buckets = util_xcalloc(m->nbuckets, sizeof(*m->buckets));
    return m;
}

/* Frees entries and the table. */
void hmap_free(struct hmap *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct hmap_entry *e = m->buckets[i], *n;
        for (; e; e = n) {
            n = e->next;
            free(e);
        }
    }
    free(m->buckets);
    free(m);
}

/* Finds the entry slot for a key. */
static struct hmap_entry **hmap_slot(const struct hmap *m, const char *key, uint64_t h)
{
    struct hmap_entry **p = &m->buckets[h & (m->nbuckets - 1)];

    for (; *p; p = &(*p)->next)
        if ((*p)->hash == h && strcmp((*p)->key, key) == 0)
            break;
    return p;
}

/* Lookup. */
void *hmap_get(const struct hmap *m, const char *key)
{
    struct hmap_entry **p = hmap_slot(m, key, hmap_hash(key));

    return *p ? (*p)->value : NULL;
}

/* Doubles the bucket array. */
static void hmap_grow(struct hmap *m)
{
    size_t nb = m->nbuckets * 2;
    struct hmap_entry **b = util_xcalloc(nb, sizeof(*b));

    for (size_t i = 0; i < m->nbuckets; i++) {
        struct hmap_entry *e = m->buckets[i], *n;
        for (; e; e = n) {
            n = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
}

/* Insert or replace. */
void hmap_put(struct hmap *m, const char *key, void *value)
{
    uint64_t h = hmap_hash(key);
    struct hmap_entry **p = hmap_slot(m, key, h), *e;
    size_t klen;

    if (*p) {
        (*p)->value = value;
        return;
    }
    klen = strlen(key);
    e = util_xcalloc(1, sizeof(*e) + klen + 1);
    memcpy(e->key, key, klen + 1);
    e->hash = h;
    e->value = value;
    *p = e;
    m->len++;
    if (m->len > m->nbuckets)
        hmap_grow(m);
}

/* Remove. */
void *hmap_del(struct hmap *m, const char *key)
{
    struct hmap_entry **p = hmap_slot(m, key, hmap_hash(key)), *e = *p;
    void *v;

    if (e == NULL)
        return NULL;
    *p = e->next;
    v = e->value;
    free(e);
    m->len--;
    return v;
}

/* Entry count. */
size_t hmap_len(const struct hmap *m)
{
    return m->len;
}

/* Iterates in bucket order; *pos holds the bucket index and the depth within its chain. */
void *hmap_next(const struct hmap *m, size_t *pos, const char **key)
{
    size_t bucket = *pos >> 16, depth = *pos & 0xffff;

    while (bucket < m->nbuckets) {
        struct hmap_entry *e = m->buckets[bucket];
        size_t d = 0;
        for (; e && d < depth; d++)
            e = e->next;
        if (e) {
            *pos = (bucket << 16) | (depth + 1);
            if (key)
                *key = e->key;
            return e->value;
        }
        bucket++;
        depth = 0;
    }
    *pos = bucket << 16;
    return NULL;
}
