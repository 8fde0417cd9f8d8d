/* A string-to-string hash map for the simulator's idempotency keys (open addressing). */
#include "sim.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>

struct sim_map_slot {
    char *key;                    /* NULL = empty */
    char *value;
};

struct sim_map {
    struct sim_map_slot *slots;
    size_t cap;                   /* a power of two */
    size_t count;
};

/* FNV-1a: keys are short decimal ids, any reasonable spread will do. */
static uint64_t sim_map_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Creates an empty map. */
struct sim_map *sim_map_new(void)
{
    struct sim_map *m = util_xcalloc(1, sizeof(*m));

    m->cap = 64;
    m->slots = util_xcalloc(m->cap, sizeof(*m->slots));
    return m;
}

/* Frees the map with its copies. */
void sim_map_free(struct sim_map *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->cap; i++) {
        free(m->slots[i].key);
        free(m->slots[i].value);
    }
    free(m->slots);
    free(m);
}

/* Finds the slot of key, or the empty slot where it would go. */
static struct sim_map_slot *sim_map_find(const struct sim_map *m, const char *key)
{
    size_t i = (size_t)sim_map_hash(key) & (m->cap - 1);

    while (m->slots[i].key && strcmp(m->slots[i].key, key) != 0)
        i = (i + 1) & (m->cap - 1);
    return &m->slots[i];
}

/* Looks a key up. */
const char *sim_map_get(const struct sim_map *m, const char *key)
{
    struct sim_map_slot *s = sim_map_find(m, key);

    return s->key ? s->value : NULL;
}

/* Doubles the table; keeps the load under one half so probes stay short. */
static void sim_map_grow(struct sim_map *m)
{
    struct sim_map_slot *old = m->slots;
    size_t oldcap = m->cap;

    m->cap *= 2;
    m->slots = util_xcalloc(m->cap, sizeof(*m->slots));
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].key)
            *sim_map_find(m, old[i].key) = old[i];
    free(old);
}

/* Inserts copies unless the key is already there. */
void sim_map_put(struct sim_map *m, const char *key, const char *value)
{
    struct sim_map_slot *s;

    if ((m->count + 1) * 2 > m->cap)
        sim_map_grow(m);
    s = sim_map_find(m, key);
    if (s->key)
        return;
    s->key = util_xstrdup(key);
    s->value = util_xstrdup(value);
    m->count++;
}

/* Number of keys. */
size_t sim_map_count(const struct sim_map *m)
{
    return m->count;
}
