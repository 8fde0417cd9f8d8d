/* Unit tests for the configuration table: parsing, ranges, messages, precedence, reload rules. */
#include "config.h"
#include "log.h"
#include "tap.h"

#include <stdlib.h>

/* Parses one text into a fresh config and returns the error count; err receives messages. */
static int parse(struct config **c, const char *text, char *err, size_t len)
{
    *c = config_new();
    err[0] = '\0';
    return config_parse_text(*c, text, "t.conf", err, len);
}

/* Defaults match the documented table. */
static void test_defaults(void)
{
    struct config *c = config_new();

    is_str(c->listen, "127.0.0.1:8080", "default listen");
    is_int(c->log_level, LOG_INFO, "default log_level is info");
    is_int(c->db_pool_size, 2, "default db_pool_size");
    is_int(c->db_reconnect_min_ms, 100, "default db_reconnect_min_ms");
    is_int(config_check(c, NULL, 0), 0, "defaults pass the cross-field check");
    config_free(c);
}

/* Good files: comments, blank lines, quotes, trailing comments, CRLF-free whitespace. */
static void test_parse_good(void)
{
    struct config *c;
    char err[2048];
    int n = parse(&c, "# comment\n\n  listen = 127.0.0.1:9000  \n"
                      "log_level=debug # trailing comment\n"
                      "instance_name = \"east 1 # not a comment\"\n"
                      "; also a comment\n"
                      "db_pool_size = 4\n", err, sizeof(err));

    is_int(n, 0, "a good file parses without errors");
    is_str(err, "", "no error text for a good file");
    is_str(c->listen, "127.0.0.1:9000", "listen is set and trimmed");
    is_int(c->log_level, LOG_DEBUG, "log_level debug");
    is_str(c->instance_name, "east 1 # not a comment", "a quoted value keeps # and spaces");
    is_int(c->db_pool_size, 4, "db_pool_size 4");
    config_free(c);
}

/* Each kind of bad line is refused with the file, line, value and the accepted range. */
static void test_parse_bad(void)
{
    struct config *c;
    char err[4096];
    int n = parse(&c, "listen = 127.0.0.1:9000\n"
                      "db_pool_size = 0\n"
                      "db_pool_size = many\n"
                      "lisen = 1.2.3.4:5\n"
                      "log_level = loud\n"
                      "just some words\n"
                      "listen = nowhere\n"
                      "instance_name = \"open\n"
                      "completely_unknown_key = 1\n"
                      "database_url =\n", err, sizeof(err));

    is_int(n, 9, "nine bad lines, nine errors");
    has_str(err, "t.conf:2: db_pool_size = 0 is out of range; accepted: 1..32", "range error names line, value, range");
    has_str(err, "t.conf:3: db_pool_size = \"many\" is not a whole number; accepted: 1..32", "type error names value and range");
    has_str(err, "t.conf:4: unknown key \"lisen\" (did you mean \"listen\"?)", "unknown key suggests the close one");
    has_str(err, "t.conf:5: log_level = \"loud\" is not a level; accepted: debug, info, warn, error", "bad level lists the accepted ones");
    has_str(err, "t.conf:6: \"just some words\" is not a setting; expected key = value", "a line without = is refused");
    has_str(err, "t.conf:7: listen = \"nowhere\" is not an address", "bad address refused");
    has_str(err, "t.conf:8: instance_name: the quoted value is not closed", "unclosed quote refused");
    has_str(err, "t.conf:9: unknown key \"completely_unknown_key\"; `dialerd --help-config`", "far-off unknown key: no suggestion");
    has_str(err, "t.conf:10: database_url is empty; a value is required", "empty required value refused");
    is_str(c->listen, "127.0.0.1:9000", "good lines around bad ones still apply");
    is_int(c->db_pool_size, 2, "a refused value leaves the previous one");
    config_free(c);
}

/* Integer edge cases: bounds inclusive, overflow and signs. */
static void test_int_edges(void)
{
    struct config *c = config_new();
    char err[512] = "";
    struct config_origin o = { "test", 0 };

    is_int(config_set(c, "db_pool_size", "1", &o, err, sizeof(err)), 0, "lower bound accepted");
    is_int(config_set(c, "db_pool_size", "32", &o, err, sizeof(err)), 0, "upper bound accepted");
    is_int(config_set(c, "db_pool_size", "33", &o, err, sizeof(err)), -1, "upper bound + 1 refused");
    is_int(config_set(c, "db_pool_size", "99999999999999999999", &o, err, sizeof(err)), -1, "overflow refused");
    is_int(config_set(c, "db_pool_size", " 3", &o, err, sizeof(err)), -1, "leading space in a number refused");
    is_int(config_set(c, "db_pool_size", "3x", &o, err, sizeof(err)), -1, "trailing garbage refused");
    is_int(config_set(c, "db_pool_size", "", &o, err, sizeof(err)), -1, "empty number refused");
    is_int(c->db_pool_size, 32, "value after refusals is the last good one");
    config_free(c);
}

/* Host:port forms. */
static void test_hostport(void)
{
    char host[64];
    int port = -1;

    is_int(config_split_hostport("127.0.0.1:8080", host, sizeof(host), &port), 0, "v4 host:port");
    is_str(host, "127.0.0.1", "v4 host");
    is_int(port, 8080, "v4 port");
    is_int(config_split_hostport("[::1]:0", host, sizeof(host), &port), 0, "v6 [host]:port");
    is_str(host, "::1", "v6 host without brackets");
    is_int(port, 0, "port 0 (ephemeral) accepted");
    is_int(config_split_hostport("::1:80", host, sizeof(host), &port), -1, "bare v6 refused (ambiguous)");
    is_int(config_split_hostport(":80", host, sizeof(host), &port), -1, "empty host refused");
    is_int(config_split_hostport("h:65536", host, sizeof(host), &port), -1, "port above 65535 refused");
    is_int(config_split_hostport("h:", host, sizeof(host), &port), -1, "missing port refused");
}

/* Environment: DIALER_<KEY>, unknown DIALER_ variables ignored, bad values reported. */
static void test_env(void)
{
    struct config *c = config_new();
    char err[1024] = "";
    char *env[] = { "DIALER_LISTEN=127.0.0.1:7000", "DIALER_DB_POOL_SIZE=5", "PATH=/bin",
                    "DIALER_SOMETHING_ELSE=x", "DIALER_LOG_LEVEL=shout", NULL };

    is_int(config_load_env(c, env, err, sizeof(err)), 1, "one bad environment value");
    is_str(c->listen, "127.0.0.1:7000", "DIALER_LISTEN applied");
    is_int(c->db_pool_size, 5, "DIALER_DB_POOL_SIZE applied");
    has_str(err, "environment: log_level = \"shout\"", "env error says where it came from");
    config_free(c);
}

/* Cross-field check and the reload split between reloadable and restart-only keys. */
static void test_check_and_reload(void)
{
    struct config *a = config_new(), *b = config_new();
    char err[512] = "", keys[256];
    struct config_origin o = { "test", 0 };

    config_set(b, "db_reconnect_min_ms", "9000", &o, err, sizeof(err));
    is_int(config_check(b, err, sizeof(err)), 1, "min back-off above max refused");
    has_str(err, "db_reconnect_min_ms = 9000 is above db_reconnect_max_ms = 5000", "message names both values");

    config_set(b, "listen", "127.0.0.1:1", &o, err, sizeof(err));
    config_set(b, "db_pool_size", "7", &o, err, sizeof(err));
    config_set(b, "log_level", "error", &o, err, sizeof(err));
    config_set(b, "max_body_bytes", "2048", &o, err, sizeof(err));
    is_int(config_restart_keys(a, b, keys, sizeof(keys)), 2, "two changed keys need a restart");
    is_str(keys, "listen,db_pool_size", "they are listen and db_pool_size");
    config_apply_reloadable(a, b);
    is_int(a->log_level, LOG_ERROR, "reloadable log_level applied");
    is_int(a->max_body_bytes, 2048, "reloadable max_body_bytes applied");
    is_str(a->listen, "127.0.0.1:8080", "restart-only listen kept");
    is_int(a->db_pool_size, 2, "restart-only db_pool_size kept");
    config_free(a);
    config_free(b);
}

/* The SMS dispatcher's keys: defaults, and the checks between them. */
static void test_sms_keys(void)
{
    struct config *c = config_new();
    char err[1024] = "";
    struct config_origin o = { "test", 0 };

    is_str(c->sms_url, "", "sms_url defaults to empty (no dispatcher)");
    is_int(c->sms_timeout_ms, 5000, "sms_timeout_ms defaults to 5000");
    is_int(c->sms_max_tries, 12, "sms_max_tries defaults to 12");
    is_int(c->sms_lease_ms, 60000, "sms_lease_ms defaults to 60000");
    config_set(c, "sms_url", "ftp://gw/sms", &o, err, sizeof(err));
    config_set(c, "sms_backoff_min_ms", "5000", &o, err, sizeof(err));
    config_set(c, "sms_backoff_max_ms", "1000", &o, err, sizeof(err));
    config_set(c, "sms_timeout_ms", "9000", &o, err, sizeof(err));
    config_set(c, "sms_lease_ms", "9500", &o, err, sizeof(err));
    is_int(config_check(c, err, sizeof(err)), 3, "three SMS key problems found");
    has_str(err, "sms_backoff_min_ms = 5000 is above sms_backoff_max_ms = 1000", "back-off range named");
    has_str(err, "sms_lease_ms = 9500 is too short for sms_timeout_ms = 9000; accepted: at least "
            "sms_timeout_ms + 1000 (10000)", "a lease shorter than a request refused, with the minimum");
    has_str(err, "sms_url = \"ftp://gw/sms\" is not an HTTP URL; accepted: http://", "a non-HTTP URL refused");
    err[0] = '\0';
    is_int(config_set(c, "sms_max_tries", "0", &o, err, sizeof(err)), -1, "sms_max_tries 0 refused");
    has_str(err, "sms_max_tries = 0 is out of range; accepted: 1..1000", "range given");
    config_free(c);
}

/* A missing file is one clear error. */
static void test_missing_file(void)
{
    struct config *c = config_new();
    char err[512] = "";

    is_int(config_load_file(c, "/nonexistent/dialerd.conf", err, sizeof(err)), 1, "missing file is an error");
    has_str(err, "/nonexistent/dialerd.conf: cannot open the config file: No such file", "message names the path and cause");
    config_free(c);
}

/* Runs every group. */
int main(void)
{
    test_defaults();
    test_parse_good();
    test_parse_bad();
    test_int_edges();
    test_hostport();
    test_env();
    test_check_and_reload();
    test_sms_keys();
    test_missing_file();
    return tap_done();
}
