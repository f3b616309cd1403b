/*-------------------------------------------------------------------------
 *
 * registry.c
 *	  Writing sessions: open, log in and out, heartbeat, close, clientless
 *	  sessions, termination, node shutdown and the per-user limit.
 *
 *	  Open sessions live in session.sessions.  Ending a session moves its row
 *	  to session.ended_sessions in one statement, so a session is in exactly
 *	  one of the two tables at any time.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/int.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(session_open_session);
PG_FUNCTION_INFO_V1(session_open_clientless_session);
PG_FUNCTION_INFO_V1(session_set_session_user);
PG_FUNCTION_INFO_V1(session_heartbeat);
PG_FUNCTION_INFO_V1(session_heartbeat_many);
PG_FUNCTION_INFO_V1(session_close_session);
PG_FUNCTION_INFO_V1(session_close_clientless_session);
PG_FUNCTION_INFO_V1(session_terminate_session);
PG_FUNCTION_INFO_V1(session_close_node_sessions);

/* Advisory lock class that serializes the logins of one user */
#define SESSION_USER_LOCK_CLASS 0x53455353

/* The stored columns, in table order, shared by both tables */
#define SESSION_COLUMNS \
	"id, uuid, username, authenticated, project, address, scope, client_id, " \
	"user_agent, node, start_time, last_comm, page_ids, recent_bytes_sent, " \
	"total_bytes_sent, attributes"

/* Moves the rows of CTE d to history and returns what events need. */
#define SESSION_MOVE_TO_HISTORY(reason) \
	"INSERT INTO session.ended_sessions (" SESSION_COLUMNS ", end_time, end_reason) " \
	"SELECT " SESSION_COLUMNS ", " \
	"GREATEST(pg_catalog.statement_timestamp(), start_time), " reason " FROM d " \
	"RETURNING id, username, project, node, end_reason"

static SessionPlan open_plan = {
	"INSERT INTO session.sessions (uuid, username, authenticated, project, address, scope, "
	"client_id, user_agent, node, start_time, last_comm, attributes) "
	"VALUES (pg_catalog.gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, $8, "
	"pg_catalog.statement_timestamp(), pg_catalog.statement_timestamp(), $9) RETURNING id",
	9, {TEXTOID, BOOLOID, TEXTOID, INETOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID}, NULL
};

static SessionPlan user_sessions_plan = {
	"SELECT id FROM session.sessions "
	"WHERE username = $1 AND authenticated AND scope <> 'clientless' AND id <> $2 "
	"ORDER BY start_time, id",
	2, {TEXTOID, INT8OID}, NULL
};

static SessionPlan set_user_plan = {
	"UPDATE session.sessions SET username = $2, authenticated = $3 WHERE id = $1 "
	"RETURNING username, project, node",
	3, {INT8OID, TEXTOID, BOOLOID}, NULL
};

static SessionPlan heartbeat_plan = {
	"UPDATE session.sessions SET "
	"last_comm = GREATEST(last_comm, pg_catalog.statement_timestamp()), "
	"recent_bytes_sent = $2, total_bytes_sent = total_bytes_sent + $2, "
	"page_ids = COALESCE($3, page_ids) WHERE id = $1",
	3, {INT8OID, INT8OID, TEXTARRAYOID}, NULL
};

static SessionPlan heartbeat_many_plan = {
	"UPDATE session.sessions s SET "
	"last_comm = GREATEST(s.last_comm, pg_catalog.statement_timestamp()), "
	"recent_bytes_sent = u.b, total_bytes_sent = s.total_bytes_sent + u.b "
	"FROM unnest($1::bigint[], $2::bigint[]) AS u(id, b) WHERE s.id = u.id",
	2, {INT8ARRAYOID, INT8ARRAYOID}, NULL
};

static SessionPlan end_plan = {
	"WITH d AS (DELETE FROM session.sessions WHERE id = $1 RETURNING *) "
	SESSION_MOVE_TO_HISTORY("$2"),
	2, {INT8OID, TEXTOID}, NULL
};

static SessionPlan end_clientless_plan = {
	"WITH d AS (DELETE FROM session.sessions WHERE id = $1 AND scope = 'clientless' RETURNING *) "
	SESSION_MOVE_TO_HISTORY("$2"),
	2, {INT8OID, TEXTOID}, NULL
};

static SessionPlan end_node_plan = {
	"WITH v AS (SELECT id FROM session.sessions WHERE node = $1 ORDER BY id LIMIT $3 FOR UPDATE), "
	"d AS (DELETE FROM session.sessions s USING v WHERE s.id = v.id RETURNING s.*) "
	SESSION_MOVE_TO_HISTORY("$2"),
	3, {TEXTOID, TEXTOID, INT4OID}, NULL
};

static SessionPlan open_exists_plan = {
	"SELECT 1 FROM session.sessions WHERE id = $1",
	1, {INT8OID}, NULL
};

static SessionPlan ended_scope_plan = {
	"SELECT scope FROM session.ended_sessions WHERE id = $1 LIMIT 1",
	1, {INT8OID}, NULL
};

static inline Datum
nullable(text *t)
{
	return t ? PointerGetDatum(t) : (Datum) 0;
}

/* Is this username the literal that means nobody is logged in? */
static bool
is_unauthenticated(text *username)
{
	return username == NULL ||
		(VARSIZE_ANY_EXHDR(username) == strlen(SESSION_UNAUTHENTICATED) &&
		 memcmp(VARDATA_ANY(username), SESSION_UNAUTHENTICATED,
				strlen(SESSION_UNAUTHENTICATED)) == 0);
}

/*
 * Enforce session.max_sessions_per_user for a user about to hold one more
 * session (exclude_id: a session of the caller's that must not count).
 *
 * A transaction-scoped advisory lock per user serializes concurrent logins
 * of that user, so two of them never both pass the check; the count query
 * runs after the lock is granted and so sees every committed login.
 */
static void
enforce_user_limit(const char *username, int64 exclude_id)
{
	LOCKTAG		tag;
	Datum		values[2];
	int			limit = session_max_sessions_per_user;
	int			n;
	int64	   *ids;

	if (limit <= 0)
		return;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, SESSION_USER_LOCK_CLASS,
						 hash_bytes((const unsigned char *) username, strlen(username)),
						 2);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);

	values[0] = CStringGetTextDatum(username);
	values[1] = Int64GetDatum(exclude_id);
	n = session_exec(&user_sessions_plan, values, NULL, false, 0);
	if (n < limit)
		return;

	if (session_limit_policy == SESSION_LIMIT_REJECT)
		ereport(ERROR,
				(errcode(ERRCODE_SESSION_LIMIT_EXCEEDED),
				 errmsg("user \"%s\" already has %d open sessions", username, n),
				 errdetail("session.max_sessions_per_user is %d.", limit)));

	/* evict_oldest: end the oldest sessions until one more fits */
	ids = palloc(sizeof(int64) * n);
	for (int i = 0; i < n; i++)
	{
		bool		isnull;

		ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
											 SPI_tuptable->tupdesc, 1, &isnull));
	}
	for (int i = 0; i <= n - limit; i++)
		(void) session_end_session(ids[i], "evicted", "evict", false);
	pfree(ids);
}

static int64
open_common(text *username, text *project, Datum address, bool address_null,
			const char *scope, text *client_id, text *user_agent, text *node,
			Datum attributes, bool attributes_null)
{
	SessionSpi	spi;
	Datum		values[9];
	char		nulls[9];
	bool		authenticated = !is_unauthenticated(username);
	char	   *user = authenticated ? text_to_cstring(username) : SESSION_UNAUTHENTICATED;
	int64		id;
	bool		isnull;

	memset(nulls, ' ', sizeof(nulls));
	values[0] = CStringGetTextDatum(user);
	values[1] = BoolGetDatum(authenticated);
	values[2] = nullable(project);
	nulls[2] = project ? ' ' : 'n';
	values[3] = address;
	nulls[3] = address_null ? 'n' : ' ';
	values[4] = CStringGetTextDatum(scope);
	values[5] = nullable(client_id);
	nulls[5] = client_id ? ' ' : 'n';
	values[6] = nullable(user_agent);
	nulls[6] = user_agent ? ' ' : 'n';
	values[7] = nullable(node);
	nulls[7] = node ? ' ' : 'n';
	values[8] = attributes;
	nulls[8] = attributes_null ? 'n' : ' ';

	session_spi_connect(&spi);
	if (authenticated && strcmp(scope, SESSION_SCOPE_CLIENTLESS) != 0)
		enforce_user_limit(user, 0);
	session_exec(&open_plan, values, nulls, false, 0);
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (session_events_wanted())
		session_notify_event("open", id, user, project ? text_to_cstring(project) : NULL,
							 node ? text_to_cstring(node) : NULL, NULL);
	session_spi_finish(&spi);
	return id;
}

Datum
session_open_session(PG_FUNCTION_ARGS)
{
	text	   *username = session_text_arg(fcinfo, 0, "username", SESSION_MAX_NAME_LEN, false, true);
	text	   *project = session_text_arg(fcinfo, 1, "project", SESSION_MAX_NAME_LEN, true, true);
	text	   *scope = session_text_arg(fcinfo, 3, "scope", SESSION_MAX_NAME_LEN, true, true);
	text	   *client_id = session_text_arg(fcinfo, 4, "client_id", SESSION_MAX_NAME_LEN, false, false);
	text	   *user_agent = session_text_arg(fcinfo, 5, "user_agent", SESSION_MAX_USER_AGENT_LEN, false, false);
	text	   *node = session_text_arg(fcinfo, 6, "node", SESSION_MAX_NAME_LEN, false, true);

	session_check_scope(scope);
	if (!PG_ARGISNULL(7))
		session_check_attributes(PG_GETARG_DATUM(7));

	PG_RETURN_INT64(open_common(username, project,
								PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2), PG_ARGISNULL(2),
								text_to_cstring(scope), client_id, user_agent, node,
								PG_ARGISNULL(7) ? (Datum) 0 : PG_GETARG_DATUM(7), PG_ARGISNULL(7)));
}

Datum
session_open_clientless_session(PG_FUNCTION_ARGS)
{
	text	   *username = session_text_arg(fcinfo, 0, "username", SESSION_MAX_NAME_LEN, true, true);
	text	   *project = session_text_arg(fcinfo, 1, "project", SESSION_MAX_NAME_LEN, false, true);
	text	   *node = session_text_arg(fcinfo, 2, "node", SESSION_MAX_NAME_LEN, false, true);

	if (!PG_ARGISNULL(3))
		session_check_attributes(PG_GETARG_DATUM(3));

	PG_RETURN_INT64(open_common(username, project, (Datum) 0, true,
								SESSION_SCOPE_CLIENTLESS, NULL, NULL, node,
								PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3), PG_ARGISNULL(3)));
}

Datum
session_set_session_user(PG_FUNCTION_ARGS)
{
	SessionSpi	spi;
	int64		id;
	text	   *username;
	bool		authenticated;
	char	   *user;
	Datum		values[3];

	session_require_arg(fcinfo, 0, "session_id");
	id = PG_GETARG_INT64(0);
	username = session_text_arg(fcinfo, 1, "username", SESSION_MAX_NAME_LEN, false, true);
	authenticated = !is_unauthenticated(username);
	user = authenticated ? text_to_cstring(username) : SESSION_UNAUTHENTICATED;

	session_spi_connect(&spi);
	if (authenticated)
		enforce_user_limit(user, id);
	values[0] = Int64GetDatum(id);
	values[1] = CStringGetTextDatum(user);
	values[2] = BoolGetDatum(authenticated);
	if (session_exec(&set_user_plan, values, NULL, false, 0) == 0)
		session_not_found(id);
	if (session_events_wanted())
		session_notify_event("user", id, user,
							 SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2),
							 SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3),
							 authenticated ? "login" : "logout");
	session_spi_finish(&spi);
	PG_RETURN_VOID();
}

Datum
session_heartbeat(PG_FUNCTION_ARGS)
{
	SessionSpi	spi;
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	int			n;

	session_require_arg(fcinfo, 0, "session_id");
	session_require_arg(fcinfo, 1, "bytes_sent");
	session_check_bytes(PG_GETARG_INT64(1));
	values[0] = PG_GETARG_DATUM(0);
	values[1] = PG_GETARG_DATUM(1);
	if (PG_ARGISNULL(2))
	{
		values[2] = (Datum) 0;
		nulls[2] = 'n';
	}
	else
	{
		session_check_page_ids(PG_GETARG_ARRAYTYPE_P(2));
		values[2] = PG_GETARG_DATUM(2);
	}

	session_spi_connect(&spi);
	n = session_exec(&heartbeat_plan, values, nulls, false, 0);
	session_spi_finish(&spi);
	PG_RETURN_BOOL(n > 0);
}

typedef struct HeartbeatItem
{
	int64		id;
	int64		bytes;
} HeartbeatItem;

static int
heartbeat_item_cmp(const void *a, const void *b)
{
	int64		x = ((const HeartbeatItem *) a)->id;
	int64		y = ((const HeartbeatItem *) b)->id;

	return (x > y) - (x < y);
}

/* Read a bigint[] argument, refusing NULL elements. */
static int
int8_array_arg(ArrayType *arr, const char *name, Datum **elems)
{
	bool	   *nulls;
	int			n;

	deconstruct_array(arr, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain nulls", name)));
	}
	return n;
}

/*
 * Heartbeat many sessions in one statement.  Ids are sorted and duplicates
 * merged first, so concurrent batches lock rows in the same order.
 */
Datum
session_heartbeat_many(PG_FUNCTION_ARGS)
{
	SessionSpi	spi;
	Datum	   *ids;
	Datum	   *bytes = NULL;
	int			n;
	int			m = 0;
	HeartbeatItem *items;
	Datum	   *out_ids;
	Datum	   *out_bytes;
	Datum		values[2];
	int64		touched;

	session_require_arg(fcinfo, 0, "session_ids");
	n = int8_array_arg(PG_GETARG_ARRAYTYPE_P(0), "session_ids", &ids);
	if (!PG_ARGISNULL(1))
	{
		int			nb = int8_array_arg(PG_GETARG_ARRAYTYPE_P(1), "bytes_sent", &bytes);

		if (nb != n)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("bytes_sent has %d entries but session_ids has %d", nb, n)));
		for (int i = 0; i < n; i++)
			session_check_bytes(DatumGetInt64(bytes[i]));
	}
	if (n == 0)
		PG_RETURN_INT64(0);

	items = palloc(sizeof(HeartbeatItem) * n);
	for (int i = 0; i < n; i++)
	{
		items[i].id = DatumGetInt64(ids[i]);
		items[i].bytes = bytes ? DatumGetInt64(bytes[i]) : 0;
	}
	qsort(items, n, sizeof(HeartbeatItem), heartbeat_item_cmp);

	out_ids = palloc(sizeof(Datum) * n);
	out_bytes = palloc(sizeof(Datum) * n);
	for (int i = 0; i < n; i++)
	{
		if (m > 0 && DatumGetInt64(out_ids[m - 1]) == items[i].id)
		{
			int64		sum;

			if (pg_add_s64_overflow(DatumGetInt64(out_bytes[m - 1]), items[i].bytes, &sum))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("bytes_sent of session " INT64_FORMAT " is out of range",
								items[i].id)));
			out_bytes[m - 1] = Int64GetDatum(sum);
			continue;
		}
		out_ids[m] = Int64GetDatum(items[i].id);
		out_bytes[m] = Int64GetDatum(items[i].bytes);
		m++;
	}

	values[0] = PointerGetDatum(construct_array(out_ids, m, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[1] = PointerGetDatum(construct_array(out_bytes, m, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));

	session_spi_connect(&spi);
	touched = session_exec_nestloop(&heartbeat_many_plan, values, NULL);
	session_spi_finish(&spi);
	PG_RETURN_INT64(touched);
}

/*
 * End one session: move it to history with the reason and send the event.
 * Returns false when it had already ended; raises SE404 when there is no
 * such session (or, with clientless_only, when it is not clientless).
 * The caller has an SPI connection.
 */
bool
session_end_session(int64 session_id, const char *reason, const char *event,
					bool clientless_only)
{
	Datum		values[2];
	bool		isnull;

	values[0] = Int64GetDatum(session_id);
	values[1] = CStringGetTextDatum(reason);
	if (session_exec(clientless_only ? &end_clientless_plan : &end_plan,
					 values, NULL, false, 0) > 0)
	{
		session_notify_ended_rows(event);
		return true;
	}

	if (clientless_only && session_exec(&open_exists_plan, values, NULL, false, 1) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_SESSION_NOT_FOUND),
				 errmsg("session " INT64_FORMAT " is not a clientless session", session_id)));

	if (session_exec(&ended_scope_plan, values, NULL, false, 1) > 0)
	{
		Datum		scope = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (clientless_only && strcmp(TextDatumGetCString(scope), SESSION_SCOPE_CLIENTLESS) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_SESSION_NOT_FOUND),
					 errmsg("session " INT64_FORMAT " is not a clientless session", session_id)));
		return false;
	}
	session_not_found(session_id);
	return false;				/* keep compiler quiet */
}

static Datum
end_one(FunctionCallInfo fcinfo, const char *default_event, bool clientless_only)
{
	SessionSpi	spi;
	int64		id;
	text	   *reason;
	bool		ended;

	session_require_arg(fcinfo, 0, "session_id");
	id = PG_GETARG_INT64(0);
	reason = clientless_only ? cstring_to_text("closed") :
		session_text_arg(fcinfo, 1, "reason", SESSION_MAX_NAME_LEN, true, true);

	session_spi_connect(&spi);
	ended = session_end_session(id, text_to_cstring(reason), default_event, clientless_only);
	session_spi_finish(&spi);
	PG_RETURN_BOOL(ended);
}

Datum
session_close_session(PG_FUNCTION_ARGS)
{
	return end_one(fcinfo, "close", false);
}

Datum
session_close_clientless_session(PG_FUNCTION_ARGS)
{
	return end_one(fcinfo, "close", true);
}

Datum
session_terminate_session(PG_FUNCTION_ARGS)
{
	return end_one(fcinfo, "terminate", false);
}

/* End every open session of a node, a bounded batch per statement. */
Datum
session_close_node_sessions(PG_FUNCTION_ARGS)
{
	SessionSpi	spi;
	text	   *node = session_text_arg(fcinfo, 0, "node", SESSION_MAX_NAME_LEN, true, true);
	text	   *reason = session_text_arg(fcinfo, 1, "reason", SESSION_MAX_NAME_LEN, true, true);
	Datum		values[3];
	int64		total = 0;
	int			n;

	values[0] = PointerGetDatum(node);
	values[1] = PointerGetDatum(reason);
	values[2] = Int32GetDatum(SESSION_END_BATCH);

	session_spi_connect(&spi);
	do
	{
		CHECK_FOR_INTERRUPTS();
		n = session_exec_nestloop(&end_node_plan, values, NULL);
		session_notify_ended_rows("close");
		total += n;
	} while (n == SESSION_END_BATCH);
	session_spi_finish(&spi);
	PG_RETURN_INT64(total);
}
