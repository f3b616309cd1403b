/*-------------------------------------------------------------------------
 *
 * registry.c
 *	  Writing sessions: open, log in and out, heartbeat, close, clientless
 *	  sessions, termination, node shutdown and the per-user limit.
 *
 *	  Open sessions live in session_storage.sessions.  Ending a session moves
 *	  its row to session_storage.ended_sessions in one statement, so a session is in exactly
 *	  one of the two tables at any time.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"
#include "queries.h"
#include "heartbeat_buffer.h"

#include "access/xact.h"
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

/*
 * The lock that serializes the logins of one user: an advisory-type lock
 * tag whose last field is a value that the pg_advisory_* functions never
 * use (they use 1 for a bigint key and 2 for a pair of integers), so no SQL
 * caller can take it and make a user's logins wait.
 */
#define SESSION_USER_LOCK_CLASS 0x53455353
#define SESSION_USER_LOCK_KIND	0x5345

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
 * A transaction-scoped lock per user serializes concurrent logins of that
 * user, so two of them never both pass the check.  The count runs after the
 * lock is granted, with a snapshot taken then, so it sees every committed
 * login even under REPEATABLE READ or SERIALIZABLE, whose transaction
 * snapshot may be older than the other login's commit.
 */
static void
enforce_user_limit(const char *username, int64 exclude_id)
{
	LOCKTAG		tag;
	Datum		values[2];
	int			limit = session_max_sessions_per_user;
	int			n;
	int			evict;
	int64	   *ids;

	if (limit <= 0)
		return;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, SESSION_USER_LOCK_CLASS,
						 hash_bytes((const unsigned char *) username, strlen(username)),
						 SESSION_USER_LOCK_KIND);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);

	values[0] = CStringGetTextDatum(username);
	values[1] = Int64GetDatum(exclude_id);
	n = session_exec_latest(&query_user_sessions, values, NULL);
	if (n < limit)
		return;

	if (session_limit_policy == SESSION_LIMIT_REJECT)
		ereport(ERROR,
				(errcode(ERRCODE_SESSION_LIMIT_EXCEEDED),
				 errmsg_plural("user \"%s\" already has %d open session",
							   "user \"%s\" already has %d open sessions",
							   n, username, n),
				 errdetail("session.max_sessions_per_user is %d.", limit)));

	/* evict_oldest: end the oldest sessions until one more fits */
	evict = n - limit + 1;
	ids = palloc(sizeof(int64) * evict);
	for (int i = 0; i < evict; i++)
	{
		bool		isnull;

		ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
											 SPI_tuptable->tupdesc, 1, &isnull));
	}

	/*
	 * The heartbeat buffer entries of the sessions to evict, all at once in
	 * ascending order as batches of heartbeats claim them, so that ending
	 * several sessions cannot deadlock with a batch.
	 */
	session_hbuf_lock_ids_for_end(ids, evict);

	/*
	 * A transaction snapshot cannot end a session committed after it was
	 * taken (it cannot see the row): that is a serialization failure, and
	 * the application retries the login.
	 */
	if (IsolationUsesXactSnapshot())
	{
		int			m = session_exec(&query_user_sessions, values, NULL, true, 0);

		for (int i = 0; i < evict; i++)
		{
			bool		seen = false;

			for (int j = 0; j < m && !seen; j++)
			{
				bool		isnull;

				seen = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[j],
												   SPI_tuptable->tupdesc, 1, &isnull)) == ids[i];
			}
			if (!seen)
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not serialize access due to a concurrent login of user \"%s\"",
								username),
						 errhint("Retry the transaction.")));
		}
	}

	for (int i = 0; i < evict; i++)
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
	bool		logged;

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
	logged = session_events_prepare();
	session_exec(logged ? &query_open_logged : &query_open, values, nulls, false, 0);
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	session_hbuf_opened(id);
	if (logged)
		session_events_written(1);
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
	bool		logged;

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
	logged = session_events_prepare();
	if (session_exec(logged ? &query_set_user_logged : &query_set_user, values, NULL, false, 0) == 0)
		session_not_found(id);
	if (logged)
		session_events_written(1);
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

	if (session_hbuf_buffering())
	{
		HbufResult r = session_hbuf_heartbeat(PG_GETARG_INT64(0), PG_GETARG_INT64(1));

		if (r == HBUF_NOT_OPEN)
			PG_RETURN_BOOL(false);
		if (r == HBUF_BUFFERED)
		{
			/* page_ids are not buffered: written at once, if they changed */
			if (nulls[2] != 'n')
			{
				Datum		pv[2] = {values[0], values[2]};

				session_spi_connect(&spi);
				(void) session_exec(&query_page_ids, pv, NULL, false, 0);
				session_spi_finish(&spi);
			}
			PG_RETURN_BOOL(true);
		}
	}

	session_spi_connect(&spi);
	n = session_exec(&query_heartbeat, values, nulls, false, 0);
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
	int64		buffered = 0;

	session_require_arg(fcinfo, 0, "session_ids");
	n = session_int8_array_arg(PG_GETARG_ARRAYTYPE_P(0), "session_ids", &ids);
	if (!PG_ARGISNULL(1))
	{
		int			nb = session_int8_array_arg(PG_GETARG_ARRAYTYPE_P(1), "bytes_sent", &bytes);

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

			/* counters saturate: so does the sum of one session's entries */
			if (pg_add_s64_overflow(DatumGetInt64(out_bytes[m - 1]), items[i].bytes, &sum))
				sum = PG_INT64_MAX;
			out_bytes[m - 1] = Int64GetDatum(sum);
			continue;
		}
		out_ids[m] = Int64GetDatum(items[i].id);
		out_bytes[m] = Int64GetDatum(items[i].bytes);
		m++;
	}

	if (session_hbuf_buffering())
	{
		/* what found no slot comes back for the table path */
		int64	   *bids = palloc(sizeof(int64) * m);
		int64	   *bbytes = palloc(sizeof(int64) * m);

		for (int i = 0; i < m; i++)
		{
			bids[i] = DatumGetInt64(out_ids[i]);
			bbytes[i] = DatumGetInt64(out_bytes[i]);
		}
		m = session_hbuf_heartbeat_many(bids, bbytes, m, &buffered);
		for (int i = 0; i < m; i++)
		{
			out_ids[i] = Int64GetDatum(bids[i]);
			out_bytes[i] = Int64GetDatum(bbytes[i]);
		}
		if (m == 0)
			PG_RETURN_INT64(buffered);
	}

	values[0] = PointerGetDatum(construct_array(out_ids, m, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[1] = PointerGetDatum(construct_array(out_bytes, m, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));

	session_spi_connect(&spi);
	touched = session_exec_nestloop(&query_heartbeat_many, values, NULL);
	session_spi_finish(&spi);
	PG_RETURN_INT64(touched + buffered);
}

/*
 * Run a statement that ends sessions (moves them to history, returning
 * id, uuid, username, project, node, scope, end_reason), in its form that
 * also logs their events when the event log is on; then count them and
 * drop their heartbeat buffer entries at commit.  values has room for the
 * logged form's extra parameter, if it takes one.  Returns how many ended;
 * SPI_tuptable holds them.  The caller has an SPI connection.
 */
int
session_run_end(SessionPlan *plain, SessionPlan *logged, Datum *values, bool nestloop)
{
	bool		log = session_events_prepare();
	SessionPlan *sp = log ? logged : plain;
	int			n;

	n = nestloop ? session_exec_nestloop(sp, values, NULL)
		: session_exec(sp, values, NULL, false, 0);
	session_stats_count_ended();
	session_hbuf_ended_rows();
	if (log)
		session_events_written(n);
	return n;
}

/*
 * End a batch of candidates: the sessions whose ids are in SPI_tuptable
 * (first column, ascending), read without locking.  Their heartbeat buffer
 * entries are claimed (waiting for heartbeats in flight, or, without wait,
 * skipping those sessions: *skipped says how many), the statement runs with
 * the array of the ids kept as parameter ids_param, and the claims it did
 * not use are released.  *after advances past the candidates.  Returns how
 * many ended.  The caller has an SPI connection.
 */
int
session_end_candidates(SessionPlan *plain, SessionPlan *logged, Datum *values,
					   int ids_param, bool wait, int64 *after, int *skipped)
{
	int			n = (int) SPI_processed;
	int			m;
	int			nclaimed;
	int			ended;
	int64	   *ids = palloc(sizeof(int64) * Max(n, 1));
	int64	   *claimed = palloc(sizeof(int64) * Max(n, 1));
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
	{
		bool		isnull;

		ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
											 SPI_tuptable->tupdesc, 1, &isnull));
		if (ids[i] > *after)
			*after = ids[i];
	}
	m = session_hbuf_claim_for_end(ids, n, wait, claimed, &nclaimed);
	*skipped = n - m;
	for (int i = 0; i < m; i++)
		elems[i] = Int64GetDatum(ids[i]);
	values[ids_param] = PointerGetDatum(construct_array(elems, m, INT8OID, 8,
														FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	ended = session_run_end(plain, logged, values, true);
	session_hbuf_release_unended(claimed, nclaimed);
	pfree(ids);
	pfree(claimed);
	pfree(elems);
	return ended;
}

/*
 * End one session: move it to history with the reason and log the event.
 * Returns false when it had already ended; raises SE404 when there is no
 * such session (or, with clientless_only, when it is not clientless).
 * The caller has an SPI connection.
 */
bool
session_end_session(int64 session_id, const char *reason, const char *event,
					bool clientless_only)
{
	Datum		values[3];
	bool		isnull;
	int64		id = session_id;
	int64		claimed;
	int			nclaimed;

	values[0] = Int64GetDatum(session_id);
	values[1] = CStringGetTextDatum(reason);
	values[2] = CStringGetTextDatum(event);
	/* an id without an entry in the heartbeat buffer claims nothing */
	(void) session_hbuf_claim_for_end(&id, 1, true, &claimed, &nclaimed);
	if ((clientless_only
		 ? session_run_end(&query_end_clientless, &query_end_clientless_logged, values, false)
		 : session_run_end(&query_end, &query_end_logged, values, false)) > 0)
		return true;
	session_hbuf_release_unended(&claimed, nclaimed);

	if (clientless_only && session_exec(&query_open_exists, values, NULL, false, 1) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_SESSION_NOT_FOUND),
				 errmsg("session " INT64_FORMAT " is not a clientless session", session_id)));

	if (session_exec(&query_ended_scope, values, NULL, false, 1) > 0)
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

/*
 * End one session.  An application's close (app_reason) may not give one
 * of the reasons the system sets; an administrator's termination may, spelled
 * as the system spells it.  Neither may give a look-alike (validate.c).
 */
static Datum
end_one(FunctionCallInfo fcinfo, const char *default_event, bool clientless_only,
		bool app_reason)
{
	SessionSpi	spi;
	int64		id;
	text	   *reason;
	bool		ended;

	session_require_arg(fcinfo, 0, "session_id");
	id = PG_GETARG_INT64(0);
	reason = clientless_only ? cstring_to_text("closed") :
		session_text_arg(fcinfo, 1, "reason", SESSION_MAX_NAME_LEN, true, true);
	if (app_reason)
		session_check_close_reason(reason, NULL);
	else if (!clientless_only)
		session_check_admin_reason(reason);

	session_spi_connect(&spi);
	ended = session_end_session(id, text_to_cstring(reason), default_event, clientless_only);
	session_spi_finish(&spi);
	PG_RETURN_BOOL(ended);
}

Datum
session_close_session(PG_FUNCTION_ARGS)
{
	return end_one(fcinfo, "close", false, true);
}

Datum
session_close_clientless_session(PG_FUNCTION_ARGS)
{
	return end_one(fcinfo, "close", true, false);
}

Datum
session_terminate_session(PG_FUNCTION_ARGS)
{
	return end_one(fcinfo, "terminate", false, false);
}

/*
 * End every open session of a node, a bounded batch per statement: the ids
 * of a batch are read without locking, their heartbeat buffer entries are
 * claimed in id order (waiting for heartbeats in flight), then the rows
 * still open are ended.  A node with no open session holds nothing.
 * Granted to applications (a restarting node closes its own sessions), so
 * of the system's reasons only node_shutdown is accepted.
 */
Datum
session_close_node_sessions(PG_FUNCTION_ARGS)
{
	SessionSpi	spi;
	text	   *node = session_text_arg(fcinfo, 0, "node", SESSION_MAX_NAME_LEN, true, true);
	text	   *reason = session_text_arg(fcinfo, 1, "reason", SESSION_MAX_NAME_LEN, true, true);
	Datum		values[3];
	int64		total = 0;
	int64		after = 0;
	int			n;

	session_check_close_reason(reason, "node_shutdown");

	session_spi_connect(&spi);
	do
	{
		int			skipped;

		CHECK_FOR_INTERRUPTS();
		values[0] = PointerGetDatum(node);
		values[1] = Int64GetDatum(after);
		values[2] = Int32GetDatum(SESSION_END_BATCH);
		n = session_exec(&query_node_ids, values, NULL, false, 0);
		if (n == 0)
			break;
		values[1] = PointerGetDatum(reason);
		total += session_end_candidates(&query_end_node, &query_end_node_logged, values, 2,
										true, &after, &skipped);
	} while (n == SESSION_END_BATCH);
	session_spi_finish(&spi);
	PG_RETURN_INT64(total);
}
