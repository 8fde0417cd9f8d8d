/* Small helpers shared by every module: clocks and allocation that cannot fail quietly. */
#ifndef DIALERD_UTIL_H
#define DIALERD_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds on the monotonic clock: for timeouts and back-off, never for timestamps. */
int64_t util_mono_ms(void);
/* Milliseconds since the Unix epoch, wall clock. */
int64_t util_wall_ms(void);

/* calloc/strdup that abort with a message on out-of-memory: the daemon cannot go on half-built. */
void *util_xcalloc(size_t n, size_t size);
char *util_xstrdup(const char *s);

/*
 * Whether n bytes are well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF). PostgreSQL refuses anything else in text, so input is checked before it.
 */
int util_utf8_valid(const char *s, size_t n);

/* A pseudo-random double in [0, 1) from a caller-held 64-bit state (xorshift64*). */
double util_rand01(uint64_t *state);

#endif
