/* Campaign and callee bodies of the REST API checked field by field (DESIGN §5.1), and SQL errors mapped to REST codes. */
#include "campaign_check.h"

#include "util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How a field's JSON value is read. */
enum cc_kind {
    CK_NAME,        /* text 1..max characters, not blank */
    CK_TEXT,        /* text 0..max characters */
    CK_MODE,        /* one of the campaign modes */
    CK_INT,         /* whole number in [min, max] */
    CK_NUM,         /* number in [min, max] */
    CK_BOOL,        /* true / false */
    CK_TIME,        /* RFC 3339 timestamp with an offset */
    CK_CALLERS,     /* non-empty array of distinct numbers */
    CK_RANGES,      /* time_ranges windows */
    CK_VARS,        /* variables object (or the seed's [{Key, Value}]) */
    CK_ZONE,        /* time zone name (PostgreSQL checks that it exists) */
    CK_DIGIT        /* one digit '0'..'9' */
};

#define S_READY CAMPAIGN_STATUS_BIT(0)
#define S_RUNNING CAMPAIGN_STATUS_BIT(1)
#define S_PAUSED CAMPAIGN_STATUS_BIT(2)
#define S_OPEN (S_READY | S_RUNNING | S_PAUSED)
#define S_STOPPED (S_READY | S_PAUSED)

/*
 * One writable column of dialer.campaigns. The defaults are those of sql/0001_schema.sql; the
 * e2e suite checks that a campaign created here equals one created by a bare SQL INSERT.
 */
struct cc_field {
    const char *name;
    enum cc_kind kind;
    int required;           /* create: must be given */
    int nullable;           /* JSON null stores SQL NULL */
    double min, max;        /* CK_INT / CK_NUM range; CK_NAME / CK_TEXT: max characters in max */
    const char *def;        /* JSON text of the column default; NULL: none (NULL, or now()) */
    unsigned may_change;    /* statuses in which PATCH may change it */
    const char *why_fixed;  /* why not in the other open statuses */
};

#define BIG 9007199254740991.0   /* largest integer a JSON number holds exactly */
#define INT4 2147483647.0

static const struct cc_field cc_fields[] = {
    { "name", CK_NAME, 1, 0, 1, 64, NULL, S_OPEN, NULL },
    { "mode", CK_MODE, 0, 0, 0, 0, "\"predictive\"", S_STOPPED,
      "the mode decides which pacer places its calls, and its calls are in flight" },
    { "priority", CK_INT, 0, 0, 1, 5, "3", S_OPEN, NULL },
    { "skill_group_id", CK_INT, 0, 1, 1, BIG, NULL, S_STOPPED,
      "the skill group is the agent pool its calls in flight are routed to" },
    { "callout_rate", CK_NUM, 0, 0, 1, 100, "1", S_OPEN, NULL },
    { "expected_abandon_rate", CK_NUM, 0, 0, 0, 50, "3", S_OPEN, NULL },
    { "max_concurrent", CK_INT, 0, 1, 1, INT4, NULL, S_OPEN, NULL },
    { "callers", CK_CALLERS, 1, 0, 0, 0, NULL, S_OPEN, NULL },
    { "call_order", CK_INT, 0, 0, 0, 1, "1", S_OPEN, NULL },
    { "not_before", CK_TIME, 0, 0, 0, 0, NULL, S_READY,
      "not_before is when a ready (0) campaign starts, and this one has already started" },
    { "not_after", CK_TIME, 0, 1, 0, 0, NULL, S_OPEN, NULL },
    { "time_zone", CK_ZONE, 0, 0, 1, 64, "\"UTC\"", S_OPEN, NULL },
    { "time_ranges", CK_RANGES, 0, 0, 0, 0, "[]", S_OPEN, NULL },
    { "ring_timeout_s", CK_INT, 0, 0, 15, 120, "30", S_OPEN, NULL },
    { "recall_num", CK_INT, 0, 0, 0, 10, "0", S_OPEN, NULL },
    { "recall_interval_min", CK_INT, 0, 0, 1, INT4, "30", S_OPEN, NULL },
    { "recall_type", CK_INT, 0, 0, 0, 1, "1", S_OPEN, NULL },
    { "uui", CK_TEXT, 0, 1, 0, CAMPAIGN_MAX_UUI, NULL, S_OPEN, NULL },
    { "variables", CK_VARS, 0, 0, 0, 0, "{}", S_OPEN, NULL },
    { "sms_sender_id", CK_TEXT, 0, 1, 0, 32, NULL, S_OPEN, NULL },
    { "sms_content", CK_TEXT, 0, 1, 0, 1000, NULL, S_OPEN, NULL },
    { "sms_on_hangup", CK_BOOL, 0, 0, 0, 0, "false", S_OPEN, NULL },
    { "sms_on_success", CK_BOOL, 0, 0, 0, 0, "false", S_OPEN, NULL },
    { "sms_on_failure", CK_BOOL, 0, 0, 0, 0, "false", S_OPEN, NULL },
    { "sms_on_ring", CK_BOOL, 0, 0, 0, 0, "false", S_OPEN, NULL },
    { "sms_on_feedback", CK_BOOL, 0, 0, 0, 0, "false", S_OPEN, NULL },
    { "sms_success_delay_s", CK_INT, 0, 0, 1, 9999, "1", S_OPEN, NULL },
    { "sms_feedback_value", CK_DIGIT, 0, 1, 0, 0, NULL, S_OPEN, NULL },
};

#define N_FIELDS (sizeof(cc_fields) / sizeof(cc_fields[0]))

/* Columns the body may not set, and what sets them instead. */
static const struct {
    const char *name;
    const char *why;
} cc_readonly[] = {
    { "id", "the id is assigned by the database" },
    { "status", "the status changes through POST /v1/campaigns/{id}/pause, /resume and /abort, "
                "and by dialerd itself (start at not_before, completion, overtime)" },
    { "status_reason", "the reason is set together with the status" },
    { "created_at", "maintained by the database" },
    { "updated_at", "maintained by the database" },
    { "started_at", "set when the campaign first runs" },
    { "ended_at", "set when the campaign ends" },
    { "progress", "progress is computed; GET /v1/campaigns/{id} reports it" },
};

/* Bounded error accumulator: messages joined by "; ". */
struct cc_err {
    char *buf;
    size_t len;
    int n;
};

/* Appends one message to the accumulator (dropped once the buffer is full). */
static void cc_fail(struct cc_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cc_fail(struct cc_err *e, const char *fmt, ...)
{
    size_t o;
    va_list ap;

    e->n++;
    if (e->buf == NULL || e->len == 0)
        return;
    o = strnlen(e->buf, e->len);
    if (o + 3 >= e->len)
        return;
    if (o > 0) {
        memcpy(e->buf + o, "; ", 3);
        o += 2;
    }
    va_start(ap, fmt);
    vsnprintf(e->buf + o, e->len - o, fmt, ap);
    va_end(ap);
}

/* Characters (UTF-8 code points) in s: PostgreSQL's char_length. */
static size_t cc_chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* Writes a JSON-quoted, shortened copy of s for messages. */
static const char *cc_quote(char *buf, size_t len, const char *s)
{
    size_t o = 0, n = 0;

    if (len < 8)
        return "";
    buf[o++] = '"';
    for (; *s && o + 6 < len; s++, n++) {
        if (n >= 40) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (*s == '"' || *s == '\\')
            buf[o++] = '\\';
        buf[o++] = (unsigned char)*s < 0x20 ? '?' : *s;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

/* A short description of a JSON value's type for messages. */
static const char *cc_type(const cJSON *v)
{
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsArray(v))
        return "an array";
    return "an object";
}

/* Whether s is a whole number of digits (at least one). */
static int cc_digits(const char *s, size_t min, size_t max)
{
    size_t n = 0;

    for (; s[n]; n++)
        if (s[n] < '0' || s[n] > '9')
            return 0;
    return n >= min && n <= max;
}

/* Callee / caller number rule of callees_number_e164_digits. */
int campaign_check_number(const char *s)
{
    if (s == NULL)
        return 0;
    if (*s == '+')
        s++;
    return cc_digits(s, 3, 15);
}

/* Reads `n` digits at s into *v. */
static int cc_num(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        *v = *v * 10 + (s[i] - '0');
    }
    return 1;
}

/* Days in a month of the proleptic Gregorian calendar. */
static int cc_month_days(int y, int m)
{
    static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return d[m - 1];
}

/* RFC 3339 with an explicit offset; the date must exist. */
int campaign_check_timestamp(const char *s)
{
    int y, mo, d, h, mi, sec = 0, oh, om = 0;
    const char *p = s;

    if (s == NULL || !cc_num(p, 4, &y) || p[4] != '-' || !cc_num(p + 5, 2, &mo) || p[7] != '-' ||
        !cc_num(p + 8, 2, &d) || (p[10] != 'T' && p[10] != 't' && p[10] != ' ') ||
        !cc_num(p + 11, 2, &h) || p[13] != ':' || !cc_num(p + 14, 2, &mi))
        return 0;
    p += 16;
    if (*p == ':') {
        if (!cc_num(p + 1, 2, &sec))
            return 0;
        p += 3;
        if (*p == '.') {
            p++;
            if (*p < '0' || *p > '9')
                return 0;
            for (int n = 0; *p >= '0' && *p <= '9'; p++)
                if (++n > 9)
                    return 0;
        }
    }
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > cc_month_days(y, mo) || h > 23 || mi > 59 ||
        sec > 59)
        return 0;
    if (*p == 'Z' || *p == 'z')
        return p[1] == '\0';
    if (*p != '+' && *p != '-')
        return 0;
    if (!cc_num(p + 1, 2, &oh) || oh > 15)
        return 0;
    p += 3;
    if (*p == ':')
        p++;
    if (*p && (!cc_num(p, 2, &om) || om > 59 || p[2] != '\0'))
        return 0;
    return 1;
}

/* Reads a number given as a JSON number or a decimal string; 0 when it is neither. */
static int cc_number_value(const cJSON *v, double *out)
{
    char *end;

    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return isfinite(*out);
    }
    if (cJSON_IsString(v) && v->valuestring[0] && strlen(v->valuestring) < 40) {
        *out = strtod(v->valuestring, &end);
        return *end == '\0' && isfinite(*out);
    }
    return 0;
}

/* HH:MM:SS from 00:00:00 to 23:59:59. */
static int cc_time_of_day(const char *s)
{
    int h, m, sec;

    return s && strlen(s) == 8 && cc_num(s, 2, &h) && s[2] == ':' && cc_num(s + 3, 2, &m) &&
           s[5] == ':' && cc_num(s + 6, 2, &sec) && h <= 23 && m <= 59 && sec <= 59;
}

/* Checks time_ranges; returns a normalised copy or NULL after reporting. */
static cJSON *cc_ranges(const cJSON *v, const char *field, struct cc_err *e)
{
    const cJSON *w;
    int i = 0;
    char q[64];

    if (!cJSON_IsArray(v)) {
        cc_fail(e, "%s: expected an array of {\"start\":\"HH:MM:SS\",\"end\":\"HH:MM:SS\"} "
                "windows ([] for all day), got %s", field, cc_type(v));
        return NULL;
    }
    if (cJSON_GetArraySize(v) > CAMPAIGN_MAX_RANGES) {
        cc_fail(e, "%s: %d windows; at most %d", field, cJSON_GetArraySize(v), CAMPAIGN_MAX_RANGES);
        return NULL;
    }
    cJSON_ArrayForEach(w, v) {
        const cJSON *k;
        const char *start, *end;

        i++;
        if (!cJSON_IsObject(w)) {
            cc_fail(e, "%s[%d]: expected {\"start\":\"HH:MM:SS\",\"end\":\"HH:MM:SS\"}, got %s",
                    field, i, cc_type(w));
            return NULL;
        }
        cJSON_ArrayForEach(k, w) {
            if (strcmp(k->string, "start") != 0 && strcmp(k->string, "end") != 0) {
                cc_fail(e, "%s[%d]: unknown key %s; a window has only \"start\" and \"end\"",
                        field, i, cc_quote(q, sizeof(q), k->string));
                return NULL;
            }
        }
        start = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "start"));
        end = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "end"));
        if (!cc_time_of_day(start) || !cc_time_of_day(end)) {
            const char *bad = !cc_time_of_day(start) ? "start" : "end";
            const char *val = !cc_time_of_day(start) ? start : end;
            cc_fail(e, "%s[%d].%s: %s is not a time of day HH:MM:SS (00:00:00 to 23:59:59)", field,
                    i, bad, val ? cc_quote(q, sizeof(q), val) : "missing");
            return NULL;
        }
        if (strcmp(start, end) == 0) {
            cc_fail(e, "%s[%d]: start and end are both \"%s\"; a window needs two different times "
                    "(end before start spans midnight, [] means all day)", field, i, start);
            return NULL;
        }
    }
    return cJSON_Duplicate(v, 1);
}

/* Checks callers; returns a normalised copy or NULL after reporting. */
static cJSON *cc_callers(const cJSON *v, struct cc_err *e)
{
    const cJSON *c, *d;
    int i = 0;
    char q[64];

    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0) {
        cc_fail(e, "callers: expected a non-empty array of caller numbers (e.g. [\"+442071234567\"]), "
                "got %s", cJSON_IsArray(v) ? "an empty array" : cc_type(v));
        return NULL;
    }
    if (cJSON_GetArraySize(v) > CAMPAIGN_MAX_CALLERS) {
        cc_fail(e, "callers: %d numbers; at most %d", cJSON_GetArraySize(v), CAMPAIGN_MAX_CALLERS);
        return NULL;
    }
    cJSON_ArrayForEach(c, v) {
        int j = 0;

        i++;
        if (!cJSON_IsString(c) || !campaign_check_number(c->valuestring)) {
            cc_fail(e, "callers[%d]: %s is not a phone number; use 3 to 15 digits with an optional "
                    "leading + and no spaces or dashes (e.g. +442071234567)", i,
                    cJSON_IsString(c) ? cc_quote(q, sizeof(q), c->valuestring) : cc_type(c));
            return NULL;
        }
        cJSON_ArrayForEach(d, v) {
            if (++j >= i)
                break;
            if (strcmp(d->valuestring, c->valuestring) == 0) {
                cc_fail(e, "callers[%d]: \"%s\" is already listed at position %d; list each caller once",
                        i, c->valuestring, j);
                return NULL;
            }
        }
    }
    return cJSON_Duplicate(v, 1);
}

/* Checks one variable's key and value; 0 when fine. */
static int cc_variable(const char *field, const char *key, const cJSON *val, struct cc_err *e)
{
    char q[64];

    if (key == NULL || key[0] == '\0' || cc_chars(key) > 64) {
        cc_fail(e, "%s: key %s must be 1 to 64 characters", field,
                key ? cc_quote(q, sizeof(q), key) : "(missing)");
        return -1;
    }
    if (cJSON_IsString(val)) {
        if (cc_chars(val->valuestring) > 1000) {
            cc_fail(e, "%s.%s: longer than 1000 characters", field, key);
            return -1;
        }
        return 0;
    }
    if (cJSON_IsNumber(val) || cJSON_IsBool(val))
        return 0;
    cc_fail(e, "%s.%s: values are strings, numbers or booleans, got %s", field, key, cc_type(val));
    return -1;
}

/*
 * Checks variables: a JSON object of scalars, or the seed's array of {"Key", "Value"} (turned
 * into an object). Returns the object or NULL after reporting.
 */
static cJSON *cc_variables(const cJSON *v, const char *field, struct cc_err *e)
{
    const cJSON *it;
    cJSON *out;
    int i = 0;

    if (cJSON_IsObject(v)) {
        if (cJSON_GetArraySize(v) > CAMPAIGN_MAX_VARIABLES) {
            cc_fail(e, "%s: %d keys; at most %d", field, cJSON_GetArraySize(v), CAMPAIGN_MAX_VARIABLES);
            return NULL;
        }
        cJSON_ArrayForEach(it, v) {
            if (cc_variable(field, it->string, it, e) != 0)
                return NULL;
        }
        return cJSON_Duplicate(v, 1);
    }
    if (!cJSON_IsArray(v)) {
        cc_fail(e, "%s: expected an object {\"text1\": \"...\"} or an array of {\"Key\", \"Value\"}, "
                "got %s", field, cc_type(v));
        return NULL;
    }
    if (cJSON_GetArraySize(v) > CAMPAIGN_MAX_VARIABLES) {
        cc_fail(e, "%s: %d items; at most %d", field, cJSON_GetArraySize(v), CAMPAIGN_MAX_VARIABLES);
        return NULL;
    }
    out = cJSON_CreateObject();
    cJSON_ArrayForEach(it, v) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(it, "Key");
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(it, "Value");

        i++;
        if (!cJSON_IsObject(it) || !cJSON_IsString(k) || val == NULL ||
            cJSON_GetArraySize(it) != 2) {
            cc_fail(e, "%s[%d]: expected {\"Key\": \"name\", \"Value\": \"text\"}", field, i);
            cJSON_Delete(out);
            return NULL;
        }
        if (cc_variable(field, k->valuestring, val, e) != 0) {
            cJSON_Delete(out);
            return NULL;
        }
        if (cJSON_GetObjectItemCaseSensitive(out, k->valuestring)) {
            cc_fail(e, "%s[%d]: Key \"%s\" is given twice", field, i, k->valuestring);
            cJSON_Delete(out);
            return NULL;
        }
        cJSON_AddItemToObject(out, k->valuestring, cJSON_Duplicate(val, 1));
    }
    return out;
}

/* Checks a text value of at most max characters (min 1 and not blank for names). */
static cJSON *cc_text(const cJSON *v, const char *field, int is_name, double max, struct cc_err *e)
{
    size_t n;

    if (!cJSON_IsString(v)) {
        cc_fail(e, "%s: must be a string, got %s", field, cc_type(v));
        return NULL;
    }
    n = cc_chars(v->valuestring);
    if (n > (size_t)max || (is_name && n == 0)) {
        cc_fail(e, "%s: %zu characters; accepted: %s to %.0f", field, n, is_name ? "1" : "0", max);
        return NULL;
    }
    if (is_name && strspn(v->valuestring, " \t\r\n\f\v") == strlen(v->valuestring)) {
        cc_fail(e, "%s: must not be blank", field);
        return NULL;
    }
    return cJSON_CreateString(v->valuestring);
}

/* Checks one present field's value; returns the normalised JSON value or NULL after reporting. */
static cJSON *cc_value(const struct cc_field *f, const cJSON *v, struct cc_err *e)
{
    char q[64];
    double d;

    if (cJSON_IsNull(v)) {
        if (f->nullable)
            return cJSON_CreateNull();
        cc_fail(e, "%s: may not be null%s", f->name,
                f->def ? "; leave it out to keep the default" : "");
        return NULL;
    }
    switch (f->kind) {
    case CK_NAME:
    case CK_TEXT:
        return cc_text(v, f->name, f->kind == CK_NAME, f->max, e);
    case CK_ZONE:
        if (!cJSON_IsString(v) || v->valuestring[0] == '\0' || strlen(v->valuestring) > 64) {
            cc_fail(e, "%s: expected an IANA zone name such as \"Europe/London\" (1 to 64 characters), "
                    "got %s", f->name, cJSON_IsString(v) ? cc_quote(q, sizeof(q), v->valuestring) : cc_type(v));
            return NULL;
        }
        return cJSON_CreateString(v->valuestring);
    case CK_MODE:
        if (cJSON_IsString(v) && (strcmp(v->valuestring, "progressive") == 0 ||
                                  strcmp(v->valuestring, "predictive") == 0 ||
                                  strcmp(v->valuestring, "agentless") == 0))
            return cJSON_CreateString(v->valuestring);
        cc_fail(e, "%s: %s is not a mode; accepted: progressive, predictive, agentless", f->name,
                cJSON_IsString(v) ? cc_quote(q, sizeof(q), v->valuestring) : cc_type(v));
        return NULL;
    case CK_INT:
    case CK_NUM:
        if (!cc_number_value(v, &d)) {
            cc_fail(e, "%s: %s is not a number; accepted: %s %.0f to %.0f", f->name,
                    cJSON_IsString(v) ? cc_quote(q, sizeof(q), v->valuestring) : cc_type(v),
                    f->kind == CK_INT ? "whole numbers" : "numbers", f->min, f->max);
            return NULL;
        }
        if ((f->kind == CK_INT && d != floor(d)) || d < f->min || d > f->max) {
            cc_fail(e, "%s: %.17g is out of range; accepted: %s %.0f to %.0f", f->name, d,
                    f->kind == CK_INT ? "whole numbers" : "numbers", f->min, f->max);
            return NULL;
        }
        return cJSON_CreateNumber(d);
    case CK_BOOL:
        if (cJSON_IsBool(v))
            return cJSON_CreateBool(cJSON_IsTrue(v));
        cc_fail(e, "%s: must be true or false, got %s", f->name, cc_type(v));
        return NULL;
    case CK_TIME:
        if (cJSON_IsString(v) && campaign_check_timestamp(v->valuestring))
            return cJSON_CreateString(v->valuestring);
        cc_fail(e, "%s: %s is not a timestamp with an offset; write e.g. 2030-01-31T09:00:00Z or "
                "2030-01-31T09:00:00+01:00", f->name,
                cJSON_IsString(v) ? cc_quote(q, sizeof(q), v->valuestring) : cc_type(v));
        return NULL;
    case CK_CALLERS:
        return cc_callers(v, e);
    case CK_RANGES:
        return cc_ranges(v, f->name, e);
    case CK_VARS:
        return cc_variables(v, f->name, e);
    case CK_DIGIT:
        if (cJSON_IsString(v) && cc_digits(v->valuestring, 1, 1))
            return cJSON_CreateString(v->valuestring);
        if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 9 &&
            v->valuedouble == floor(v->valuedouble)) {
            char digit[2] = { (char)('0' + (int)v->valuedouble), '\0' };
            return cJSON_CreateString(digit);
        }
        cc_fail(e, "%s: %s is not one digit; accepted: \"0\" to \"9\"", f->name,
                cJSON_IsString(v) ? cc_quote(q, sizeof(q), v->valuestring) : cc_type(v));
        return NULL;
    }
    return NULL;
}

/* The table row of a writable column, or NULL. */
static const struct cc_field *cc_field_find(const char *name)
{
    for (size_t i = 0; i < N_FIELDS; i++)
        if (strcmp(cc_fields[i].name, name) == 0)
            return &cc_fields[i];
    return NULL;
}

/* Reports a key that is not a writable column: read-only, or unknown (with a hint). */
static void cc_unknown_key(const char *key, struct cc_err *e)
{
    char q[64];

    for (size_t i = 0; i < sizeof(cc_readonly) / sizeof(cc_readonly[0]); i++) {
        if (strcmp(cc_readonly[i].name, key) == 0) {
            cc_fail(e, "%s: cannot be set here: %s", key, cc_readonly[i].why);
            return;
        }
    }
    cc_fail(e, "%s: unknown field; the body uses the columns of dialer.campaigns: name, mode, "
            "priority, skill_group_id, callout_rate, expected_abandon_rate, max_concurrent, callers, "
            "call_order, not_before, not_after, time_zone, time_ranges, ring_timeout_s, recall_num, "
            "recall_interval_min, recall_type, uui, variables, sms_sender_id, sms_content, "
            "sms_on_hangup, sms_on_success, sms_on_failure, sms_on_ring, sms_on_feedback, "
            "sms_success_delay_s, sms_feedback_value", cc_quote(q, sizeof(q), key));
}

/*
 * Whether every key and string in the tree is well-formed UTF-8: PostgreSQL refuses anything
 * else, and in a batch import that would fail every item at once. Reports the first offender.
 */
static int cc_utf8(const cJSON *v, const char *field, struct cc_err *e)
{
    const cJSON *c;

    if (v->string && !util_utf8_valid(v->string, strlen(v->string))) {
        cc_fail(e, "%s: a key is not valid UTF-8; accepted: UTF-8 text", field);
        return -1;
    }
    if (cJSON_IsString(v) && !util_utf8_valid(v->valuestring, strlen(v->valuestring))) {
        cc_fail(e, "%s: not valid UTF-8; accepted: UTF-8 text", field);
        return -1;
    }
    cJSON_ArrayForEach(c, v) {
        if (cc_utf8(c, field, e) != 0)
            return -1;
    }
    return 0;
}

/* Checks every key of a body; fills out with the normalised values given. Returns errors. */
static int cc_body(const cJSON *body, cJSON *out, struct cc_err *e)
{
    const cJSON *kv;

    cJSON_ArrayForEach(kv, body) {
        const struct cc_field *f = cc_field_find(kv->string);
        cJSON *v;

        if (f == NULL) {
            cc_unknown_key(kv->string, e);
            continue;
        }
        if (cJSON_GetObjectItemCaseSensitive(out, f->name)) {
            cc_fail(e, "%s: given twice", f->name);
            continue;
        }
        if (cc_utf8(kv, f->name, e) != 0)
            continue;
        v = cc_value(f, kv, e);
        if (v)
            cJSON_AddItemToObject(out, f->name, v);
    }
    return e->n;
}

/* Whether a boolean member of the normalised body is true. */
static int cc_true(const cJSON *o, const char *name)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, name));
}

/* Cross-field rules a create can check because it knows every value. */
static void cc_cross(const cJSON *o, struct cc_err *e)
{
    const char *mode = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "mode"));
    const cJSON *sg = cJSON_GetObjectItemCaseSensitive(o, "skill_group_id");
    const char *content = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "sms_content"));
    const cJSON *fb = cJSON_GetObjectItemCaseSensitive(o, "sms_feedback_value");

    if (mode && strcmp(mode, "agentless") != 0 && (sg == NULL || cJSON_IsNull(sg)))
        cc_fail(e, "skill_group_id: required unless mode is agentless (mode is %s): the campaign's "
                "calls go to that skill group's agents", mode);
    if ((cc_true(o, "sms_on_hangup") || cc_true(o, "sms_on_success") || cc_true(o, "sms_on_failure") ||
         cc_true(o, "sms_on_ring") || cc_true(o, "sms_on_feedback")) && (content == NULL || !*content))
        cc_fail(e, "sms_content: required when an sms_on_* trigger is true");
    if (cc_true(o, "sms_on_feedback") && (fb == NULL || cJSON_IsNull(fb)))
        cc_fail(e, "sms_feedback_value: required when sms_on_feedback is true (one digit \"0\" to \"9\")");
}

/* POST body: every field checked, defaults filled in. */
int campaign_check_create(const cJSON *body, cJSON **out, char *err, size_t errlen)
{
    struct cc_err e = { err, errlen, 0 };
    cJSON *o = cJSON_CreateObject();

    if (err && errlen)
        err[0] = '\0';
    *out = NULL;
    cc_body(body, o, &e);
    for (size_t i = 0; i < N_FIELDS; i++) {
        const struct cc_field *f = &cc_fields[i];

        if (cJSON_GetObjectItemCaseSensitive(o, f->name) ||
            cJSON_GetObjectItemCaseSensitive(body, f->name))
            continue;
        if (f->required)
            cc_fail(&e, "%s: required", f->name);
        else if (f->def)
            cJSON_AddItemToObject(o, f->name, cJSON_Parse(f->def));
        else if (f->nullable)
            cJSON_AddNullToObject(o, f->name);
    }
    if (e.n == 0)
        cc_cross(o, &e);
    if (e.n) {
        cJSON_Delete(o);
        return -1;
    }
    *out = o;
    return 0;
}

/* PATCH body: the given fields checked; the statuses in which all of them may change. */
int campaign_check_patch(const cJSON *body, cJSON **out, unsigned *may_change,
                         char *err, size_t errlen)
{
    struct cc_err e = { err, errlen, 0 };
    cJSON *o = cJSON_CreateObject();
    const cJSON *kv;
    unsigned mask = S_OPEN;

    if (err && errlen)
        err[0] = '\0';
    *out = NULL;
    *may_change = 0;
    cJSON_ArrayForEach(kv, body) {
        if (strcmp(kv->string, "status") == 0 || strcmp(kv->string, "status_reason") == 0) {
            cc_fail(&e, "%s: a campaign's status cannot be modified by PATCH; it changes through "
                    "POST /v1/campaigns/{id}/pause, /resume and /abort, and by dialerd itself "
                    "(start at not_before, completion, overtime)", kv->string);
            cJSON_Delete(o);
            return -2;
        }
    }
    if (cJSON_GetArraySize(body) == 0)
        cc_fail(&e, "the body names no field to change; it uses the columns of dialer.campaigns "
                "(e.g. {\"priority\": 2})");
    cc_body(body, o, &e);
    if (e.n) {
        cJSON_Delete(o);
        return -1;
    }
    cJSON_ArrayForEach(kv, o)
        mask &= cc_field_find(kv->string)->may_change;
    *out = o;
    *may_change = mask;
    return 0;
}

/* Label of a status. */
const char *campaign_check_status_label(int status)
{
    static const char *const labels[] = { "ready (0)", "running (1)", "paused (2)",
                                          "terminated (3)", "completed (4)" };

    return status >= 0 && status <= 4 ? labels[status] : "unknown";
}

/* The first field of the patch that status forbids to change, with the reason. */
int campaign_check_patch_refusal(const cJSON *patch, int status, int64_t id,
                                 char *why, size_t whylen)
{
    const cJSON *kv;

    if (status == 3 || status == 4) {
        snprintf(why, whylen, "campaign %lld is %s: an ended campaign cannot be modified; it stays "
                 "as the record of what was dialed (create a new campaign instead)",
                 (long long)id, campaign_check_status_label(status));
        return 1;
    }
    if (status < 0 || status > 4) {
        snprintf(why, whylen, "campaign %lld has an unknown status %d", (long long)id, status);
        return 1;
    }
    cJSON_ArrayForEach(kv, patch) {
        const struct cc_field *f = cc_field_find(kv->string);

        if (f && !(f->may_change & CAMPAIGN_STATUS_BIT(status))) {
            if (f->may_change == S_READY)
                snprintf(why, whylen, "%s: cannot change now that campaign %lld is %s: %s",
                         f->name, (long long)id, campaign_check_status_label(status), f->why_fixed);
            else
                snprintf(why, whylen, "%s: cannot change while campaign %lld is %s: %s; pause it "
                         "first (POST /v1/campaigns/%lld/pause)", f->name, (long long)id,
                         campaign_check_status_label(status), f->why_fixed, (long long)id);
            return 1;
        }
    }
    return 0;
}

/* One callee of a batch: our column names, the seed's CalleeAttribute, or a bare number. */
int campaign_check_callee(const cJSON *item, cJSON **out, char *err, size_t errlen)
{
    struct cc_err e = { err, errlen, 0 };
    const cJSON *kv, *num = NULL, *uui = NULL, *vars = NULL, *tz = NULL;
    cJSON *o, *v;
    char q[64];

    if (err && errlen)
        err[0] = '\0';
    *out = NULL;
    if (cc_utf8(item, "callee", &e) != 0)
        return -1;
    if (cJSON_IsString(item)) {
        num = item;
    } else if (cJSON_IsObject(item)) {
        cJSON_ArrayForEach(kv, item) {
            const cJSON **slot = NULL;

            if (strcmp(kv->string, "number") == 0 || strcmp(kv->string, "Callee") == 0)
                slot = &num;
            else if (strcmp(kv->string, "uui") == 0 || strcmp(kv->string, "UUI") == 0)
                slot = &uui;
            else if (strcmp(kv->string, "variables") == 0 || strcmp(kv->string, "Variables") == 0)
                slot = &vars;
            else if (strcmp(kv->string, "time_zone") == 0)
                slot = &tz;
            if (slot == NULL) {
                cc_fail(&e, "%s: unknown field; a callee has number, uui, variables, time_zone (or "
                        "the seed's Callee, UUI, Variables)", cc_quote(q, sizeof(q), kv->string));
                return -1;
            }
            if (*slot) {
                cc_fail(&e, "%s: given twice (our name and the seed's name for the same field?)",
                        kv->string);
                return -1;
            }
            *slot = kv;
        }
    } else {
        cc_fail(&e, "expected a callee object {\"number\": \"+447700900123\", ...} or a number string, "
                "got %s", cc_type(item));
        return -1;
    }
    if (num == NULL || cJSON_IsNull(num)) {
        cc_fail(&e, "number: required");
        return -1;
    }
    if (!cJSON_IsString(num) || !campaign_check_number(num->valuestring)) {
        cc_fail(&e, "number: %s is not a phone number; use 3 to 15 digits with an optional leading + "
                "and no spaces or dashes (e.g. +447700900123)",
                cJSON_IsString(num) ? cc_quote(q, sizeof(q), num->valuestring) : cc_type(num));
        return -1;
    }
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "number", num->valuestring);
    if (uui == NULL || cJSON_IsNull(uui)) {
        cJSON_AddNullToObject(o, "uui");
    } else if ((v = cc_text(uui, "uui", 0, CAMPAIGN_MAX_UUI, &e)) != NULL) {
        cJSON_AddItemToObject(o, "uui", v);
    }
    if (vars == NULL || cJSON_IsNull(vars))
        cJSON_AddItemToObject(o, "variables", cJSON_CreateObject());
    else if ((v = cc_variables(vars, "variables", &e)) != NULL)
        cJSON_AddItemToObject(o, "variables", v);
    if (tz == NULL || cJSON_IsNull(tz)) {
        cJSON_AddNullToObject(o, "time_zone");
    } else if (!cJSON_IsString(tz) || tz->valuestring[0] == '\0' || strlen(tz->valuestring) > 64) {
        cc_fail(&e, "time_zone: expected an IANA zone name such as \"Europe/London\" or null, got %s",
                cJSON_IsString(tz) ? cc_quote(q, sizeof(q), tz->valuestring) : cc_type(tz));
    } else {
        cJSON_AddStringToObject(o, "time_zone", tz->valuestring);
    }
    if (e.n) {
        cJSON_Delete(o);
        return -1;
    }
    *out = o;
    return 0;
}

/* Decimal id 1..2^63-1. */
int campaign_check_id(const char *text, int64_t *id, char *err, size_t errlen)
{
    char q[64];
    long long v = 0;
    int fits = text && cc_digits(text, 1, 19) && text[0] != '0';

    *id = 0;
    for (const char *p = text; fits && *p; p++) {
        if (v > (9223372036854775807LL - (*p - '0')) / 10)
            fits = 0;
        else
            v = v * 10 + (*p - '0');
    }
    if (!fits) {
        snprintf(err, errlen, "campaign id: %s is not a campaign id; accepted: whole numbers 1 to "
                 "9223372036854775807", cc_quote(q, sizeof(q), text ? text : ""));
        return -1;
    }
    *id = v;
    return 0;
}

/* Finds `"name"` after `key` in msg and copies the name; "" when absent. */
static void cc_quoted_after(const char *msg, const char *key, char *out, size_t len)
{
    const char *p = strstr(msg, key), *end;

    out[0] = '\0';
    if (p == NULL)
        return;
    p = strchr(p + strlen(key), '"');
    if (p == NULL || (end = strchr(p + 1, '"')) == NULL)
        return;
    snprintf(out, len, "%.*s", (int)(end - p - 1), p + 1);
}

/* Copies the primary message: without "ERROR:", up to DETAIL / HINT / CONTEXT. */
static void cc_primary(const char *msg, char *out, size_t len)
{
    const char *end, *cut[] = { " DETAIL: ", " HINT: ", " CONTEXT: ", " LINE " };

    while (*msg == ' ')
        msg++;
    if (strncmp(msg, "ERROR:", 6) == 0)
        msg += 6;
    while (*msg == ' ')
        msg++;
    end = msg + strlen(msg);
    for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
        const char *c = strstr(msg, cut[i]);
        if (c && c < end)
            end = c;
    }
    while (end > msg && end[-1] == ' ')
        end--;
    snprintf(out, len, "%.*s", (int)(end - msg), msg);
}

/* The HINT part of the message, or "". */
static void cc_hint(const char *msg, char *out, size_t len)
{
    const char *h = strstr(msg, " HINT: "), *end;

    out[0] = '\0';
    if (h == NULL)
        return;
    h += 7;
    while (*h == ' ')
        h++;
    end = strstr(h, " CONTEXT: ");
    snprintf(out, len, "%.*s", end ? (int)(end - h) : (int)strlen(h), h);
}

/* The value in DETAIL "Key (col)=(value) ..." or "". */
static void cc_key_value(const char *msg, char *out, size_t len)
{
    const char *p = strstr(msg, ")=("), *end;

    out[0] = '\0';
    if (p == NULL)
        return;
    p += 3;
    end = strstr(p, ") ");
    if (end == NULL)
        end = strrchr(p, ')');
    if (end)
        snprintf(out, len, "%.*s", (int)(end - p), p);
}

/* Human rules for the constraints whose names alone do not say enough. */
static const struct {
    const char *constraint;
    const char *field;
    const char *text;
} cc_constraints[] = {
    { "campaigns_skill_group_id_required_unless_agentless", "skill_group_id",
      "required unless mode is agentless" },
    { "campaigns_not_after_later_than_not_before", "not_after",
      "must be later than not_before (which defaults to the time of creation)" },
    { "campaigns_sms_content_required_when_an_sms_trigger_is_on", "sms_content",
      "required when an sms_on_* trigger is true" },
    { "campaigns_sms_feedback_value_required_with_sms_on_feedback", "sms_feedback_value",
      "required when sms_on_feedback is true" },
    { "campaigns_callers_not_empty", "callers", "must list at least one caller number" },
    { "campaigns_name_not_blank", "name", "must not be blank" },
};

/* The column a constraint named <table>_<column>_<rule> is about: the longest known prefix. */
static const char *cc_constraint_field(const char *constraint)
{
    const char *rest = constraint, *best = NULL;
    size_t best_len = 0;

    if (strncmp(rest, "campaigns_", 10) == 0)
        rest += 10;
    else if (strncmp(rest, "callees_", 8) == 0)
        rest += 8;
    for (size_t i = 0; i < N_FIELDS; i++) {
        size_t n = strlen(cc_fields[i].name);
        if (n > best_len && strncmp(rest, cc_fields[i].name, n) == 0 &&
            (rest[n] == '_' || rest[n] == '\0')) {
            best = cc_fields[i].name;
            best_len = n;
        }
    }
    if (best == NULL && strncmp(rest, "number", 6) == 0)
        best = "number";
    return best;
}

/* "campaigns.time_zone: ..." (our triggers' messages): the column, or NULL. */
static const char *cc_message_field(const char *primary)
{
    const char *dot = NULL;
    char col[64];
    size_t n;

    if (strncmp(primary, "campaigns.", 10) == 0)
        dot = primary + 10;
    else if (strncmp(primary, "callees.", 8) == 0)
        dot = primary + 8;
    if (dot == NULL)
        return NULL;
    n = strcspn(dot, ":[");
    if (n == 0 || n >= sizeof(col))
        return NULL;
    memcpy(col, dot, n);
    col[n] = '\0';
    if (strcmp(col, "number") == 0)
        return "number";
    for (size_t i = 0; i < N_FIELDS; i++)
        if (strcmp(cc_fields[i].name, col) == 0)
            return cc_fields[i].name;
    return NULL;
}

/* SQLSTATE + message -> HTTP status, REST code, reason. */
void campaign_check_sql_error(const char *sqlstate, const char *message,
                              struct campaign_sql_error *out, char *reason, size_t len)
{
    char primary[600], name[128], value[200], hint[200];
    const char *field;

    if (message == NULL)
        message = "";
    if (sqlstate == NULL)
        sqlstate = "";
    cc_primary(message, primary, sizeof(primary));
    out->field = NULL;
    out->http_status = 422;
    out->code = API_INVALID;

    if (sqlstate[0] == '\0' || strcmp(sqlstate, "57014") == 0 || strncmp(sqlstate, "08", 2) == 0 ||
        strcmp(sqlstate, "57P01") == 0 || strcmp(sqlstate, "40001") == 0 ||
        strcmp(sqlstate, "40P01") == 0) {
        out->http_status = 503;
        out->code = API_UNAVAILABLE;
        snprintf(reason, len, "the database did not complete the request (%s); a write may or may "
                 "not have been made: read it back, then retry", primary[0] ? primary : "no answer");
        return;
    }
    if (strcmp(sqlstate, "23505") == 0) {
        cc_key_value(message, value, sizeof(value));
        if (strstr(message, "campaigns_name_key")) {
            out->http_status = 409;
            out->code = API_NAME_EXISTS;
            out->field = "name";
            snprintf(reason, len, "name: a campaign named \"%s\" already exists; names are unique",
                     value);
        } else if (strstr(message, "callees_campaign_id_number_key")) {
            out->http_status = 409;
            out->code = API_CALLEE_EXISTS;
            out->field = "number";
            snprintf(reason, len, "number: already in this campaign (%s)", value);
        } else {
            out->http_status = 409;
            snprintf(reason, len, "%s", primary);
        }
        return;
    }
    if (strcmp(sqlstate, "23514") == 0 || strcmp(sqlstate, "23502") == 0) {
        cc_quoted_after(message, "constraint", name, sizeof(name));
        if (name[0] == '\0')
            cc_quoted_after(message, "column", name, sizeof(name));
        for (size_t i = 0; i < sizeof(cc_constraints) / sizeof(cc_constraints[0]); i++) {
            if (strcmp(name, cc_constraints[i].constraint) == 0) {
                out->field = cc_constraints[i].field;
                snprintf(reason, len, "%s: %s (database rule %s)", out->field,
                         cc_constraints[i].text, name);
                return;
            }
        }
        field = cc_message_field(primary);
        if (field) {
            /* Our triggers already name the field and what is accepted. */
            out->field = field;
            snprintf(reason, len, "%s", strchr(primary, '.') + 1);
            return;
        }
        field = name[0] ? cc_constraint_field(name) : NULL;
        if (field == NULL && strcmp(sqlstate, "23502") == 0 && name[0])
            field = cc_field_find(name) ? cc_field_find(name)->name : NULL;
        out->field = field;
        snprintf(reason, len, "%s: refused by the database rule %s (%s)", field ? field : "body",
                 name[0] ? name : "?", primary);
        return;
    }
    if (strcmp(sqlstate, "23503") == 0) {
        cc_key_value(message, value, sizeof(value));
        if (strstr(message, "campaigns_skill_group_id_fkey")) {
            out->field = "skill_group_id";
            snprintf(reason, len, "skill_group_id: skill group %s does not exist (see dialer.skill_groups)",
                     value[0] ? value : "?");
        } else if (strstr(message, "callees_campaign_id_fkey")) {
            out->http_status = 404;
            out->code = API_NO_CAMPAIGN;
            snprintf(reason, len, "campaign %s does not exist", value[0] ? value : "?");
        } else {
            snprintf(reason, len, "%s", primary);
        }
        return;
    }
    if (strcmp(sqlstate, "P0002") == 0) {
        out->http_status = 404;
        out->code = API_NO_CAMPAIGN;
        snprintf(reason, len, "%s", primary);
        return;
    }
    if (strcmp(sqlstate, "55000") == 0) {
        out->http_status = 409;
        cc_hint(message, hint, sizeof(hint));
        if (strstr(primary, "cannot be paused"))
            out->code = API_CANNOT_PAUSE;
        else if (strstr(primary, "cannot be resumed"))
            out->code = API_CANNOT_START;
        else if (strstr(primary, "cannot be deleted"))
            out->code = API_CANNOT_DELETE;
        else
            out->code = API_STATUS_FIXED;
        if (strncmp(primary, "campaigns.", 10) == 0)
            out->field = cc_message_field(primary);
        snprintf(reason, len, "%s%s%s", primary, hint[0] ? " (" : "", hint[0] ? hint : "");
        if (hint[0] && strlen(reason) + 2 < len)
            strcat(reason, ")");
        return;
    }
    if (strncmp(sqlstate, "22", 2) == 0) {
        /* Data exceptions: a value PostgreSQL could not take (these checks let it through). */
        field = cc_message_field(primary);
        out->field = field;
        snprintf(reason, len, "a value was refused by the database: %s", primary);
        return;
    }
    out->http_status = 500;
    out->code = API_UNAVAILABLE;
    snprintf(reason, len, "unexpected database error %s: %s", sqlstate, primary);
}
