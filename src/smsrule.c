/* SMS rules: which SMS an attempt's events trigger, when they are due, and the template's text. */
#include "smsrule.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static const char *const sms_trigger_names[SMS_TRIGGER_N] = {
    "hangup", "success", "failure", "ring", "feedback"
};

/* Names a trigger as the outbox spells it. */
const char *sms_trigger_name(enum sms_trigger t)
{
    return (unsigned)t < SMS_TRIGGER_N ? sms_trigger_names[t] : "?";
}

/* Whether any trigger is on. */
int sms_rule_any(const struct sms_rule *r)
{
    return r->on_hangup || r->on_success || r->on_failure || r->on_ring || r->on_feedback;
}

/* Whether the call was picked up, by a person or a machine. */
static int sms_rule_picked_up(const struct sms_facts *f)
{
    if (f->answered)
        return 1;
    if (f->out == NULL)
        return 0;
    /* The class says so even when no "answered" event came (machines send none). */
    return f->out->cls == OUTCOME_SUCCESS || f->out->cls == OUTCOME_DROPPED ||
           f->out->cls == OUTCOME_ABANDONED || f->out->cls == OUTCOME_MACHINE ||
           f->out->live_answer;
}

/* Appends one fire to out[]. */
static void sms_rule_add(struct sms_fire *out, int *n, enum sms_trigger t, int64_t due_ms)
{
    out[*n].trigger = t;
    out[*n].due_ms = due_ms;
    (*n)++;
}

/* Decides the triggers of one event. */
int sms_rule_decide(const struct sms_rule *r, const struct sms_facts *f, int64_t now_ms,
                    struct sms_fire out[SMS_TRIGGER_N])
{
    const struct outcome *o = f->out;
    int n = 0, picked = sms_rule_picked_up(f);

    if (o == NULL) {
        /* An intermediate event: only the phone ringing can be told before the end. */
        if (r->on_ring && (f->rang || picked))
            sms_rule_add(out, &n, SMS_TRIGGER_RING, now_ms);
        return n;
    }
    if (r->on_hangup && picked)
        sms_rule_add(out, &n, SMS_TRIGGER_HANGUP, now_ms);
    if (r->on_success && o->success) {
        /* From the end of the call, as seed 003 says; a late event makes it due at once. */
        int64_t base = f->ended_ms > 0 ? f->ended_ms : now_ms;
        int64_t due = base + (int64_t)r->success_delay_s * 1000;
        sms_rule_add(out, &n, SMS_TRIGGER_SUCCESS, due > now_ms ? due : now_ms);
    }
    if (r->on_failure && !o->success &&
        !(o->end_status && strcmp(o->end_status, "unknown") == 0))
        sms_rule_add(out, &n, SMS_TRIGGER_FAILURE, now_ms);
    /* The ringing event may never have come (lost, or folded into the end): the end says it. */
    if (r->on_ring && (f->rang || picked))
        sms_rule_add(out, &n, SMS_TRIGGER_RING, now_ms);
    if (r->on_feedback && r->feedback_value && f->keys && strchr(f->keys, r->feedback_value))
        sms_rule_add(out, &n, SMS_TRIGGER_FEEDBACK, now_ms);
    return n;
}

/* ------------------------------------------------------------------------------------------ */
/* Rendering                                                                                    */

/* Bytes of the UTF-8 sequence at s: its lead byte's length when the sequence is whole, else 1. */
static size_t sms_rule_seq_len(const char *s)
{
    unsigned char c = (unsigned char)s[0];
    size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
             : (c & 0xF8) == 0xF0 ? 4 : 1;

    for (size_t i = 1; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            return 1;
    return n;
}

/* The output being built: bytes and characters so far, and whether something was cut. */
struct sms_out {
    char *buf;
    size_t cap, len, chars;
    int cut;
};

/* Appends up to n bytes of s, whole characters only, within both limits. */
static void sms_out_put(struct sms_out *o, const char *s, size_t n)
{
    size_t i = 0;

    while (i < n && s[i] != '\0') {
        size_t k = sms_rule_seq_len(s + i);
        if (i + k > n)
            k = 1;
        if (o->chars >= SMS_RULE_BODY_MAX_CHARS || o->len + k >= o->cap) {
            o->cut = 1;
            return;
        }
        memcpy(o->buf + o->len, s + i, k);
        o->len += k;
        o->chars++;
        i += k;
    }
}

/* Which variable `${textN}` starts at p (1..10), with its length in *len; 0 when none. */
static int sms_rule_var_at(const char *p, size_t *len)
{
    if (strncmp(p, "${text", 6) != 0)
        return 0;
    if (p[6] >= '1' && p[6] <= '9' && p[7] == '}') {
        *len = 8;
        return p[6] - '0';
    }
    if (p[6] == '1' && p[7] == '0' && p[8] == '}') {
        *len = 9;
        return 10;
    }
    return 0;
}

/* Renders the template with vars[]. */
int sms_rule_render(const char *tmpl, const char *const vars[SMS_RULE_VARS], char *out,
                    size_t outlen)
{
    struct sms_out o = { out, outlen, 0, 0, 0 };
    const char *p = tmpl ? tmpl : "";

    if (outlen == 0)
        return 1;
    while (*p && !o.cut) {
        const char *dollar = strchr(p, '$');
        size_t len = 0;
        int v;

        if (dollar == NULL) {
            sms_out_put(&o, p, strlen(p));
            break;
        }
        sms_out_put(&o, p, (size_t)(dollar - p));
        v = sms_rule_var_at(dollar, &len);
        if (v > 0) {
            const char *val = vars ? vars[v - 1] : NULL;
            if (val)
                sms_out_put(&o, val, strlen(val));
            p = dollar + len;
        } else {
            /* Not one of ours: the '$' is text, and scanning goes on after it. */
            sms_out_put(&o, "$", 1);
            p = dollar + 1;
        }
    }
    out[o.len] = '\0';
    return o.cut;
}

/* Text of one JSON variable into buf (strings as they are, numbers / booleans as JSON). */
static const char *sms_rule_json_text(const cJSON *v, char *buf, size_t len)
{
    if (cJSON_IsString(v))
        return v->valuestring;
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v) ? "true" : "false";
    if (cJSON_IsNumber(v)) {
        /* cJSON's own spelling: integers without a fraction, others with 15-17 digits. */
        if (!cJSON_PrintPreallocated((cJSON *)v, buf, (int)len, 0))
            return NULL;
        return buf;
    }
    return NULL;
}

/* Renders with variables from the callee's JSON, else the campaign's. */
int sms_rule_render_json(const char *tmpl, const char *callee_vars, const char *campaign_vars,
                         char *out, size_t outlen)
{
    cJSON *mine = callee_vars ? cJSON_Parse(callee_vars) : NULL;
    cJSON *camp = campaign_vars ? cJSON_Parse(campaign_vars) : NULL;
    const char *vals[SMS_RULE_VARS];
    char nums[SMS_RULE_VARS][64];
    int cut;

    for (int i = 0; i < SMS_RULE_VARS; i++) {
        char key[8];
        const cJSON *v = NULL;
        snprintf(key, sizeof(key), "text%d", i + 1);
        if (cJSON_IsObject(mine))
            v = cJSON_GetObjectItemCaseSensitive(mine, key);
        if (v == NULL && cJSON_IsObject(camp))
            v = cJSON_GetObjectItemCaseSensitive(camp, key);
        vals[i] = v ? sms_rule_json_text(v, nums[i], sizeof(nums[i])) : NULL;
    }
    cut = sms_rule_render(tmpl, vals, out, outlen);
    cJSON_Delete(mine);
    cJSON_Delete(camp);
    return cut;
}

/* ------------------------------------------------------------------------------------------ */
/* The gateway                                                                                  */

/* Sorts an HTTP status (0 = no response) into sent / retry / fail. */
enum sms_verdict sms_rule_verdict(int http_status)
{
    if (http_status >= 200 && http_status < 300)
        return SMS_VERDICT_SENT;
    if (http_status == 0 || http_status == 429 || (http_status >= 500 && http_status < 600))
        return SMS_VERDICT_RETRY;
    return SMS_VERDICT_FAIL;
}

/* Exponential back-off with equal jitter. */
int64_t sms_rule_backoff_ms(int tries, int min_ms, int max_ms, double rnd01)
{
    double d = min_ms > 0 ? min_ms : 1;

    for (int i = 1; i < tries && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    if (rnd01 < 0)
        rnd01 = 0;
    if (rnd01 >= 1)
        rnd01 = 0.999999;
    return (int64_t)(d / 2 + rnd01 * d / 2);
}
