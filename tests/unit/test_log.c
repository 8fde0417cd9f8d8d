/* Unit tests for log line formatting and value quoting. */
#include "log.h"
#include "tap.h"

#include <string.h>

/* Quoting escapes what would break a key=value line and bounds the length. */
static void test_quote(void)
{
    char big[2000];

    is_str(log_q("plain"), "\"plain\"", "plain value quoted");
    is_str(log_q("a \"b\" c\\d"), "\"a \\\"b\\\" c\\\\d\"", "quotes and backslashes escaped");
    is_str(log_q("line1\nline2"), "\"line1\\nline2\"", "newline escaped, line stays one line");
    is_str(log_q("bell\a"), "\"bell\\x07\"", "control byte as \\xNN");
    is_str(log_q(NULL), "null", "NULL prints null");
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ok(strlen(log_q(big)) < 600, "a huge value is truncated");
    has_str(log_q(big), "...\"", "truncation is marked");
}

/* Eight log_q() results can coexist in one call. */
static void test_rotation(void)
{
    const char *a = log_q("a"), *b = log_q("b");

    is_str(a, "\"a\"", "first buffer intact after a second call");
    is_str(b, "\"b\"", "second buffer");
}

/* Line layout: level, event, context. */
static void test_format(void)
{
    char buf[256];

    log_format(buf, sizeof(buf), LOG_WARN, "db.lost", "conn=%d error=%s", 1, log_q("gone away"));
    is_str(buf, "level=warn event=db.lost conn=1 error=\"gone away\"", "key=value layout");
    log_format(buf, 24, LOG_INFO, "api.request", "path=%s", "/a/very/long/path");
    is_int((long long)strlen(buf), 23, "a long line is cut to the buffer");
    is_int(log_level_parse("warn"), LOG_WARN, "warn parses");
    is_int(log_level_parse("WARN"), -1, "levels are lower case");
    is_int(log_level_parse("fatal"), -1, "fatal is not a threshold users can set");
}

/* Runs every group. */
int main(void)
{
    test_quote();
    test_rotation();
    test_format();
    return tap_done();
}
