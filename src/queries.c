/*-------------------------------------------------------------------------
 *
 * queries.c
 *	  Every SQL statement that the C code runs, in one place.
 *
 *	  Each is prepared on first use and kept for the life of the backend
 *	  (session_plan); values are always parameters.  They run as the
 *	  extension's owner with search_path pinned to pg_catalog (identity.c),
 *	  and still name every table with its schema.  Storage is in schema
 *	  session_storage; the listing statements read the views of schema
 *	  session, so that a listing and a SELECT on a view cannot disagree.
 *	  Work that needs no C (partition DDL, the concurrency report) lives in
 *	  SQL functions of session_storage, defined in sql/session.sql.
 *
 *-------------------------------------------------------------------------
 */
#include "queries.h"

#include "catalog/pg_type.h"

/* The stored columns of a session, in table order (both tables) */
#define STORED_COLUMNS \
	"id, uuid, username, authenticated, project, address, scope, client_id, " \
	"user_agent, node, start_time, last_comm, page_ids, recent_bytes_sent, " \
	"total_bytes_sent, attributes"

/*
 * What every statement that ends sessions returns, in this order: the event
 * log reads these columns by position.
 */
#define ENDED_RETURNING "RETURNING id, uuid, username, project, node, scope, end_reason"

/*
 * The stored columns with the live heartbeat values in place of the stored
 * ones (heartbeats buffered in shared memory, heartbeat_buffer.c).
 */
#define LIVE_LAST_COMM "session.live_last_comm(id, last_comm)"
#define LIVE_LAST_COMM_OF(a) "session.live_last_comm(" a ".id, " a ".last_comm)"
#define LIVE_COLUMNS \
	"id, uuid, username, authenticated, project, address, scope, client_id, " \
	"user_agent, node, start_time, " LIVE_LAST_COMM ", page_ids, " \
	"session.live_recent_bytes(id, recent_bytes_sent), " \
	"session.live_total_bytes(id, total_bytes_sent), attributes"

/* The login intervals of a session, carried to history with it */
#define LOGIN_COLUMNS "login_times, login_users"

/* Moves the rows of CTE d to history with the given reason expression. */
#define MOVE_TO_HISTORY(reason) \
	"INSERT INTO session_storage.ended_sessions (" STORED_COLUMNS ", end_time, end_reason, " \
	LOGIN_COLUMNS ") " \
	"SELECT " LIVE_COLUMNS ", " \
	"GREATEST(pg_catalog.statement_timestamp(), start_time), " reason ", " LOGIN_COLUMNS " FROM d " \
	ENDED_RETURNING

/* The columns of an event after event_id and event_time */
#define EVENT_COLUMNS "event, id, uuid, username, project, node, scope, reason"

/*
 * Every statement that changes sessions has a twin that also appends their
 * events to the event log, in the same statement (a data-modifying CTE):
 * one executor run instead of two, which a profile of the close found to
 * be a fifth of its cost.  APPEND_EVENTS is that CTE; rows are the event
 * columns after event, selected from the CTE of the changed sessions.
 */
#define APPEND_EVENTS(event, rows) \
	"e AS (INSERT INTO session_storage.events (event_time, " EVENT_COLUMNS ") " \
	"SELECT " TS_NOW ", " event ", " rows ") "

/* MOVE_TO_HISTORY that also logs one event per ended row; same columns */
#define MOVE_TO_HISTORY_LOGGED(reason, event) \
	", h AS (" MOVE_TO_HISTORY(reason) "), " APPEND_EVENTS(event, "h.* FROM h") \
	"SELECT * FROM h"

/* Adds $n bytes (never negative) to a counter, saturating at the bigint maximum. */
#define SATURATING_ADD(counter, n) \
	"CASE WHEN " counter " > 9223372036854775807 - " n \
	" THEN 9223372036854775807 ELSE " counter " + " n " END"

#define TS_NOW "pg_catalog.statement_timestamp()"
#define SECONDS(n) "($" #n " * interval '1 second')"

/* ---------------------------------------------------------------- registry */

/* a session opened with a user starts its login intervals */
#define OPEN_INSERT \
	"INSERT INTO session_storage.sessions (uuid, username, authenticated, project, address, " \
	"scope, client_id, user_agent, node, start_time, last_comm, attributes, " LOGIN_COLUMNS ") " \
	"VALUES (pg_catalog.gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, $8, " \
	TS_NOW ", " TS_NOW ", $9, " \
	"CASE WHEN $2 THEN ARRAY[" TS_NOW "] ELSE '{}' END, CASE WHEN $2 THEN ARRAY[$1] ELSE '{}' END) "
#define OPEN_TYPES {TEXTOID, BOOLOID, TEXTOID, INETOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID}

SessionPlan query_open = {
	OPEN_INSERT "RETURNING id, uuid",
	9, OPEN_TYPES, NULL
};

SessionPlan query_open_logged = {
	"WITH s AS (" OPEN_INSERT "RETURNING id, uuid, username, project, node, scope), "
	APPEND_EVENTS("'open'", "s.*, NULL FROM s") "SELECT id, uuid FROM s",
	9, OPEN_TYPES, NULL
};

/* The sessions that count against a user's limit, oldest first */
SessionPlan query_user_sessions = {
	"SELECT id FROM session_storage.sessions "
	"WHERE username = $1 AND authenticated AND scope <> 'clientless' AND id <> $2 "
	"ORDER BY start_time, id",
	2, {TEXTOID, INT8OID}, NULL
};

/*
 * A change of user also appends to the login intervals (no entry when the
 * user stays the same; a row without entries but with a user, inserted by
 * hand, first gets that user from its start).  Entries stay in time order
 * (get_session_info_at searches them): one never goes before the last, even
 * when a transaction that started earlier commits later.
 */
#define SAME_USER "(username = $2 AND authenticated = $3)"
#define NO_LOGINS "(pg_catalog.cardinality(login_times) = 0 AND authenticated)"
#define SET_USER \
	"UPDATE session_storage.sessions SET username = $2, authenticated = $3, " \
	"login_times = CASE WHEN " SAME_USER " THEN login_times ELSE " \
	"(CASE WHEN " NO_LOGINS " THEN ARRAY[start_time] ELSE login_times END) || " \
	"GREATEST(" TS_NOW ", login_times[pg_catalog.cardinality(login_times)], start_time) END, " \
	"login_users = CASE WHEN " SAME_USER " THEN login_users ELSE " \
	"(CASE WHEN " NO_LOGINS " THEN ARRAY[username::text] ELSE login_users END) || " \
	"(CASE WHEN $3 THEN $2 END) END " \
	"WHERE id = $1 "

SessionPlan query_set_user = {SET_USER "RETURNING id", 3, {INT8OID, TEXTOID, BOOLOID}, NULL};
SessionPlan query_set_user_logged = {
	"WITH u AS (" SET_USER "RETURNING id, uuid, username, project, node, scope), "
	APPEND_EVENTS("'user'", "u.*, CASE WHEN $3 THEN 'login' ELSE 'logout' END FROM u")
	"SELECT id FROM u",
	3, {INT8OID, TEXTOID, BOOLOID}, NULL
};

SessionPlan query_heartbeat = {
	"UPDATE session_storage.sessions SET "
	"last_comm = GREATEST(last_comm, " TS_NOW "), recent_bytes_sent = $2, "
	"total_bytes_sent = " SATURATING_ADD("total_bytes_sent", "$2") ", "
	"page_ids = COALESCE($3, page_ids) WHERE id = $1",
	3, {INT8OID, INT8OID, TEXTARRAYOID}, NULL
};

/*
 * page_ids of a session whose other heartbeat values are buffered.  Pages
 * that did not change write nothing: no row lock, no tuple, no WAL (an
 * application that sends its open pages with every heartbeat still gets
 * heartbeats that cost no write).  A concurrent change of the row is
 * waited for and the comparison redone on the new version, as for any
 * UPDATE, so the last heartbeat's pages win as before.
 */
SessionPlan query_page_ids = {
	"UPDATE session_storage.sessions SET page_ids = $2 "
	"WHERE id = $1 AND page_ids IS DISTINCT FROM $2",
	2, {INT8OID, TEXTARRAYOID}, NULL
};

SessionPlan query_heartbeat_many = {
	"UPDATE session_storage.sessions s SET "
	"last_comm = GREATEST(s.last_comm, " TS_NOW "), recent_bytes_sent = u.b, "
	"total_bytes_sent = " SATURATING_ADD("s.total_bytes_sent", "u.b") " "
	"FROM unnest($1::bigint[], $2::bigint[]) AS u(id, b) WHERE s.id = u.id",
	2, {INT8ARRAYOID, INT8ARRAYOID}, NULL
};

/*
 * Each statement that ends sessions comes in two forms, the second also
 * logging the events (session_run_end picks one).  $1 id, $2 reason; the
 * logged forms of a single session take the event name as $3.
 */
#define END_ONE "WITH d AS (DELETE FROM session_storage.sessions WHERE id = $1 RETURNING *) "
#define END_ONE_CLIENTLESS \
	"WITH d AS (DELETE FROM session_storage.sessions " \
	"WHERE id = $1 AND scope = 'clientless' RETURNING *) "

SessionPlan query_end = {END_ONE MOVE_TO_HISTORY("$2"), 2, {INT8OID, TEXTOID}, NULL};
SessionPlan query_end_logged = {
	END_ONE MOVE_TO_HISTORY_LOGGED("$2", "$3"), 3, {INT8OID, TEXTOID, TEXTOID}, NULL
};
SessionPlan query_end_clientless = {
	END_ONE_CLIENTLESS MOVE_TO_HISTORY("$2"), 2, {INT8OID, TEXTOID}, NULL
};
SessionPlan query_end_clientless_logged = {
	END_ONE_CLIENTLESS MOVE_TO_HISTORY_LOGGED("$2", "$3"), 3, {INT8OID, TEXTOID, TEXTOID}, NULL
};

/*
 * A node's sessions are ended in bounded batches: the ids of the next batch
 * ($3 of them after id $2), read without locking, so that a node with no
 * sessions locks nothing; then those of them still open, locked in id
 * order ($3: the ids).
 */
SessionPlan query_node_ids = {
	"SELECT id FROM session_storage.sessions WHERE node = $1 AND id > $2 "
	"ORDER BY id LIMIT $3",
	3, {TEXTOID, INT8OID, INT4OID}, NULL
};

#define END_NODE \
	"WITH v AS (SELECT id FROM session_storage.sessions WHERE node = $1 " \
	"AND id = ANY ($3) ORDER BY id FOR UPDATE), " \
	"d AS (DELETE FROM session_storage.sessions s USING v WHERE s.id = v.id RETURNING s.*) "

SessionPlan query_end_node = {
	END_NODE MOVE_TO_HISTORY("$2"), 3, {TEXTOID, TEXTOID, INT8ARRAYOID}, NULL
};
SessionPlan query_end_node_logged = {
	END_NODE MOVE_TO_HISTORY_LOGGED("$2", "'close'"), 3, {TEXTOID, TEXTOID, INT8ARRAYOID}, NULL
};

SessionPlan query_open_exists = {
	"SELECT 1 FROM session_storage.sessions WHERE id = $1",
	1, {INT8OID}, NULL
};

SessionPlan query_ended_scope = {
	"SELECT scope FROM session_storage.ended_sessions WHERE id = $1 LIMIT 1",
	1, {INT8OID}, NULL
};

/* ------------------------------------------------------------------ expiry */

/*
 * Sessions past a timeout ($1 idle, $2 clientless idle, $3 max lifetime, in
 * seconds, 0 = off).  The live last_comm is never older than the stored
 * one, so the stored one is tested first and the buffer is asked only about
 * sessions idle in their row.
 */
#define EXPIRED \
	" CASE WHEN scope = 'clientless'" \
	"   THEN $2 > 0 AND last_comm <= " TS_NOW " - " SECONDS(2) \
	"     AND " LIVE_LAST_COMM " <= " TS_NOW " - " SECONDS(2) \
	"   ELSE ($1 > 0 AND last_comm <= " TS_NOW " - " SECONDS(1) \
	"     AND " LIVE_LAST_COMM " <= " TS_NOW " - " SECONDS(1) ")" \
	"     OR ($3 > 0 AND start_time <= " TS_NOW " - " SECONDS(3) ") END"

/*
 * Expiry works in batches: the candidates ($4 of them after id $5), read
 * without locking, whose heartbeat buffer entries expiry then claims
 * (heartbeat_buffer.c); then those of them ($4: the ids) that are still
 * expired once claimed.  SKIP LOCKED: a session that the application holds
 * now is left for the next pass.
 */
SessionPlan query_expire_candidates = {
	"SELECT id FROM session_storage.sessions WHERE" EXPIRED
	" AND id > $5 ORDER BY id LIMIT $4",
	5, {INT4OID, INT4OID, INT4OID, INT4OID, INT8OID}, NULL
};

#define EXPIRE_BATCH \
	"WITH v AS (" \
	" SELECT id, CASE WHEN scope <> 'clientless' AND $3 > 0 AND start_time <= " TS_NOW " - " SECONDS(3) \
	"   THEN 'max_lifetime' ELSE 'timeout' END AS reason" \
	" FROM session_storage.sessions" \
	" WHERE" EXPIRED " AND id = ANY ($4)" \
	" ORDER BY id FOR UPDATE SKIP LOCKED)," \
	" d AS (DELETE FROM session_storage.sessions s USING v WHERE s.id = v.id" \
	" RETURNING s.*, v.reason) "

SessionPlan query_expire = {
	EXPIRE_BATCH MOVE_TO_HISTORY("reason"),
	4, {INT4OID, INT4OID, INT4OID, INT8ARRAYOID}, NULL
};
SessionPlan query_expire_logged = {
	EXPIRE_BATCH MOVE_TO_HISTORY_LOGGED("reason", "'expire'"),
	4, {INT4OID, INT4OID, INT4OID, INT8ARRAYOID}, NULL
};

SessionPlan query_maintain_partitions = {
	"SELECT session_storage.maintain_partitions()",
	0, {0}, NULL
};

SessionPlan query_purge_history = {
	"SELECT session_storage.purge_history($1)",
	1, {TIMESTAMPTZOID}, NULL
};

/* ----------------------------------------------------------------- listing */

/*
 * Each pattern has three parameter slots: LIKE, regex under the C collation
 * and regex under the database's; regex_filter_params fills one of them.
 */
#define USER_FILTER(l, c, d) \
	"($" #l "::text IS NULL OR (username COLLATE \"C\") LIKE $" #l ") AND " \
	"($" #c "::text IS NULL OR (username COLLATE \"C\") ~ $" #c ") AND " \
	"($" #d "::text IS NULL OR username ~ $" #d ")"
#define PROJECT_FILTER_OF(col, l, c, d) \
	"($" #l "::text IS NULL OR (" col " COLLATE \"C\") LIKE $" #l ") AND " \
	"($" #c "::text IS NULL OR (" col " COLLATE \"C\") ~ $" #c ") AND " \
	"($" #d "::text IS NULL OR " col " ~ $" #d ")"
#define PROJECT_FILTER(l, c, d) PROJECT_FILTER_OF("project", l, c, d)

/* The session_info columns of session.history (which adds duration) */
#define SESSION_INFO_COLUMNS \
	"id, uuid, username, authenticated, project, address, scope, is_designer, " \
	"client_id, user_agent, node, start_time, last_comm, uptime_ms, last_comm_ms, " \
	"active_pages, page_ids, recent_bytes_sent, total_bytes_sent, attributes, " \
	"end_time, end_reason"

SessionPlan query_list_exact = {
	"SELECT * FROM session.active_sessions WHERE (username COLLATE \"C\") = $1 AND "
	PROJECT_FILTER(2, 3, 4) " ORDER BY start_time, id",
	4, {TEXTOID, TEXTOID, TEXTOID, TEXTOID}, NULL
};

SessionPlan query_list_prefix = {
	"SELECT * FROM session.active_sessions "
	"WHERE (username COLLATE \"C\") >= $1 AND (username COLLATE \"C\") < $2 AND "
	USER_FILTER(3, 4, 5) " AND " PROJECT_FILTER(6, 7, 8) " ORDER BY start_time, id",
	8, {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID}, NULL
};

SessionPlan query_list_scan = {
	"SELECT * FROM session.active_sessions WHERE "
	USER_FILTER(1, 2, 3) " AND " PROJECT_FILTER(4, 5, 6) " ORDER BY start_time, id",
	6, {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID}, NULL
};

SessionPlan query_open_by_id = {
	"SELECT * FROM session.active_sessions WHERE id = $1",
	1, {INT8OID}, NULL
};

SessionPlan query_ended_by_id = {
	"SELECT " SESSION_INFO_COLUMNS " FROM session.history WHERE id = $1 LIMIT 1",
	1, {INT8OID}, NULL
};

SessionPlan query_open_user = {
	"SELECT username FROM session_storage.sessions WHERE id = $1",
	1, {INT8OID}, NULL
};

SessionPlan query_ended_user = {
	"SELECT username FROM session_storage.ended_sessions WHERE id = $1 LIMIT 1",
	1, {INT8OID}, NULL
};

/* ----------------------------------------------------------------- context */

SessionPlan query_attach = {
	"SELECT username, authenticated FROM session_storage.sessions WHERE id = $1 FOR KEY SHARE",
	1, {INT8OID}, NULL
};

/* ------------------------------------------------------------------ events */

SessionPlan query_events_since = {
	"SELECT event_id, event_time, " EVENT_COLUMNS " FROM session_storage.events "
	"WHERE event_id > $1 AND event_id <= $2 ORDER BY event_id LIMIT $3",
	3, {INT8OID, INT8OID, INT4OID}, NULL
};

/*
 * Events are appended in id order, so the oldest are first in the primary
 * key: everything below the first event younger than the cutoff goes, a
 * batch at a time.  Deleting takes no lock that writers or readers wait for.
 */
SessionPlan query_events_purge = {
	"DELETE FROM session_storage.events WHERE event_id IN ("
	" SELECT event_id FROM session_storage.events WHERE event_id < COALESCE("
	"  (SELECT event_id FROM session_storage.events WHERE event_time >= $1"
	"   ORDER BY event_id LIMIT 1), 9223372036854775807)"
	" ORDER BY event_id LIMIT $2)",
	2, {TIMESTAMPTZOID, INT4OID}, NULL
};

/* ------------------------------------------------------------------ report */

/*
 * $1 origin, $2 bucket, $3 first and $4 last bucket number, $5 project
 * pattern, $6 fill, $7 group_by
 */
SessionPlan query_concurrency = {
	"SELECT * FROM session_storage.concurrency($1, $2, $3, $4, $5, $6, $7)",
	7, {TIMESTAMPTZOID, INTERVALOID, INT8OID, INT8OID, TEXTOID, BOOLOID, TEXTOID}, NULL
};

/* ----------------------------------------------------------------- history */

/* $1 the jsonb array, $2 include_open */
SessionPlan query_import = {
	"SELECT session_storage.import_sessions($1, $2)",
	2, {JSONBOID, BOOLOID}, NULL
};

/*
 * The sessions open at $1, in two statements whose rows the caller stores
 * in start_time, id order (session_ordered_result): open ones
 * that started by then, and ended ones with start_time <= $1 < end_time.
 * The end_time condition prunes the partitions of the days before, and
 * each partition's (start_time, end_time) or (end_time, start_time) index
 * finds them (see session_storage.index_history_partition).
 * The user is the one of the last login entry at or before $1 (a row
 * without entries: its username, for the whole session), found by a binary
 * search (width_bucket) in login_times, which every writer keeps in time
 * order; the username column carries it (NULL: nobody logged in then), and
 * the receiver makes username and authenticated of it, so that it is
 * computed once a row.  Filters on the computed username ($2-$4) and the
 * project ($5-$7), as the listing's; with a custom plan for each call,
 * those that are NULL vanish from the plan.
 */
#define AT_WHO(a) \
	"COALESCE(" a ".login_users[pg_catalog.width_bucket($1, " a ".login_times)], " \
	"CASE WHEN pg_catalog.cardinality(" a ".login_times) = 0 AND " a ".authenticated " \
	"THEN " a ".username::text END)"
#define AT_USER_FILTER(who) \
	"($2::text IS NULL OR (COALESCE(" who ", 'Unauthenticated') COLLATE \"C\") LIKE $2) AND " \
	"($3::text IS NULL OR (COALESCE(" who ", 'Unauthenticated') COLLATE \"C\") ~ $3) AND " \
	"($4::text IS NULL OR (COALESCE(" who ", 'Unauthenticated') COLLATE \"default\") ~ $4) AND "
#define AT_PARAMS 7, {TIMESTAMPTZOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID}, NULL

/* Open sessions (the live values are volatile: computed once, in a subquery) */
SessionPlan query_at_open = {
	"SELECT id, uuid, who AS username, NULL::boolean AS authenticated, "
	"project, address, scope, scope = 'designer' AS is_designer, "
	"client_id, user_agent, node, start_time, last_comm, "
	"GREATEST(session.elapsed_ms(start_time, $1), 0) AS uptime_ms, "
	"GREATEST(session.elapsed_ms(last_comm, " TS_NOW "), 0) AS last_comm_ms, "
	"pg_catalog.cardinality(page_ids) AS active_pages, page_ids, recent_bytes_sent, "
	"total_bytes_sent, attributes, NULL::timestamptz AS end_time, NULL::text AS end_reason FROM ("
	"SELECT s.id, s.uuid, s.project, s.address, s.scope, s.client_id, s.user_agent, s.node, "
	"s.start_time, " LIVE_LAST_COMM_OF("s") " AS last_comm, s.page_ids, "
	"session.live_recent_bytes(s.id, s.recent_bytes_sent) AS recent_bytes_sent, "
	"session.live_total_bytes(s.id, s.total_bytes_sent) AS total_bytes_sent, s.attributes, "
	AT_WHO("s") " AS who FROM session_storage.sessions s WHERE s.start_time <= $1"
	") a WHERE " AT_USER_FILTER("who") PROJECT_FILTER(5, 6, 7),
	AT_PARAMS
};

/* Ended sessions, one flat statement (each row read once, projected once) */
SessionPlan query_at_ended = {
	"SELECT e.id, e.uuid, " AT_WHO("e") " AS username, NULL::boolean AS authenticated, "
	"e.project, e.address, e.scope, "
	"e.scope = 'designer' AS is_designer, e.client_id, e.user_agent, e.node, e.start_time, e.last_comm, "
	"GREATEST(session.elapsed_ms(e.start_time, $1), 0) AS uptime_ms, "
	"GREATEST(session.elapsed_ms(e.last_comm, e.end_time), 0) AS last_comm_ms, "
	"pg_catalog.cardinality(e.page_ids) AS active_pages, e.page_ids, e.recent_bytes_sent, "
	"e.total_bytes_sent, e.attributes, e.end_time, e.end_reason "
	"FROM session_storage.ended_sessions e WHERE e.end_time > $1 AND e.start_time <= $1 AND "
	AT_USER_FILTER(AT_WHO("e")) PROJECT_FILTER_OF("e.project", 5, 6, 7),
	AT_PARAMS
};

/* -------------------------------------------------------- heartbeat buffer */

/* Which of the ids are open sessions (run under a fresh snapshot) */
SessionPlan query_hbuf_open_ids = {
	"SELECT id FROM session_storage.sessions WHERE id = ANY ($1)",
	1, {INT8ARRAYOID}, NULL
};

/*
 * The same, locking the rows found against their deletion (not against
 * heartbeats or the flush): the first heartbeat of a session without an
 * entry in the buffer.
 */
SessionPlan query_hbuf_lock_open_ids = {
	"SELECT id FROM session_storage.sessions WHERE id = ANY ($1) FOR KEY SHARE",
	1, {INT8ARRAYOID}, NULL
};

/*
 * The worker's flush: one heap-only update per session, in id order, from
 * arrays of ids, newest last_comm (NULL: none), recent bytes (NULL: none)
 * and bytes to add.  Rows locked by someone are skipped (they are written
 * at the next flush); RETURNING says which were written.
 */
SessionPlan query_hbuf_flush = {
	"WITH l AS (SELECT s.id, u.lc, u.rb, u.ad FROM unnest($1::bigint[], $2::timestamptz[],"
	" $3::bigint[], $4::bigint[]) AS u(id, lc, rb, ad)"
	" JOIN session_storage.sessions s ON s.id = u.id"
	" FOR NO KEY UPDATE OF s SKIP LOCKED)"
	" UPDATE session_storage.sessions s SET"
	" last_comm = GREATEST(s.last_comm, l.lc),"
	" recent_bytes_sent = COALESCE(l.rb, s.recent_bytes_sent),"
	" total_bytes_sent = " SATURATING_ADD("s.total_bytes_sent", "l.ad")
	" FROM l WHERE s.id = l.id"
	" RETURNING s.id",
	4, {INT8ARRAYOID, TIMESTAMPTZARRAYOID, INT8ARRAYOID, INT8ARRAYOID}, NULL
};
