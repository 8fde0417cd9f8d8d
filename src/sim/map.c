/* The simulator's idempotency keys: key -> session / message id, both owned copies, on hmap. */
#include "sim.h"

#include "hmap.h"
#include "util.h"

#include <stdlib.h>

struct sim_map {
    struct hmap *h;               /* values are heap strings owned here */
};

/* Creates an empty map. */
struct sim_map *sim_map_new(void)
{
    struct sim_map *m = util_xcalloc(1, sizeof(*m));

    m->h = hmap_new();
    return m;
}

/* Frees the map with its value copies. */
void sim_map_free(struct sim_map *m)
{
    size_t pos = 0;
    void *v;

    if (m == NULL)
        return;
    while ((v = hmap_next(m->h, &pos, NULL)) != NULL)
        free(v);
    hmap_free(m->h);
    free(m);
}

/* Looks a key up. */
const char *sim_map_get(const struct sim_map *m, const char *key)
{
    return hmap_get(m->h, key);
}

/* Inserts copies unless the key is already there (the first answer for a key stands). */
void sim_map_put(struct sim_map *m, const char *key, const char *value)
{
    if (hmap_get(m->h, key) == NULL)
        hmap_put(m->h, key, util_xstrdup(value));
}

/* Number of keys. */
size_t sim_map_count(const struct sim_map *m)
{
    return hmap_len(m->h);
}
