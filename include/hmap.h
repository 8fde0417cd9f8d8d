/* Hash map from string keys to pointers: agents by id, calls by attempt id, lines by number. */
#ifndef DIALERD_HMAP_H
#define DIALERD_HMAP_H

#include <stddef.h>

struct hmap;

/* An empty map. Keys are copied; values are the caller's (the map never frees them). */
struct hmap *hmap_new(void);
/* Frees the map and its key copies, not the values. NULL is fine. */
void hmap_free(struct hmap *m);
/* The value under `key`, or NULL. */
void *hmap_get(const struct hmap *m, const char *key);
/* Sets `key` to `value` (replacing any previous value). */
void hmap_put(struct hmap *m, const char *key, void *value);
/* Removes `key`; returns its value or NULL. */
void *hmap_del(struct hmap *m, const char *key);
/* Number of entries. */
size_t hmap_len(const struct hmap *m);

/*
 * Iteration: `*pos` starts at 0; each call returns the next value (and its key in *key when
 * key is not NULL) or NULL at the end. The map must not change during an iteration: collect
 * what to delete, then delete.
 */
void *hmap_next(const struct hmap *m, size_t *pos, const char **key);

#endif
