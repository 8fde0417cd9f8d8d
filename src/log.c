/* Structured logging: one line per event, written with a single write so lines never interleave. */
#include "log.h"

#include <event2/event.h>
#include <stdarg.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static FILE *log_fp;
static enum log_level log_min = LOG_INFO;

static const char *const log_names[] = { "debug", "info", "warn", "error", "fatal" };

/* Parses a level name as accepted by the log_level config key. */
int log_level_parse(const char *s)
{
    for (int i = LOG_DEBUG; i <= LOG_ERROR; i++)
        if (strcmp(s, log_names[i]) == 0)
            return i;
    return -1;
}

/* Returns the name of a level. */
const char *log_level_name(enum log_level lv)
{
    return (lv >= LOG_DEBUG && lv <= LOG_FATAL) ? log_names[lv] : "?";
}

/* Sets the destination and threshold. */
void log_setup(FILE *fp, enum log_level min)
{
    log_fp = fp;
    log_min = min;
}

/* Whether a level passes the threshold. */
int log_enabled(enum log_level lv)
{
    return lv >= log_min;
}

/* Quotes a value into a rotating static buffer. */
const char *log_q(const char *s)
{
    static char bufs[8][600];
    static unsigned next;
    char *b = bufs[next++ % 8];
    size_t o = 0, cap = 512;

    if (s == NULL)
        return "null";
    b[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p && o < cap; p++) {
        if (*p == '"' || *p == '\\') {
            b[o++] = '\\';
            b[o++] = (char)*p;
        } else if (*p == '\n') {
            b[o++] = '\\';
            b[o++] = 'n';
        } else if (*p < 0x20 || *p == 0x7f) {
            o += (size_t)snprintf(b + o, 5, "\\x%02x", *p);
        } else {
            b[o++] = (char)*p;
        }
    }
    if (o >= cap) {
        memcpy(b + o, "...", 3);
        o += 3;
    }
    b[o++] = '"';
    b[o] = '\0';
    return b;
}

/* Formats level, event and context (no timestamp). */
static size_t log_vformat(char *buf, size_t len, enum log_level lv, const char *event,
                          const char *fmt, va_list ap)
{
    int n = snprintf(buf, len, "level=%s event=%s", log_level_name(lv), event);
    size_t o;

    if (n < 0)
        return 0;
    o = (size_t)n < len ? (size_t)n : len - 1;
    if (fmt && *fmt && o + 1 < len) {
        buf[o++] = ' ';
        n = vsnprintf(buf + o, len - o, fmt, ap);
        if (n > 0)
            o += (size_t)n < len - o ? (size_t)n : len - o - 1;
        else
            o--;    /* empty context: no trailing space */
    }
    buf[o] = '\0';
    return o;
}

/* Formats a line without timestamp into buf (for tests). */
size_t log_format(char *buf, size_t len, enum log_level lv, const char *event,
                  const char *fmt, ...)
{
    va_list ap;
    size_t n;

    va_start(ap, fmt);
    n = log_vformat(buf, len, lv, event, fmt, ap);
    va_end(ap);
    return n;
}

/* Writes one event line with a UTC millisecond timestamp. */
void log_write(enum log_level lv, const char *event, const char *fmt, ...)
{
    char line[4096];
    struct timeval tv;
    struct tm tm;
    size_t o;
    va_list ap;
    FILE *fp = log_fp ? log_fp : stderr;

    if (lv < log_min)
        return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    o = strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
    o += (size_t)snprintf(line + o, sizeof(line) - o, ".%03ldZ ", (long)(tv.tv_usec / 1000));
    va_start(ap, fmt);
    o += log_vformat(line + o, sizeof(line) - o - 1, lv, event, fmt, ap);
    va_end(ap);
    line[o++] = '\n';
    /* One write per line: several processes may share the file. */
    if (write(fileno(fp), line, o) < 0) {
        /* Nowhere left to report a failing log; dropping the line is all that is possible. */
    }
}

/* libevent log callback: maps its severities onto ours. */
static void log_from_libevent(int severity, const char *msg)
{
    enum log_level lv = severity == EVENT_LOG_ERR ? LOG_ERROR
                      : severity == EVENT_LOG_WARN ? LOG_WARN
                      : severity == EVENT_LOG_MSG ? LOG_INFO : LOG_DEBUG;
    log_write(lv, "libevent", "msg=%s", log_q(msg));
}

/* Installs the libevent log callback. */
void log_capture_libevent(void)
{
    event_set_log_callback(log_from_libevent);
}
