/* Unit tests for campaign_check: REST campaign and callee bodies field by field, PATCH rules by status, SQL error mapping. */
#include "campaign_check.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

/* Runs campaign_check_create on JSON text; returns the result code, err filled. */
static int create(const char *json, cJSON **out, char *err, size_t len)
{
    cJSON *body = cJSON_Parse(json);
    int r;

    if (body == NULL) {
        snprintf(err, len, "test JSON does not parse: %s", json);
        *out = NULL;
        return -9;
    }
    r = campaign_check_create(body, out, err, len);
    cJSON_Delete(body);
    return r;
}

/* Expects a create to fail with a message containing `want`. */
static void create_fails(const char *json, const char *want, const char *desc)
{
    cJSON *out = NULL;
    char err[2000];
    int r = create(json, &out, err, sizeof(err));

    ok(r == -1 && out == NULL, desc);
    has_str(err, want, desc);
    cJSON_Delete(out);
}

#define MIN "\"name\":\"n\",\"skill_group_id\":1,\"callers\":[\"+442070000001\"]"

/* A minimal body gets every default of §5.1; given values are kept and normalised. */
static void test_create_defaults(void)
{
    cJSON *out = NULL;
    char err[2000] = "", *text;

    is_int(create("{" MIN "}", &out, err, sizeof(err)), 0, "a minimal campaign is accepted");
    is_str(err, "", "without a message");
    text = cJSON_PrintUnformatted(out);
    has_str(text, "\"mode\":\"predictive\"", "mode defaults to predictive");
    has_str(text, "\"priority\":3", "priority defaults to 3");
    has_str(text, "\"callout_rate\":1", "callout_rate defaults to 1");
    has_str(text, "\"expected_abandon_rate\":3", "expected_abandon_rate defaults to 3");
    has_str(text, "\"call_order\":1", "call_order defaults to 1");
    has_str(text, "\"time_zone\":\"UTC\"", "time_zone defaults to UTC");
    has_str(text, "\"time_ranges\":[]", "time_ranges defaults to []");
    has_str(text, "\"ring_timeout_s\":30", "ring_timeout_s defaults to 30");
    has_str(text, "\"recall_interval_min\":30", "recall_interval_min defaults to 30");
    has_str(text, "\"variables\":{}", "variables default to {}");
    has_str(text, "\"sms_on_feedback\":false", "sms triggers default to false");
    has_str(text, "\"max_concurrent\":null", "nullable columns without a default are null");
    ok(strstr(text, "not_before") == NULL, "not_before is left to the database (now())");
    free(text);
    cJSON_Delete(out);

    is_int(create("{" MIN ",\"priority\":\"2\",\"callout_rate\":2.5,\"sms_feedback_value\":7,"
                  "\"variables\":[{\"Key\":\"text1\",\"Value\":\"hello\"}],"
                  "\"time_ranges\":[{\"start\":\"20:00:00\",\"end\":\"08:00:00\"}],"
                  "\"not_before\":\"2030-01-31T09:00:00+01:00\",\"not_after\":null}",
                  &out, err, sizeof(err)), 0, "a full body is accepted");
    text = cJSON_PrintUnformatted(out);
    has_str(text, "\"priority\":2", "a decimal string is read as a number");
    has_str(text, "\"callout_rate\":2.5", "callout_rate keeps its fraction");
    has_str(text, "\"sms_feedback_value\":\"7\"", "a feedback digit given as a number becomes text");
    has_str(text, "\"variables\":{\"text1\":\"hello\"}", "seed Variables [{Key,Value}] become an object");
    has_str(text, "\"end\":\"08:00:00\"", "a window across midnight is kept");
    free(text);
    cJSON_Delete(out);

    is_int(create("{\"name\":\"ivr\",\"mode\":\"agentless\",\"callers\":[\"12345\"]}", &out, err,
                  sizeof(err)), 0, "an agentless campaign needs no skill group");
    cJSON_Delete(out);
}

/* Every field refuses what §5.1 refuses, naming itself and what is accepted. */
static void test_create_fields(void)
{
    create_fails("{\"skill_group_id\":1,\"callers\":[\"+442070000001\"]}", "name: required", "name is required");
    create_fails("{\"name\":\"n\",\"skill_group_id\":1}", "callers: required", "callers are required");
    create_fails("{\"name\":\"\",\"skill_group_id\":1,\"callers\":[\"123\"]}", "name: 0 characters; accepted: 1 to 64", "an empty name");
    create_fails("{\"name\":\"   \",\"skill_group_id\":1,\"callers\":[\"123\"]}", "name: must not be blank", "a blank name");
    create_fails("{\"name\":\"" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "\",\"skill_group_id\":1,\"callers\":[\"123\"]}",
                 "name: 65 characters; accepted: 1 to 64", "a name of 65 characters");
    {
        cJSON *out = NULL;
        char err[500];
        /* 64 characters of two bytes each: char_length, not bytes, is what counts */
        char body[400] = "{\"skill_group_id\":1,\"callers\":[\"123\"],\"name\":\"";
        for (int i = 0; i < 64; i++)
            strcat(body, "\xc3\xa9");
        strcat(body, "\"}");
        is_int(create(body, &out, err, sizeof(err)), 0, "64 two-byte characters are a valid name");
        cJSON_Delete(out);
    }
    create_fails("{" MIN ",\"mode\":\"turbo\"}", "mode: \"turbo\" is not a mode; accepted: progressive, predictive, agentless", "an unknown mode");
    create_fails("{" MIN ",\"priority\":0}", "priority: 0 is out of range; accepted: whole numbers 1 to 5", "priority 0");
    create_fails("{" MIN ",\"priority\":2.5}", "priority: 2.5 is out of range", "a fractional priority");
    create_fails("{" MIN ",\"priority\":\"high\"}", "priority: \"high\" is not a number", "a word for a number");
    create_fails("{" MIN ",\"callout_rate\":101}", "callout_rate: 101 is out of range; accepted: numbers 1 to 100", "callout_rate 101");
    create_fails("{" MIN ",\"expected_abandon_rate\":-1}", "expected_abandon_rate: -1 is out of range; accepted: numbers 0 to 50", "a negative abandon rate");
    create_fails("{" MIN ",\"max_concurrent\":0}", "max_concurrent: 0 is out of range", "max_concurrent 0");
    create_fails("{" MIN ",\"call_order\":2}", "call_order: 2 is out of range; accepted: whole numbers 0 to 1", "call_order 2");
    create_fails("{" MIN ",\"ring_timeout_s\":14}", "ring_timeout_s: 14 is out of range; accepted: whole numbers 15 to 120", "ring_timeout_s 14");
    create_fails("{" MIN ",\"ring_timeout_s\":121}", "ring_timeout_s: 121", "ring_timeout_s 121");
    create_fails("{" MIN ",\"recall_num\":11}", "recall_num: 11 is out of range; accepted: whole numbers 0 to 10", "recall_num 11");
    create_fails("{" MIN ",\"recall_interval_min\":0}", "recall_interval_min: 0 is out of range", "recall_interval_min 0");
    create_fails("{" MIN ",\"recall_type\":3}", "recall_type: 3 is out of range", "recall_type 3");
    create_fails("{" MIN ",\"sms_success_delay_s\":10000}", "sms_success_delay_s: 10000 is out of range; accepted: whole numbers 1 to 9999", "sms_success_delay_s 10000");
    create_fails("{" MIN ",\"sms_feedback_value\":\"10\"}", "sms_feedback_value: \"10\" is not one digit", "a two-digit feedback value");
    create_fails("{" MIN ",\"sms_sender_id\":\"123456789012345678901234567890123\"}", "sms_sender_id: 33 characters; accepted: 0 to 32", "a 33-character sender id");
    create_fails("{" MIN ",\"sms_on_ring\":1}", "sms_on_ring: must be true or false, got a number", "a number for a boolean");
    create_fails("{" MIN ",\"priority\":null}", "priority: may not be null; leave it out to keep the default", "null for a column with a default");
    create_fails("{" MIN ",\"time_zone\":\"\"}", "time_zone: expected an IANA zone name", "an empty zone");
    create_fails("{" MIN ",\"variables\":[1]}", "variables[1]: expected {\"Key\": \"name\", \"Value\": \"text\"}", "a malformed seed variable");
    create_fails("{" MIN ",\"variables\":{\"a\":{\"b\":1}}}", "variables.a: values are strings, numbers or booleans, got an object", "a nested variable");
    create_fails("{" MIN ",\"variables\":\"x\"}", "variables: expected an object", "variables as a string");
    create_fails("{" MIN ",\"uui\":7}", "uui: must be a string, got a number", "a number for uui");
}

/* callers, time_ranges and timestamps: the structured fields. */
static void test_create_structured(void)
{
    create_fails("{\"name\":\"n\",\"skill_group_id\":1,\"callers\":[]}", "callers: expected a non-empty array", "no callers");
    create_fails("{\"name\":\"n\",\"skill_group_id\":1,\"callers\":\"+442070000001\"}", "got a string", "callers as a string");
    create_fails("{\"name\":\"n\",\"skill_group_id\":1,\"callers\":[\"+44 20 7000\"]}", "callers[1]: \"+44 20 7000\" is not a phone number", "a caller with spaces");
    create_fails("{\"name\":\"n\",\"skill_group_id\":1,\"callers\":[\"123\",\"456\",\"123\"]}", "callers[3]: \"123\" is already listed at position 1", "a caller given twice");
    create_fails("{" MIN ",\"time_ranges\":{}}", "time_ranges: expected an array", "time_ranges as an object");
    create_fails("{" MIN ",\"time_ranges\":[{\"start\":\"09:00\",\"end\":\"10:00:00\"}]}", "time_ranges[1].start: \"09:00\" is not a time of day HH:MM:SS", "a short time of day");
    create_fails("{" MIN ",\"time_ranges\":[{\"start\":\"09:00:00\",\"end\":\"24:00:00\"}]}", "time_ranges[1].end: \"24:00:00\"", "24:00:00");
    create_fails("{" MIN ",\"time_ranges\":[{\"start\":\"09:00:00\"}]}", "time_ranges[1].end: missing", "a window without an end");
    create_fails("{" MIN ",\"time_ranges\":[{\"start\":\"09:00:00\",\"end\":\"09:00:00\"}]}", "start and end are both \"09:00:00\"", "an empty window");
    create_fails("{" MIN ",\"time_ranges\":[{\"start\":\"09:00:00\",\"end\":\"10:00:00\",\"tz\":1}]}", "time_ranges[1]: unknown key \"tz\"", "an extra key in a window");
    create_fails("{" MIN ",\"not_before\":\"2030-01-31 09:00\"}", "not_before: \"2030-01-31 09:00\" is not a timestamp with an offset", "a timestamp without an offset");
    create_fails("{" MIN ",\"not_after\":1893456000}", "not_after: a number is not a timestamp", "a Unix time");

    ok(campaign_check_timestamp("2030-01-31T09:00:00Z"), "RFC 3339 with Z");
    ok(campaign_check_timestamp("2030-01-31 09:00:00.123456+05:30"), "space, fraction and offset");
    ok(campaign_check_timestamp("2028-02-29T00:00-08"), "a leap day, minutes only, hour offset");
    ok(!campaign_check_timestamp("2030-02-29T00:00:00Z"), "29 February of a common year");
    ok(!campaign_check_timestamp("2030-13-01T00:00:00Z"), "month 13");
    ok(!campaign_check_timestamp("2030-01-31T24:00:00Z"), "hour 24");
    ok(!campaign_check_timestamp("2030-01-31T09:00:00Zjunk"), "trailing text");
    ok(!campaign_check_timestamp("2030-01-31T09:00:00+0530x"), "a bad offset");
    ok(campaign_check_number("+447700900123") && campaign_check_number("123"), "numbers: + and 3 digits");
    ok(!campaign_check_number("12") && !campaign_check_number("+1234567890123456") &&
       !campaign_check_number("12a4") && !campaign_check_number("") && !campaign_check_number("++123"),
       "numbers: too short, too long, letters, empty, double +");
}

/* Cross-field rules, unknown and read-only keys. */
static void test_create_rules(void)
{
    create_fails("{\"name\":\"n\",\"callers\":[\"123\"]}", "skill_group_id: required unless mode is agentless (mode is predictive)", "a predictive campaign needs a skill group");
    create_fails("{" MIN ",\"sms_on_success\":true}", "sms_content: required when an sms_on_* trigger is true", "an SMS trigger without a text");
    create_fails("{" MIN ",\"sms_on_feedback\":true,\"sms_content\":\"hi\"}", "sms_feedback_value: required when sms_on_feedback is true", "feedback without a value");
    create_fails("{" MIN ",\"colour\":\"red\"}", "\"colour\": unknown field; the body uses the columns of dialer.campaigns", "an unknown field");
    create_fails("{" MIN ",\"status\":1}", "status: cannot be set here", "status is not set by a create");
    create_fails("{" MIN ",\"id\":9}", "id: cannot be set here: the id is assigned by the database", "id is not set by a create");
    create_fails("{" MIN ",\"priority\":0,\"ring_timeout_s\":1}", "priority: 0 is out of range; accepted: whole numbers 1 to 5; ring_timeout_s: 1", "every problem is reported, separated by ;");
    create_fails("{" MIN ",\"uui\":\"\xff\xfe\"}", "uui: not valid UTF-8", "invalid UTF-8 is refused before the database");
}

/* PATCH: only the given fields, the statuses that allow them, and why the others do not. */
static void test_patch(void)
{
    cJSON *body, *out = NULL;
    unsigned mask = 0;
    char err[1000], why[600];

    body = cJSON_Parse("{\"priority\":2,\"uui\":null}");
    is_int(campaign_check_patch(body, &out, &mask, err, sizeof(err)), 0, "a patch of two fields");
    is_int(cJSON_GetArraySize(out), 2, "holds only the given fields");
    is_int(mask, CAMPAIGN_STATUS_BIT(0) | CAMPAIGN_STATUS_BIT(1) | CAMPAIGN_STATUS_BIT(2),
           "priority and uui may change while ready, running or paused");
    is_int(campaign_check_patch_refusal(out, 1, 7, why, sizeof(why)), 0, "allowed while running");
    is_int(campaign_check_patch_refusal(out, 4, 7, why, sizeof(why)), 1, "refused once completed");
    has_str(why, "campaign 7 is completed (4): an ended campaign cannot be modified", "and says why");
    cJSON_Delete(body);
    cJSON_Delete(out);

    body = cJSON_Parse("{\"priority\":2,\"skill_group_id\":3}");
    is_int(campaign_check_patch(body, &out, &mask, err, sizeof(err)), 0, "a patch moving the pool");
    is_int(mask, CAMPAIGN_STATUS_BIT(0) | CAMPAIGN_STATUS_BIT(2), "the pool changes only while ready or paused");
    is_int(campaign_check_patch_refusal(out, 1, 7, why, sizeof(why)), 1, "refused while running");
    has_str(why, "skill_group_id: cannot change while campaign 7 is running (1)", "naming the field");
    has_str(why, "pause it first (POST /v1/campaigns/7/pause)", "and what to do");
    cJSON_Delete(body);
    cJSON_Delete(out);

    body = cJSON_Parse("{\"not_before\":\"2030-01-01T00:00:00Z\"}");
    is_int(campaign_check_patch(body, &out, &mask, err, sizeof(err)), 0, "a patch of not_before");
    is_int(mask, CAMPAIGN_STATUS_BIT(0), "not_before changes only while ready");
    is_int(campaign_check_patch_refusal(out, 2, 7, why, sizeof(why)), 1, "refused once started");
    has_str(why, "not_before: cannot change now that campaign 7 is paused (2)", "naming the field");
    cJSON_Delete(body);
    cJSON_Delete(out);

    body = cJSON_Parse("{}");
    is_int(campaign_check_patch(body, &out, &mask, err, sizeof(err)), -1, "an empty patch is refused");
    has_str(err, "names no field to change", "saying so");
    cJSON_Delete(body);
    body = cJSON_Parse("{\"status\":2}");
    is_int(campaign_check_patch(body, &out, &mask, err, sizeof(err)), -2, "a patch of status is -2 (REST -54)");
    has_str(err, "status: a campaign's status cannot be modified by PATCH", "pointing at the control routes");
    cJSON_Delete(body);
    body = cJSON_Parse("{\"name\":null}");
    is_int(campaign_check_patch(body, &out, &mask, err, sizeof(err)), -1, "name cannot be patched to null");
    has_str(err, "name: may not be null", "saying so");
    cJSON_Delete(body);
    body = cJSON_Parse("{\"mode\":\"agentless\",\"skill_group_id\":null}");
    is_int(campaign_check_patch(body, &out, &mask, err, sizeof(err)), 0,
           "a patch's cross-field rules are the database's (it knows the row)");
    cJSON_Delete(body);
    cJSON_Delete(out);
}

/* Callees: our names, the seed's CalleeAttribute, bare numbers. */
static void test_callee(void)
{
    cJSON *item, *out = NULL;
    char err[600], *text;

    item = cJSON_Parse("{\"number\":\"+447700900123\",\"uui\":\"u'1\",\"variables\":{\"text1\":\"a\"},"
                       "\"time_zone\":\"Europe/London\"}");
    is_int(campaign_check_callee(item, &out, err, sizeof(err)), 0, "a callee with our column names");
    text = cJSON_PrintUnformatted(out);
    is_str(text, "{\"number\":\"+447700900123\",\"uui\":\"u'1\",\"variables\":{\"text1\":\"a\"},"
           "\"time_zone\":\"Europe/London\"}", "is normalised unchanged");
    free(text);
    cJSON_Delete(item);
    cJSON_Delete(out);

    item = cJSON_Parse("{\"Callee\":\"0044123\",\"UUI\":\"x\",\"Variables\":[{\"Key\":\"k\",\"Value\":\"v\"}]}");
    is_int(campaign_check_callee(item, &out, err, sizeof(err)), 0, "the seed's CalleeAttribute");
    text = cJSON_PrintUnformatted(out);
    is_str(text, "{\"number\":\"0044123\",\"uui\":\"x\",\"variables\":{\"k\":\"v\"},\"time_zone\":null}",
           "becomes our columns");
    free(text);
    cJSON_Delete(item);
    cJSON_Delete(out);

    item = cJSON_Parse("\"+15550001\"");
    is_int(campaign_check_callee(item, &out, err, sizeof(err)), 0, "a bare number string");
    ok(out && strcmp(cJSON_GetObjectItemCaseSensitive(out, "number")->valuestring, "+15550001") == 0,
       "is a callee");
    cJSON_Delete(item);
    cJSON_Delete(out);

#define CALLEE_FAILS(json, want, desc) do { \
        cJSON *i_ = cJSON_Parse(json), *o_ = NULL; \
        is_int(campaign_check_callee(i_, &o_, err, sizeof(err)), -1, desc); \
        has_str(err, want, desc); \
        cJSON_Delete(i_); \
        cJSON_Delete(o_); \
    } while (0)
    CALLEE_FAILS("{\"number\":\"07700 900123\"}", "number: \"07700 900123\" is not a phone number", "a number with a space");
    CALLEE_FAILS("{\"uui\":\"x\"}", "number: required", "no number");
    CALLEE_FAILS("{\"number\":447700900123}", "number: a number is not a phone number", "a JSON number");
    CALLEE_FAILS("{\"number\":\"123\",\"Callee\":\"456\"}", "given twice", "our name and the seed's together");
    CALLEE_FAILS("{\"number\":\"123\",\"name\":\"Bob\"}", "\"name\": unknown field; a callee has number, uui, variables, time_zone", "an unknown field");
    CALLEE_FAILS("{\"number\":\"123\",\"time_zone\":5}", "time_zone: expected an IANA zone name", "a number for a zone");
    CALLEE_FAILS("{\"number\":\"123\",\"Variables\":[{\"Key\":\"a\",\"Value\":\"1\"},{\"Key\":\"a\",\"Value\":\"2\"}]}", "Key \"a\" is given twice", "a seed key twice");
    CALLEE_FAILS("[1]", "expected a callee object", "an array item");
    CALLEE_FAILS("{\"number\":\"123\",\"uui\":\"\xc3\"}", "callee: not valid UTF-8", "a cut UTF-8 sequence");
}

/* Ids from the path. */
static void test_id(void)
{
    int64_t id;
    char err[200];

    is_int(campaign_check_id("42", &id, err, sizeof(err)), 0, "42 is an id");
    is_int(id, 42, "read as 42");
    is_int(campaign_check_id("9223372036854775807", &id, err, sizeof(err)), 0, "the largest bigint");
    is_int(campaign_check_id("9223372036854775808", &id, err, sizeof(err)), -1, "one past it");
    is_int(campaign_check_id("0", &id, err, sizeof(err)), -1, "0");
    is_int(campaign_check_id("007", &id, err, sizeof(err)), -1, "leading zeros");
    is_int(campaign_check_id("-1", &id, err, sizeof(err)), -1, "negative");
    is_int(campaign_check_id("1e3", &id, err, sizeof(err)), -1, "exponent");
    has_str(err, "campaign id: \"1e3\" is not a campaign id", "the message names the value");
}

/* Maps one error and checks status, code, field and a piece of the reason. */
static void sql_is(const char *state, const char *msg, int http, int code, const char *field,
                   const char *want, const char *desc)
{
    struct campaign_sql_error e;
    char reason[800];

    campaign_check_sql_error(state, msg, &e, reason, sizeof(reason));
    ok(e.http_status == http && (int)e.code == code, desc);
    if (e.http_status != http || (int)e.code != code)
        printf("#   got %d/%d, want %d/%d\n", e.http_status, (int)e.code, http, code);
    is_str(e.field, field, desc);
    has_str(reason, want, desc);
}

/* SQLSTATE and message to REST code. */
static void test_sql_errors(void)
{
    sql_is("23505", "ERROR:  duplicate key value violates unique constraint \"campaigns_name_key\" DETAIL:  Key (name)=(spring) already exists.",
           409, API_NAME_EXISTS, "name", "name: a campaign named \"spring\" already exists", "a duplicate name is -33");
    sql_is("23514", "ERROR:  new row for relation \"campaigns\" violates check constraint \"campaigns_priority_1_to_5\" DETAIL:  Failing row contains (...).",
           422, API_INVALID, "priority", "priority: refused by the database rule campaigns_priority_1_to_5", "a range check names its column");
    sql_is("23514", "ERROR:  new row for relation \"campaigns\" violates check constraint \"campaigns_skill_group_id_required_unless_agentless\"",
           422, API_INVALID, "skill_group_id", "skill_group_id: required unless mode is agentless", "a cross-field check names the field");
    sql_is("23514", "ERROR:  campaigns.time_zone: unknown time zone \"Mars/Base\" (use an IANA name from pg_timezone_names, e.g. Europe/London) CONTEXT:  PL/pgSQL function",
           422, API_INVALID, "time_zone", "time_zone: unknown time zone \"Mars/Base\"", "a trigger's message keeps its text");
    sql_is("23514", "ERROR:  new row for relation \"campaigns\" violates check constraint \"campaigns_sms_content_at_most_1000_chars\"",
           422, API_INVALID, "sms_content", "sms_content: refused", "the longest column prefix wins (sms_content, not sms)");
    sql_is("23503", "ERROR:  insert or update on table \"campaigns\" violates foreign key constraint \"campaigns_skill_group_id_fkey\" DETAIL:  Key (skill_group_id)=(77) is not present in table \"skill_groups\".",
           422, API_INVALID, "skill_group_id", "skill group 77 does not exist", "an unknown skill group");
    sql_is("P0002", "ERROR:  campaign 9 does not exist", 404, API_NO_CAMPAIGN, NULL, "campaign 9 does not exist", "P0002 is -32");
    sql_is("55000", "ERROR:  campaign 9 cannot be paused: it is ready (0); only a running (1) campaign can be paused",
           409, API_CANNOT_PAUSE, NULL, "cannot be paused", "pause refused is -38");
    sql_is("55000", "ERROR:  campaign 9 cannot be resumed: it is ready (0); only a paused (2) campaign can be resumed HINT:  A ready campaign starts by itself at not_before.",
           409, API_CANNOT_START, NULL, "(A ready campaign starts by itself at not_before.)", "resume refused is -39, with the hint");
    sql_is("55000", "ERROR:  campaign 9 cannot be deleted: it is running (1); pause or abort it first",
           409, API_CANNOT_DELETE, NULL, "cannot be deleted", "delete refused is -44");
    sql_is("55000", "ERROR:  campaign 9 cannot be aborted: it is already completed (4)",
           409, API_STATUS_FIXED, NULL, "cannot be aborted", "abort refused is -54");
    sql_is("22007", "ERROR:  invalid input syntax for type timestamp with time zone: \"x\"",
           422, API_INVALID, NULL, "refused by the database: invalid input syntax", "a data exception is -27");
    sql_is("", "server closed the connection unexpectedly", 503, API_UNAVAILABLE, NULL,
           "may or may not have been made", "a lost connection is 503");
    sql_is("57014", "ERROR:  canceling statement due to statement timeout", 503, API_UNAVAILABLE, NULL,
           "statement timeout", "a timeout is 503");
    sql_is("42P01", "ERROR:  relation \"x\" does not exist", 500, API_UNAVAILABLE, NULL,
           "unexpected database error 42P01", "anything else is 500");
}

/* Runs every group. */
int main(void)
{
    test_create_defaults();
    test_create_fields();
    test_create_structured();
    test_create_rules();
    test_patch();
    test_callee();
    test_id();
    test_sql_errors();
    return tap_done();
}
