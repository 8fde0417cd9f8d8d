/* Store: every SQL statement the daemon runs, prepared on each connection, with typed wrappers. */
#include "store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Each statement is one transaction. Writes are conditional on the row still being in the
 * state the daemon believes (callee in state 3 with the same attempt count, attempt not yet
 * ended), so a repeated or late write changes nothing.
 */

/*
 * Claim in a given order (BY_ORDER_KEY "false": id, "true": order_key): dialable rows, locked
 * without waiting on rows another claim holds, set to calling. dialer.claim_callees (sql/0009,
 * over 0008's claimable_callees) chooses them, looks up their prior success and writes them: a
 * prepared statement's generic plan follows the statistics, and after a bulk load they sent the
 * choice through callees_pkey past every dialed row and the write through a sequential scan of
 * the table; the functions' plans cannot leave the indexes. The lease test is a one-time
 * filter, so without the lease the function is not called and no row is locked or written.
 */
#define STORE_CLAIM_SQL(BY_ORDER_KEY) \
    "WITH upd AS (" \
    "  SELECT p.id, p.number, p.attempts, p.uui, p.variables, p.time_zone, p.prior_success" \
    "    FROM dialer.claim_callees($1::bigint, $2::int, " BY_ORDER_KEY ", $6::text, $7::text[]) p" \
    "   WHERE EXISTS (SELECT 1 FROM dialer.leases l" \
    "                  WHERE l.pool = dialer.attempt_pool($4::bigint, $1::bigint)" \
    "                    AND l.owner = $5 AND l.expires_at > now())" \
    "), slot AS (" \
    "  SELECT upd.*, row_number() OVER (ORDER BY upd.id) AS rn FROM upd" \
    "), ins AS (" \
    "  INSERT INTO dialer.attempts (callee_id, campaign_id, attempt_no, caller, skill_group_id, instance)" \
    "  SELECT s.id, $1, s.attempts, ($3::text[])[s.rn], $4, $5 FROM slot s" \
    "  RETURNING id, callee_id, caller" \
    ")" \
    " SELECT ins.id, s.id, s.number, s.attempts, s.uui, s.variables::text, ins.caller," \
    "        s.prior_success, s.time_zone" \
    "   FROM ins JOIN slot s ON s.id = ins.callee_id ORDER BY s.rn"

/*
 * The writable columns of dialer.campaigns (DESIGN §5.1), as REST create and PATCH set them from
 * a JSON object through jsonb_populate_record: keys travel as data, columns are fixed here.
 */
#define STORE_CAMPAIGN_COLS \
    "name, mode, priority, skill_group_id, callout_rate, expected_abandon_rate, max_concurrent," \
    " callers, call_order, not_before, not_after, time_zone, time_ranges, ring_timeout_s," \
    " recall_num, recall_interval_min, recall_type, uui, variables, sms_sender_id, sms_content," \
    " sms_on_hangup, sms_on_success, sms_on_failure, sms_on_ring, sms_on_feedback," \
    " sms_success_delay_s, sms_feedback_value"
/* The same columns read from record r; NOT_BEFORE is the expression for not_before. */
#define STORE_CAMPAIGN_VALUES(NOT_BEFORE) \
    "r.name, r.mode, r.priority, r.skill_group_id, r.callout_rate, r.expected_abandon_rate," \
    " r.max_concurrent, r.callers, r.call_order, " NOT_BEFORE ", r.not_after, r.time_zone," \
    " r.time_ranges, r.ring_timeout_s, r.recall_num, r.recall_interval_min, r.recall_type, r.uui," \
    " r.variables, r.sms_sender_id, r.sms_content, r.sms_on_hangup, r.sms_on_success," \
    " r.sms_on_failure, r.sms_on_ring, r.sms_on_feedback, r.sms_success_delay_s, r.sms_feedback_value"
/* One page of a list: the items in key order and the cursor of the next page (NULL at the end). */
#define STORE_PAGE(ROWS, ITEM, KEY, LIMIT) \
    "SELECT '{\"items\":[' || coalesce(string_agg(row_to_json(" ITEM ")::text, ',' ORDER BY x." KEY "), '')" \
    "       || '],\"next_after\":'" \
    "       || coalesce(to_json(CASE WHEN count(*) = " LIMIT " THEN max(x." KEY ") END)::text, 'null') || '}'" \
    "  FROM (" ROWS ") x"

/*
 * The SMS an event triggers, inserted by the statement that records the event (DESIGN §3.4):
 * one row per trigger of the text[] TRIG, due DUE[i] ms from now, for each row of CTE A (the
 * attempt, when this statement changed it). A repeat finds the (attempt_id, trigger) key taken
 * and inserts nothing, so a crash between the outcome and its SMS cannot happen, and a repeated
 * event cannot queue a second SMS.
 */
#define STORE_SMS_INSERT(A, TRIG, DUE, TO, SENDER, BODY) \
    "  INSERT INTO dialer.sms_outbox (attempt_id, campaign_id, callee_id, trigger, to_number," \
    "                                 sender_id, body, due_at)" \
    "  SELECT " A ".id, " A ".campaign_id, " A ".callee_id, t.trig, " TO "::text, " SENDER "::text," \
    "         " BODY "::text, now() + make_interval(secs => t.due_ms / 1000.0)" \
    "    FROM " A " CROSS JOIN unnest(" TRIG "::text[], " DUE "::float8[]) AS t (trig, due_ms)" \
    "  ON CONFLICT (attempt_id, trigger) DO NOTHING" \
    "  RETURNING due_at"

/* Unix milliseconds of a timestamptz column, NULL stays NULL. */
#define MS(col) "(extract(epoch FROM " col ") * 1000)::bigint"

static const struct db_stmt store_stmts[STORE_N_STMTS] = {
    [STORE_CAMPAIGNS_LOAD] = { "campaigns_load",
        "SELECT id, name, mode, status, priority, coalesce(skill_group_id, 0),"
        "       callout_rate::float8, expected_abandon_rate::float8, coalesce(max_concurrent, 0),"
        "       array_to_string(callers, ','), call_order,"
        "       extract(epoch FROM not_before)::float8, extract(epoch FROM not_after)::float8,"
        "       time_zone, time_ranges::text, ring_timeout_s, recall_num, recall_interval_min,"
        "       recall_type, uui, variables::text,"
        "       sms_on_hangup, sms_on_success, sms_on_failure, sms_on_ring, sms_on_feedback,"
        "       sms_success_delay_s, sms_feedback_value, sms_sender_id, sms_content"
        "  FROM dialer.campaigns WHERE status IN (0, 1, 2) ORDER BY id", 0 },
    [STORE_AGENTS_LOAD] = { "agents_load",
        "SELECT a.id, a.status, extract(epoch FROM a.status_since)::float8,"
        "       coalesce(s.skill_group_id, 0), coalesce(s.priority, 5)"
        "  FROM dialer.agents a LEFT JOIN dialer.agent_skill_groups s ON s.agent_id = a.id"
        " ORDER BY a.id, s.priority, s.skill_group_id", 0 },
    [STORE_AGENT_LOAD] = { "agent_load",
        "SELECT a.id, a.status, extract(epoch FROM a.status_since)::float8,"
        "       coalesce(s.skill_group_id, 0), coalesce(s.priority, 5)"
        "  FROM dialer.agents a LEFT JOIN dialer.agent_skill_groups s ON s.agent_id = a.id"
        " WHERE a.id = $1 ORDER BY s.priority, s.skill_group_id", 1 },
    [STORE_CALLERS_LOAD] = { "callers_load",
        "SELECT number, max_concurrent, max_cps::float8, state FROM dialer.caller_numbers", 0 },
    [STORE_CLAIM_ORDERED] = { "claim_ordered", STORE_CLAIM_SQL("false"), 7 },
    [STORE_CLAIM_RANDOM] = { "claim_random", STORE_CLAIM_SQL("true"), 7 },
    [STORE_ATTEMPT_DIALED] = { "attempt_dialed",
        "UPDATE dialer.attempts SET dialed_at = coalesce(dialed_at, now()),"
        "       session_id = coalesce(session_id, $2)"
        " WHERE id = $1", 2 },
    [STORE_ATTEMPT_REVERT] = { "attempt_revert",
        "WITH a AS (DELETE FROM dialer.attempts"
        "            WHERE id = $1 AND ended_at IS NULL AND dialed_at IS NULL"
        "           RETURNING callee_id, attempt_no)"
        " UPDATE dialer.callees c"
        "    SET state = CASE WHEN a.attempt_no = 1 THEN 0 ELSE 4 END,"
        "        attempts = a.attempt_no - 1,"
        "        next_attempt_at = CASE WHEN a.attempt_no = 1 THEN c.next_attempt_at"
        "                               ELSE coalesce(c.next_attempt_at, now()) END"
        "   FROM a WHERE c.id = a.callee_id AND c.state = 3 AND c.attempts = a.attempt_no"
        " RETURNING c.id", 1 },
    [STORE_ATTEMPT_EVENT] = { "attempt_event",
        "WITH a AS ("
        "UPDATE dialer.attempts SET"
        "   ringing_at = CASE WHEN $2 = 'ringing' THEN coalesce(ringing_at, to_timestamp($3::float8 / 1000)) ELSE ringing_at END,"
        "   answered_at = CASE WHEN $2 = 'answered' THEN coalesce(answered_at, to_timestamp($3::float8 / 1000)) ELSE answered_at END,"
        "   connected_at = CASE WHEN $2 = 'connected' THEN coalesce(connected_at, to_timestamp($3::float8 / 1000)) ELSE connected_at END,"
        "   agent_id = coalesce(agent_id, $4), session_id = coalesce(session_id, $5),"
        "   last_seq = greatest(last_seq, $6::int)"
        /* A repeat (nothing new to record) leaves the row untouched. */
        " WHERE id = $1 AND (CASE $2 WHEN 'ringing' THEN ringing_at IS NULL"
        "                           WHEN 'answered' THEN answered_at IS NULL"
        "                           WHEN 'connected' THEN connected_at IS NULL ELSE false END"
        "                    OR (agent_id IS NULL AND $4::text IS NOT NULL)"
        "                    OR (session_id IS NULL AND $5::text IS NOT NULL))"
        " RETURNING id, campaign_id, callee_id, ended_at IS NOT NULL AS ended"
        "), s AS (" STORE_SMS_INSERT("a", "$7", "$8", "$9", "$10", "$11") ")"
        " SELECT a.ended, (SELECT count(*) FROM s) FROM a", 11 },
    [STORE_ATTEMPT_GET] = { "attempt_get",
        "SELECT a.callee_id, a.campaign_id, a.attempt_no, a.ended_at IS NOT NULL,"
        "       " MS("a.created_at") ", " MS("a.ringing_at") ", " MS("a.answered_at") ","
        "       " MS("a.connected_at") ", a.agent_id, a.last_seq, a.caller, cl.number,"
        "       EXISTS (SELECT 1 FROM dialer.attempts p"
        "                WHERE p.callee_id = a.callee_id AND p.success AND p.id <> a.id),"
        "       a.session_id, cl.variables::text"
        "  FROM dialer.attempts a JOIN dialer.callees cl ON cl.id = a.callee_id WHERE a.id = $1", 1 },
    [STORE_AGENT_SET_STATUS] = { "agent_set_status",
        "UPDATE dialer.agents SET status = $2, status_reason = $3, status_since = now()"
        " WHERE id = $1 RETURNING extract(epoch FROM status_since)::float8", 3 },
    [STORE_CAMPAIGN_START] = { "campaign_start",
        "UPDATE dialer.campaigns SET status = 1"
        " WHERE id = $1 AND status = 0 AND not_before <= now() RETURNING id", 1 },
    [STORE_CAMPAIGN_OVERTIME] = { "campaign_overtime",
        "UPDATE dialer.campaigns SET status = 3, status_reason = 2"
        " WHERE id = $1 AND status IN (0, 1, 2) AND not_after <= now() RETURNING id", 1 },
    [STORE_CAMPAIGN_COMPLETE] = { "campaign_complete",
        "UPDATE dialer.campaigns SET status = 4"
        " WHERE id = $1 AND status = 1"
        /* An empty campaign waits for its callees rather than completing at once. */
        "   AND EXISTS (SELECT 1 FROM dialer.callees WHERE campaign_id = $1)"
        "   AND NOT EXISTS (SELECT 1 FROM dialer.callees"
        "                    WHERE campaign_id = $1 AND state IN (0, 3, 4))"
        " RETURNING id", 1 },
    [STORE_RECONCILE_LIST] = { "reconcile_list",
        "SELECT a.id FROM dialer.attempts a JOIN dialer.campaigns c ON c.id = a.campaign_id"
        " WHERE a.ended_at IS NULL"
        /* Its own, or a dead instance's whose pool it now holds or nobody alive holds. */
        "   AND (a.instance = $1 OR a.instance IS NULL"
        "        OR (NOT dialer.instance_alive(a.instance)"
        "            AND NOT EXISTS (SELECT 1 FROM dialer.leases l"
        "                             WHERE l.pool = dialer.attempt_pool(a.skill_group_id, a.campaign_id)"
        "                               AND l.owner <> $1 AND dialer.instance_alive(l.owner))))"
        /* Rings are timed from the dial that went out (retries may send it late). */
        "   AND ((a.answered_at IS NULL"
        "         AND coalesce(a.dialed_at, a.created_at)"
        "             < now() - make_interval(secs => c.ring_timeout_s + $2::float8))"
        "        OR a.created_at < now() - make_interval(secs => $3::float8))"
        " ORDER BY a.id LIMIT 500", 3 },
    [STORE_ZONE_SECONDS] = { "zone_seconds",
        "SELECT zone, sod FROM dialer.zone_seconds($1::text[], now())", 1 },
    [STORE_CALLEE_ZONES] = { "callee_zones",
        "SELECT DISTINCT time_zone FROM dialer.callees"
        " WHERE campaign_id = $1 AND state IN (0, 4) AND time_zone IS NOT NULL LIMIT 500", 1 },
    [STORE_DNC_SWEEP_CAMPAIGN] = { "dnc_sweep_campaign",
        "UPDATE dialer.callees c SET state = 2, last_end_status = 'dnc', next_attempt_at = NULL"
        "  FROM dialer.dnc d"
        " WHERE c.campaign_id = $1 AND c.state IN (0, 4) AND d.number = c.number"
        " RETURNING c.id", 1 },
    [STORE_DNC_SWEEP_NUMBER] = { "dnc_sweep_number",
        "UPDATE dialer.callees c SET state = 2, last_end_status = 'dnc', next_attempt_at = NULL"
        " WHERE c.number = $1 AND c.state IN (0, 4)"
        "   AND EXISTS (SELECT 1 FROM dialer.dnc d WHERE d.number = $1)"
        " RETURNING c.campaign_id", 1 },
    [STORE_ABANDON_WINDOW] = { "abandon_window",
        "SELECT count(*) FILTER (WHERE answered_at IS NOT NULL"
        "                          AND end_status IS DISTINCT FROM 'machine'),"
        "       count(*) FILTER (WHERE end_status = 'abandoned')"
        "  FROM dialer.attempts"
        " WHERE campaign_id = $1 AND created_at > now() - make_interval(secs => $2::float8)", 2 },
    /*
     * One round trip per renewal: the heartbeat, the leases let go (asked, or no longer
     * wanted), renewal of those held, and bids for free or expired ones up to the fair share.
     * Bids are ordered by a hash of pool and instance so that instances starting together
     * spread over the pools instead of racing for the same ones.
     */
    [STORE_LEASE_RENEW] = { "lease_renew",
        "WITH hb AS ("
        "  INSERT INTO dialer.instances AS i (name, pid, host, lease_ms) VALUES ($1, $5::int, $6, $3::int)"
        "  ON CONFLICT (name) DO UPDATE SET pid = EXCLUDED.pid, host = EXCLUDED.host,"
        "         lease_ms = EXCLUDED.lease_ms, heartbeat_at = now()"
        "  RETURNING 1"
        "), gone AS ("
        "  DELETE FROM dialer.leases"
        "   WHERE owner = $1 AND (pool = ANY ($4::text[]) OR NOT pool = ANY ($2::text[]))"
        "  RETURNING pool"
        "), wanted AS ("
        "  SELECT DISTINCT w AS pool FROM unnest($2::text[]) w WHERE NOT w = ANY ($4::text[])"
        "), live AS ("
        "  SELECT 1 + count(*) AS n FROM dialer.instances"
        "   WHERE name <> $1 AND heartbeat_at > now() - make_interval(secs => lease_ms / 1000.0)"
        "), share AS ("
        "  SELECT ceil((SELECT count(DISTINCT w) FROM unnest($2::text[]) w)::numeric"
        "              / (SELECT n FROM live))::int AS q"
        "), mine AS ("
        "  SELECT w.pool FROM wanted w JOIN dialer.leases l USING (pool) WHERE l.owner = $1"
        "), free AS ("
        "  SELECT w.pool FROM wanted w LEFT JOIN dialer.leases l USING (pool)"
        "   WHERE l.pool IS NULL OR (l.owner <> $1 AND l.expires_at < now())"
        "   ORDER BY hashtext(w.pool || '/' || $1)"
        "   LIMIT greatest(0, (SELECT q FROM share) - (SELECT count(*) FROM mine))"
        "), held AS ("
        "  INSERT INTO dialer.leases AS l (pool, owner, expires_at)"
        "  SELECT pool, $1, now() + make_interval(secs => $3::int / 1000.0)"
        "    FROM (SELECT pool FROM mine UNION SELECT pool FROM free) x"
        "  ON CONFLICT (pool) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at,"
        "         renewed_at = now(),"
        "         acquired_at = CASE WHEN l.owner = EXCLUDED.owner THEN l.acquired_at ELSE now() END,"
        "         takeovers = l.takeovers + CASE WHEN l.owner = EXCLUDED.owner THEN 0 ELSE 1 END"
        "   WHERE l.owner = EXCLUDED.owner OR l.expires_at < now()"
        "  RETURNING l.pool"
        ")"
        /* hb and gone run whether or not they are read (data-modifying WITH). */
        " SELECT h.pool, (SELECT q FROM share), (SELECT n FROM live)"
        "   FROM (SELECT 1) one LEFT JOIN held h ON true", 6 },
    [STORE_LEASE_DROP] = { "lease_drop",
        "WITH l AS (DELETE FROM dialer.leases WHERE owner = $1 RETURNING pool)"
        " DELETE FROM dialer.instances WHERE name = $1"
        " RETURNING (SELECT count(*) FROM l)", 1 },
    /*
     * The dial marks and the ends (below) join a batch of ids to attempts, which grows from
     * nothing as a campaign starts: planned at every execution (replan), or a plan made while
     * the table was small hashes the batch and reads every attempt, twice, on each batch.
     */
    [STORE_ATTEMPTS_DIALED] = { "attempts_dialed",
        /* Rows are locked in id order, as the ends' batches lock them: no deadlock. */
        "WITH lk AS MATERIALIZED ("
        "  SELECT x.id, r.sid FROM unnest($1::bigint[], $2::text[]) AS r (id, sid)"
        "    JOIN dialer.attempts x ON x.id = r.id ORDER BY x.id FOR UPDATE OF x"
        ")"
        " UPDATE dialer.attempts t SET dialed_at = coalesce(t.dialed_at, now()),"
        "       session_id = coalesce(t.session_id, lk.sid)"
        "  FROM lk WHERE t.id = lk.id", 2, .replan = 1 },
    /*
     * Attempt ends, many per statement: each attempt (if not ended yet), its callee's next
     * state (if still calling this attempt) and its SMS (once per trigger) in one transaction.
     */
    [STORE_ATTEMPTS_FINISH] = { "attempts_finish",
        "WITH r AS ("
        "  SELECT * FROM unnest($1::bigint[], $2::float8[], $3::text[], $4::boolean[], $5::float8[],"
        "                       $6::float8[], $7::float8[], $8::text[], $9::text[], $10::text[],"
        "                       $11::text[], $12::int[], $13::smallint[], $14::float8[]) WITH ORDINALITY"
        "    AS r (id, ended_ms, end_status, success, ringing_ms, answered_ms, connected_ms, agent_id,"
        "          hangup_side, keys, session_id, seq, callee_state, delay_s, ord)"
        /* Attempts locked in id order (two batches on two connections may share rows). */
        "), lk AS MATERIALIZED ("
        "  SELECT x.id FROM dialer.attempts x WHERE x.id = ANY ($1::bigint[]) AND x.ended_at IS NULL"
        "   ORDER BY x.id FOR UPDATE"
        "), a AS ("
        "  UPDATE dialer.attempts t SET ended_at = to_timestamp(r.ended_ms / 1000), end_status = r.end_status,"
        "         success = r.success,"
        "         ringing_at = coalesce(t.ringing_at, to_timestamp(r.ringing_ms / 1000)),"
        "         answered_at = coalesce(t.answered_at, to_timestamp(r.answered_ms / 1000)),"
        "         connected_at = coalesce(t.connected_at, to_timestamp(r.connected_ms / 1000)),"
        "         agent_id = coalesce(r.agent_id, t.agent_id), hangup_side = coalesce(r.hangup_side, t.hangup_side),"
        "         keys = coalesce(r.keys, t.keys), session_id = coalesce(t.session_id, r.session_id),"
        "         last_seq = greatest(t.last_seq, r.seq)"
        "    FROM r JOIN lk ON lk.id = r.id WHERE t.id = r.id AND t.ended_at IS NULL"
        "  RETURNING t.id, t.campaign_id, t.callee_id, t.attempt_no, t.end_status, r.callee_state, r.delay_s"
        "), c AS ("
        "  UPDATE dialer.callees SET state = a.callee_state, last_end_status = a.end_status,"
        "         next_attempt_at = CASE WHEN a.callee_state = 4"
        "                                THEN now() + make_interval(secs => a.delay_s) END"
        /* "state + 0": by primary key, not a scan of the state-3 partial index. */
        "    FROM a WHERE callees.id = a.callee_id AND callees.state + 0 = 3"
        "     AND callees.attempts = a.attempt_no"
        "  RETURNING callees.id"
        "), s AS ("
        "  INSERT INTO dialer.sms_outbox (attempt_id, campaign_id, callee_id, trigger, to_number,"
        "                                 sender_id, body, due_at)"
        "  SELECT a.id, a.campaign_id, a.callee_id, m.trig, m.to_number, m.sender, m.body,"
        "         now() + make_interval(secs => m.due_ms / 1000.0)"
        "    FROM unnest($15::bigint[], $16::text[], $17::float8[], $18::text[], $19::text[], $20::text[])"
        "           AS m (attempt_id, trig, due_ms, to_number, sender, body)"
        "    JOIN a ON a.id = m.attempt_id"
        "  ON CONFLICT (attempt_id, trigger) DO NOTHING"
        "  RETURNING attempt_id"
        ")"
        " SELECT r.id, (a.id IS NOT NULL)::int,"
        "        (a.id IS NOT NULL AND EXISTS (SELECT 1 FROM c WHERE c.id = a.callee_id))::int,"
        "        (SELECT count(*) FROM s WHERE s.attempt_id = r.id)"
        "   FROM r LEFT JOIN a ON a.id = r.id ORDER BY r.ord", 20, .replan = 1 },
    [STORE_CAMPAIGN_CREATE] = { "campaign_create",
        "INSERT INTO dialer.campaigns AS c (" STORE_CAMPAIGN_COLS ")"
        " SELECT " STORE_CAMPAIGN_VALUES("coalesce(r.not_before, now())")
        "   FROM jsonb_populate_record(NULL::dialer.campaigns, $1::jsonb) r"
        " RETURNING c.id, to_json(c)::text", 1 },
    [STORE_CAMPAIGN_LIST] = { "campaign_list",
        STORE_PAGE("SELECT c.*, s.n AS callee_count, s.f AS finished_callee_count"
                   "  FROM dialer.campaigns c"
                   " CROSS JOIN LATERAL (SELECT count(*) AS n, count(*) FILTER (WHERE e.state IN (1, 2)) AS f"
                   "                       FROM dialer.callees e WHERE e.campaign_id = c.id) s"
                   " WHERE ($1::smallint[] IS NULL OR c.status = ANY ($1::smallint[]))"
                   "   AND ($2::bigint IS NULL OR c.skill_group_id = $2::bigint)"
                   "   AND ($3::text IS NULL OR strpos(lower(c.name), lower($3::text)) > 0)"
                   "   AND c.id > $4::bigint"
                   " ORDER BY c.id LIMIT $5::int", "x", "id", "$5::int"), 5 },
    [STORE_CAMPAIGN_GET] = { "campaign_get",
        /* json, not jsonb, so that the keys keep the column order */
        "SELECT row_to_json(x)::text FROM ("
        "  SELECT c.*, (SELECT row_to_json(q) FROM (SELECT p.callee_count, p.finished_callee_count,"
        "                 p.state_initial, p.state_answered, p.state_unanswered, p.state_calling,"
        "                 p.state_pending_retry, p.attempts, p.answered, p.connected, p.abandoned,"
        "                 p.abandon_rate_24h, p.abandon_rate_30d) q) AS progress"
        "    FROM dialer.campaigns c JOIN dialer.campaign_progress p ON p.campaign_id = c.id"
        "   WHERE c.id = $1::bigint) x", 1 },
    [STORE_CAMPAIGN_PATCH] = { "campaign_patch",
        /* The row is its own base record: columns the patch does not name keep their values.
           The status is checked in the UPDATE itself, so a concurrent change cannot slip in. */
        "WITH cur AS (SELECT status FROM dialer.campaigns WHERE id = $1::bigint),"
        " upd AS (UPDATE dialer.campaigns c SET (" STORE_CAMPAIGN_COLS ") ="
        "           (SELECT " STORE_CAMPAIGN_VALUES("r.not_before")
        "              FROM jsonb_populate_record(c, $2::jsonb) r)"
        "          WHERE c.id = $1::bigint AND c.status = ANY ($3::smallint[])"
        "         RETURNING c.*)"
        " SELECT (SELECT status FROM cur), (SELECT to_json(upd)::text FROM upd)", 3 },
    [STORE_CAMPAIGN_DELETE] = { "campaign_delete",
        /* Calls in flight would lose their attempt rows: wait until they have ended. */
        "WITH c AS (SELECT id, status, (SELECT count(*) FROM dialer.callees e"
        "                                WHERE e.campaign_id = $1::bigint AND e.state = 3) AS calling"
        "             FROM dialer.campaigns WHERE id = $1::bigint FOR UPDATE),"
        " d AS (DELETE FROM dialer.campaigns x USING c WHERE x.id = c.id AND c.calling = 0 RETURNING x.id)"
        " SELECT c.status, c.calling, (SELECT count(*) FROM d) FROM c", 1 },
    [STORE_CAMPAIGN_PAUSE] = { "campaign_pause", "SELECT dialer.campaign_pause($1::bigint)", 1 },
    [STORE_CAMPAIGN_RESUME] = { "campaign_resume", "SELECT dialer.campaign_resume($1::bigint)", 1 },
    [STORE_CAMPAIGN_ABORT] = { "campaign_abort", "SELECT dialer.campaign_abort($1::bigint)", 1 },
    [STORE_CALLEES_IMPORT] = { "callees_import",
        /* One statement for the whole batch. A duplicate (already in the campaign) is skipped by
           ON CONFLICT and reported per item; an unknown zone is found before the insert, since
           the zone trigger would fail the whole statement. dialerd's sessions silence the callee
           NOTIFY (dialer.origin); this write comes from a manager, so it is announced like one. */
        "WITH cam AS (SELECT id, status FROM dialer.campaigns WHERE id = $1::bigint FOR SHARE),"
        " origin AS MATERIALIZED (SELECT set_config('dialer.origin', 'rest', true)),"
        " src AS MATERIALIZED ("
        "   SELECT (e->>'i')::int AS i, e->>'number' AS number, e->>'uui' AS uui,"
        "          coalesce(e->'variables', '{}') AS variables, e->>'time_zone' AS time_zone,"
        "          CASE WHEN e->>'time_zone' IS NULL OR dialer.time_zone_is_known(e->>'time_zone')"
        "               THEN NULL"
        "               ELSE dialer.time_zone_error('time_zone', e->>'time_zone') END AS zone_error"
        "     FROM jsonb_array_elements($2::jsonb) e),"
        " ins AS (INSERT INTO dialer.callees (campaign_id, number, uui, variables, time_zone)"
        "         SELECT cam.id, src.number, src.uui, src.variables, src.time_zone"
        "           FROM src, cam, origin"
        "          WHERE src.zone_error IS NULL AND cam.status IN (0, 1, 2)"
        "          ORDER BY src.i"
        "         ON CONFLICT (campaign_id, number) DO NOTHING"
        "         RETURNING id, number)"
        " SELECT (SELECT status FROM cam),"
        "        (SELECT coalesce(json_agg(json_build_object('i', src.i, 'id', ins.id,"
        "                                                    'zone_error', src.zone_error)"
        "                                  ORDER BY src.i), '[]')::text"
        "           FROM src LEFT JOIN ins ON ins.number = src.number)", 2 },
    [STORE_CALLEES_LIST] = { "callees_list",
        "SELECT EXISTS (SELECT 1 FROM dialer.campaigns WHERE id = $1::bigint), ("
        STORE_PAGE("SELECT e.id, e.number, e.uui, e.variables, e.time_zone, e.state, e.attempts,"
                   "       e.next_attempt_at, e.last_end_status, e.created_at, e.updated_at"
                   "  FROM dialer.callees e"
                   " WHERE e.campaign_id = $1::bigint"
                   "   AND ($2::smallint[] IS NULL OR e.state = ANY ($2::smallint[]))"
                   "   AND e.id > $3::bigint"
                   " ORDER BY e.id LIMIT $4::int", "x", "id", "$4::int") ")", 4 },
    [STORE_AGENTS_LIST] = { "agents_list",
        STORE_PAGE("SELECT a.id, a.name, a.status, a.status_reason, a.status_since,"
                   /* string_agg, not json_agg: the items stay on one line */
                   "       coalesce((SELECT ('[' || string_agg(row_to_json(sg)::text, ','"
                   "                                  ORDER BY sg.priority, sg.skill_group_id) || ']')::json"
                   "                   FROM (SELECT m.skill_group_id, g.name, m.priority"
                   "                           FROM dialer.agent_skill_groups m"
                   "                           JOIN dialer.skill_groups g ON g.id = m.skill_group_id"
                   "                          WHERE m.agent_id = a.id) sg), '[]') AS skill_groups"
                   "  FROM dialer.agents a"
                   " WHERE ($1::bigint IS NULL OR EXISTS (SELECT 1 FROM dialer.agent_skill_groups m"
                   "                                       WHERE m.agent_id = a.id"
                   "                                         AND m.skill_group_id = $1::bigint))"
                   "   AND ($2::text[] IS NULL OR a.status = ANY ($2::text[]))"
                   "   AND ($3::text IS NULL OR a.id > $3::text)"
                   " ORDER BY a.id LIMIT $4::int", "x", "id", "$4::int"), 4 },
    /* The SMS dispatcher (src/sms.c). A claim is a lease: the row is ours until lease_until. */
    [STORE_SMS_RELEASE] = { "sms_release",
        "UPDATE dialer.sms_outbox SET state = 'pending', lease_until = NULL,"
        "       last_error = coalesce(last_error, 'the dialerd sending it stopped before an answer')"
        " WHERE state = 'sending' AND claimed_by = $1 RETURNING id", 1 },
    [STORE_SMS_CLAIM] = { "sms_claim",
        "WITH due AS ("
        "  SELECT id FROM dialer.sms_outbox"
        "   WHERE state IN ('pending', 'sending') AND due_at <= now()"
        "     AND (state = 'pending' OR lease_until IS NULL OR lease_until <= now())"
        "   ORDER BY due_at LIMIT $1::int FOR UPDATE SKIP LOCKED)"
        " UPDATE dialer.sms_outbox o SET state = 'sending', tries = o.tries + 1,"
        "        claimed_at = now(), claimed_by = $3,"
        "        lease_until = now() + make_interval(secs => $2::float8 / 1000)"
        "   FROM due WHERE o.id = due.id"
        " RETURNING o.id, o.tries, o.to_number, o.sender_id, o.body, o.campaign_id, o.trigger", 3 },
    [STORE_SMS_DONE] = { "sms_done",
        /* Only the claim that is still current may write: a row claimed again after its lease
           ran out has more tries, and the later claim's answer is the one that counts. */
        "UPDATE dialer.sms_outbox SET state = $3,"
        "       sent_at = CASE WHEN $3 = 'sent' THEN now() ELSE sent_at END,"
        "       last_error = coalesce($4, last_error),"
        "       due_at = CASE WHEN $3 = 'pending'"
        "                     THEN now() + make_interval(secs => $5::float8 / 1000) ELSE due_at END,"
        "       lease_until = NULL"
        " WHERE id = $1::bigint AND state = 'sending' AND tries = $2::int RETURNING id", 5 },
};

/* The table for db_setup(). */
const struct db_stmt *store_statements(int *n)
{
    *n = STORE_N_STMTS;
    return store_stmts;
}

/*
 * Builds a PostgreSQL text[] literal. Every element is double-quoted with " and \\ escaped, so
 * any text (zone names, numbers) travels as data. Returns -1 when it does not fit.
 */
static int store_text_array(char *buf, size_t len, const char *const *items, int n)
{
    size_t o = 0;

    if (len < 3)
        return -1;
    buf[o++] = '{';
    for (int i = 0; i < n; i++) {
        if (i && o < len)
            buf[o++] = ',';
        if (o < len)
            buf[o++] = '"';
        for (const char *p = items[i]; *p && o + 1 < len; p++) {
            if (*p == '"' || *p == '\\')
                buf[o++] = '\\';
            buf[o++] = *p;
        }
        if (o < len)
            buf[o++] = '"';
    }
    if (o + 2 > len)
        return -1;
    buf[o++] = '}';
    buf[o] = '\0';
    return 0;
}

/* Claim wrapper. */
int store_claim(struct db *db, int64_t campaign_id, int random_order, int n,
                const char *const *callers, int64_t skill_group_id, const char *instance,
                const char *campaign_tz, const char *const *open_zones, int n_open,
                db_cb cb, void *arg)
{
    char cid[24], cnt[16], sg[24], arr[32768], zones[16384];
    const char *p[7];

    snprintf(cid, sizeof(cid), "%" PRId64, campaign_id);
    snprintf(cnt, sizeof(cnt), "%d", n);
    snprintf(sg, sizeof(sg), "%" PRId64, skill_group_id);
    if (store_text_array(arr, sizeof(arr), callers, n) != 0 ||
        (open_zones && store_text_array(zones, sizeof(zones), open_zones, n_open) != 0))
        return -1;
    p[0] = cid;
    p[1] = cnt;
    p[2] = arr;
    p[3] = skill_group_id > 0 ? sg : NULL;
    p[4] = instance;
    p[5] = campaign_tz;
    p[6] = open_zones ? zones : NULL;
    /* Agents are waiting for what a skill group's claim brings: it goes before the batches. */
    return (skill_group_id > 0 ? db_exec_urgent : db_exec)(
        db, random_order ? STORE_CLAIM_RANDOM : STORE_CLAIM_ORDERED, p, 7, cb, arg);
}

/* Lease renewal wrapper: two text arrays sized for their pools. */
int store_lease_renew(struct db *db, const char *instance, const char *const *wanted, int n,
                      const char *const *let_go, int n_go, int lease_ms, long pid,
                      const char *host, db_cb cb, void *arg)
{
    size_t wlen = 16 + (size_t)n * 72, glen = 16 + (size_t)n_go * 72;
    char *warr = malloc(wlen), *garr = malloc(glen), ms[16], pidtxt[24];
    const char *p[6];
    int rc = -1;

    if (warr && garr && store_text_array(warr, wlen, wanted, n) == 0 &&
        store_text_array(garr, glen, let_go, n_go) == 0) {
        snprintf(ms, sizeof(ms), "%d", lease_ms);
        snprintf(pidtxt, sizeof(pidtxt), "%ld", pid);
        p[0] = instance;
        p[1] = warr;
        p[2] = ms;
        p[3] = garr;
        p[4] = pidtxt;
        p[5] = host;
        rc = db_exec(db, STORE_LEASE_RENEW, p, 6, cb, arg);
    }
    free(warr);
    free(garr);
    return rc;
}

/* Text-array wrapper. */
int store_by_array(struct db *db, enum store_stmt stmt, const char *const *items, int n,
                   db_cb cb, void *arg)
{
    char arr[32768];
    const char *p[1] = { arr };

    if (store_text_array(arr, sizeof(arr), items, n) != 0)
        return -1;
    return db_exec(db, stmt, p, 1, cb, arg);
}

/* Formats Unix ms, or NULL for 0. */
static const char *store_ms(char *buf, size_t len, int64_t ms)
{
    if (ms <= 0)
        return NULL;
    snprintf(buf, len, "%" PRId64, ms);
    return buf;
}

/* The SMS parameters (triggers text[], due float8[], to, sender, body) into p[0..4]. */
static int store_sms_params(const struct store_sms *sms, char *trig, size_t tlen, char *due,
                            size_t dlen, const char **p)
{
    size_t o = 0;

    p[0] = p[1] = p[2] = p[3] = p[4] = NULL;
    if (sms == NULL || sms->n <= 0)
        return 0;
    if (sms->n > STORE_SMS_MAX || store_text_array(trig, tlen, sms->trigger, sms->n) != 0)
        return -1;
    for (int i = 0; i < sms->n; i++) {
        int w = snprintf(due + o, dlen - o, "%s%" PRId64, i ? "," : "{", sms->due_in_ms[i]);
        if (w < 0 || (size_t)w >= dlen - o)
            return -1;
        o += (size_t)w;
    }
    if (o + 2 > dlen)
        return -1;
    due[o++] = '}';
    due[o] = '\0';
    p[0] = trig;
    p[1] = due;
    p[2] = sms->to;
    p[3] = sms->sender;
    p[4] = sms->body;
    return 0;
}

/* Intermediate event wrapper. */
int store_event(struct db *db, int64_t attempt_id, const char *event, int64_t at_ms,
                const char *agent_id, const char *session_id, int seq,
                const struct store_sms *sms, db_cb cb, void *arg)
{
    char id[24], at[24], sq[16], trig[128], due[128];
    const char *p[11];

    snprintf(id, sizeof(id), "%" PRId64, attempt_id);
    snprintf(at, sizeof(at), "%" PRId64, at_ms);
    snprintf(sq, sizeof(sq), "%d", seq);
    p[0] = id;
    p[1] = event;
    p[2] = at;
    p[3] = agent_id;
    p[4] = session_id;
    p[5] = sq;
    if (store_sms_params(sms, trig, sizeof(trig), due, sizeof(due), p + 6) != 0)
        return -1;
    return db_exec(db, STORE_ATTEMPT_EVENT, p, 11, cb, arg);
}

/* One array column being built: "{" elements "}" as text. */
struct store_col {
    char *buf;
    size_t len, cap;
};

#define STORE_BATCH_COLS 14
#define STORE_BATCH_SMS_COLS 6

struct store_batch {
    enum store_batch_kind kind;
    int rows, sms_rows;
    struct store_col col[STORE_BATCH_COLS];
    struct store_col sms[STORE_BATCH_SMS_COLS];
};

/* Creates an empty batch. */
struct store_batch *store_batch_new(enum store_batch_kind kind)
{
    struct store_batch *b = calloc(1, sizeof(*b));

    if (b == NULL)
        abort();
    b->kind = kind;
    return b;
}

/* Frees a batch and its columns. */
void store_batch_free(struct store_batch *b)
{
    if (b == NULL)
        return;
    for (int i = 0; i < STORE_BATCH_COLS; i++)
        free(b->col[i].buf);
    for (int i = 0; i < STORE_BATCH_SMS_COLS; i++)
        free(b->sms[i].buf);
    free(b);
}

/* Rows waiting to be sent. */
int store_batch_rows(const struct store_batch *b)
{
    return b->rows;
}

/* Makes room for `more` bytes in a column. */
static void store_col_reserve(struct store_col *c, size_t more)
{
    if (c->len + more + 1 <= c->cap)
        return;
    c->cap = (c->len + more + 1) * 2;
    c->buf = realloc(c->buf, c->cap);
    if (c->buf == NULL)
        abort();
}

/* Appends one element (NULL = SQL NULL) to a column, quoted for an array literal. */
static void store_col_add(struct store_col *c, const char *v)
{
    size_t n = v ? strlen(v) : 0;

    char sep;

    store_col_reserve(c, 2 * n + 8);
    sep = c->len == 0 ? '{' : ',';
    c->buf[c->len++] = sep;
    if (v == NULL) {
        memcpy(c->buf + c->len, "NULL", 4);
        c->len += 4;
        return;
    }
    c->buf[c->len++] = '"';
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\')
            c->buf[c->len++] = '\\';
        c->buf[c->len++] = *p;
    }
    c->buf[c->len++] = '"';
}

/* Closes a column into a literal ("{}" when empty) and returns it; the column is reset. */
static const char *store_col_close(struct store_col *c)
{
    store_col_reserve(c, 3);
    if (c->len == 0)
        c->buf[c->len++] = '{';
    c->buf[c->len++] = '}';
    c->buf[c->len] = '\0';
    c->len = 0;
    return c->buf;
}

/* Adds a dial confirmation. */
void store_batch_add_dialed(struct store_batch *b, int64_t attempt_id, const char *session_id)
{
    char id[24];

    snprintf(id, sizeof(id), "%" PRId64, attempt_id);
    store_col_add(&b->col[0], id);
    store_col_add(&b->col[1], session_id);
    b->rows++;
}

/* Adds an attempt end and its SMS rows. */
int store_batch_add_finish(struct store_batch *b, const struct store_finish *f)
{
    char id[24], ended[24], ring[24], ans[24], con[24], seq[16], st[8], delay[16], due[24];
    const char *v[STORE_BATCH_COLS];

    if (f->sms && (f->sms->n < 0 || f->sms->n > STORE_SMS_MAX))
        return -1;
    snprintf(id, sizeof(id), "%" PRId64, f->attempt_id);
    snprintf(seq, sizeof(seq), "%d", f->seq);
    snprintf(st, sizeof(st), "%d", f->callee_state);
    snprintf(delay, sizeof(delay), "%d", f->delay_s);
    v[0] = id;
    v[1] = store_ms(ended, sizeof(ended), f->ended_ms);
    v[2] = f->end_status;
    v[3] = f->success ? "true" : "false";
    v[4] = store_ms(ring, sizeof(ring), f->ringing_ms);
    v[5] = store_ms(ans, sizeof(ans), f->answered_ms);
    v[6] = store_ms(con, sizeof(con), f->connected_ms);
    v[7] = f->agent_id;
    v[8] = f->hangup_side;
    v[9] = f->keys;
    v[10] = f->session_id;
    v[11] = seq;
    v[12] = st;
    v[13] = delay;
    for (int i = 0; i < STORE_BATCH_COLS; i++)
        store_col_add(&b->col[i], v[i]);
    for (int i = 0; f->sms && i < f->sms->n; i++) {
        snprintf(due, sizeof(due), "%" PRId64, f->sms->due_in_ms[i]);
        store_col_add(&b->sms[0], id);
        store_col_add(&b->sms[1], f->sms->trigger[i]);
        store_col_add(&b->sms[2], due);
        store_col_add(&b->sms[3], f->sms->to);
        store_col_add(&b->sms[4], f->sms->sender);
        store_col_add(&b->sms[5], f->sms->body);
        b->sms_rows++;
    }
    b->rows++;
    return 0;
}

/* Sends a batch as one statement. */
int store_batch_send(struct db *db, struct store_batch *b, db_cb cb, void *arg)
{
    const char *p[STORE_BATCH_COLS + STORE_BATCH_SMS_COLS];
    int n = b->kind == STORE_BATCH_DIALED ? 2 : STORE_BATCH_COLS;

    for (int i = 0; i < n; i++)
        p[i] = store_col_close(&b->col[i]);
    if (b->kind == STORE_BATCH_FINISH)
        for (int i = 0; i < STORE_BATCH_SMS_COLS; i++)
            p[n + i] = store_col_close(&b->sms[i]);
    b->rows = b->sms_rows = 0;
    /* db_exec copies the parameters: the columns are ready for the next rows. */
    return db_exec(db, b->kind == STORE_BATCH_DIALED ? STORE_ATTEMPTS_DIALED : STORE_ATTEMPTS_FINISH,
                   p, b->kind == STORE_BATCH_DIALED ? 2 : STORE_BATCH_COLS + STORE_BATCH_SMS_COLS,
                   cb, arg);
}

/* One-id statement wrapper. */
int store_by_id(struct db *db, enum store_stmt stmt, int64_t id, db_cb cb, void *arg)
{
    char buf[24];
    const char *p[1] = { buf };

    snprintf(buf, sizeof(buf), "%" PRId64, id);
    return db_exec(db, stmt, p, 1, cb, arg);
}
