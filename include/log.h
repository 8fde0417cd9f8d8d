/* Structured logging: one line per event, `ts=… level=… event=… key=value …`. */
#ifndef DIALERD_LOG_H
#define DIALERD_LOG_H

#include <stddef.h>
#include <stdio.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_FATAL };

/* Parses "debug" / "info" / "warn" / "error"; returns -1 for anything else. */
int log_level_parse(const char *s);
/* Name of a level as written in the log. */
const char *log_level_name(enum log_level lv);

/* Sends output to `fp` (stderr when NULL) and drops events below `min`. Safe to call again. */
void log_setup(FILE *fp, enum log_level min);
/* Routes libevent's own warnings and errors into this log. */
void log_capture_libevent(void);
/* Whether an event at `lv` would be written. */
int log_enabled(enum log_level lv);

/*
 * Writes one event. `event` is a short dotted name (db.connect, api.request); `fmt` is the
 * key=value context. Any value that may hold spaces, quotes or newlines (an error message,
 * user input) must go through log_q(), which quotes and escapes it.
 */
void log_write(enum log_level lv, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Quotes `s` for a key=value context: "…" with \" \\ \n escaped and control bytes as \xNN,
 * truncated at 512 bytes. Returns one of eight rotating static buffers, so up to eight
 * log_q() results may appear in one log_write() call; the pointer is not to be kept.
 */
const char *log_q(const char *s);

/* Formats a log line into `buf` without the timestamp (exposed for unit tests). */
size_t log_format(char *buf, size_t len, enum log_level lv, const char *event,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define log_debug(ev, ...) do { if (log_enabled(LOG_DEBUG)) log_write(LOG_DEBUG, ev, __VA_ARGS__); } while (0)
#define log_info(ev, ...)  log_write(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...)  log_write(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_write(LOG_ERROR, ev, __VA_ARGS__)

#endif
