/*-------------------------------------------------------------------------
 *
 * expiry.c
 *	  Ending idle and over-age sessions, history retention, and the daily
 *	  partitions of session.ended_sessions.
 *
 *	  Expiry works in bounded batches that lock their rows with SKIP LOCKED:
 *	  a session that a heartbeat or a close holds right now is left for the
 *	  next pass instead of being waited on, so expiry never blocks or
 *	  deadlocks the application, and a heartbeat that commits first keeps
 *	  its session alive (the row is re-checked once locked).
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

PG_FUNCTION_INFO_V1(session_expire_sessions);
PG_FUNCTION_INFO_V1(session_purge_history);

/* Days of partitions created ahead of today */
#define PARTITION_DAYS_AHEAD	2
#define PARTITION_PREFIX		"ended_sessions_"
#define DEFAULT_PARTITION		"ended_sessions_default"
#define HISTORY_TABLE			"ended_sessions"

#define SECONDS(n) "($" #n " * interval '1 second')"
#define TS_NOW "pg_catalog.statement_timestamp()"

static SessionPlan expire_plan = {
	"WITH v AS ("
	" SELECT id, CASE WHEN scope <> 'clientless' AND $3 > 0 AND start_time <= " TS_NOW " - " SECONDS(3)
	"   THEN 'max_lifetime' ELSE 'timeout' END AS reason"
	" FROM session.sessions"
	" WHERE CASE WHEN scope = 'clientless'"
	"   THEN $2 > 0 AND last_comm <= " TS_NOW " - " SECONDS(2)
	"   ELSE ($1 > 0 AND last_comm <= " TS_NOW " - " SECONDS(1) ")"
	"     OR ($3 > 0 AND start_time <= " TS_NOW " - " SECONDS(3) ") END"
	" AND id > $5 ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED),"
	" d AS (DELETE FROM session.sessions s USING v WHERE s.id = v.id RETURNING s.*, v.reason)"
	" INSERT INTO session.ended_sessions (id, uuid, username, authenticated, project, address,"
	"  scope, client_id, user_agent, node, start_time, last_comm, page_ids, recent_bytes_sent,"
	"  total_bytes_sent, attributes, end_time, end_reason)"
	" SELECT id, uuid, username, authenticated, project, address, scope, client_id, user_agent,"
	"  node, start_time, last_comm, page_ids, recent_bytes_sent, total_bytes_sent, attributes,"
	"  GREATEST(" TS_NOW ", start_time), reason FROM d"
	" RETURNING id, username, project, node, end_reason",
	5, {INT4OID, INT4OID, INT4OID, INT4OID, INT8OID}, NULL
};

static SessionPlan purge_rows_plan = {
	"DELETE FROM session.ended_sessions WHERE end_time < $1",
	1, {TIMESTAMPTZOID}, NULL
};

static SessionPlan partitions_plan = {
	"SELECT c.relname::text FROM pg_catalog.pg_inherits i"
	" JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid"
	" WHERE i.inhparent = 'session.ended_sessions'::pg_catalog.regclass"
	" AND c.relname OPERATOR(pg_catalog.~) '^ended_sessions_[0-9]{8}$'",
	0, {0}, NULL
};

/*
 * One batch of expiry, over sessions with id > *after in id order; advances
 * *after past the batch.  Each batch resumes where the previous one ended, so
 * a pass reads every open session once, not once per batch.  The caller has
 * an SPI connection.
 */
static int
expire_batch(int64 *after)
{
	Datum		values[5];
	int			n;

	values[0] = Int32GetDatum(session_idle_timeout);
	values[1] = Int32GetDatum(session_clientless_idle_timeout);
	values[2] = Int32GetDatum(session_max_lifetime);
	values[3] = Int32GetDatum(SESSION_END_BATCH);
	values[4] = Int64GetDatum(*after);
	n = session_exec_nestloop(&expire_plan, values, NULL);
	for (int i = 0; i < n; i++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
													 SPI_tuptable->tupdesc, 1, &isnull));

		if (id > *after)
			*after = id;
	}
	session_notify_ended_rows("expire");
	return n;
}

/*
 * Apply the timeouts.  With per_batch_commit (the background worker, outside
 * any transaction) each batch is its own transaction; otherwise everything
 * happens in the caller's transaction.
 */
int64
session_expire_now(bool per_batch_commit)
{
	SessionSpi	spi;
	int64		total = 0;
	int64		after = 0;
	int			n;

	if (session_idle_timeout == 0 && session_max_lifetime == 0 &&
		session_clientless_idle_timeout == 0)
		return 0;

	do
	{
		CHECK_FOR_INTERRUPTS();
		if (per_batch_commit)
		{
			SetCurrentStatementStartTimestamp();
			StartTransactionCommand();
			PushActiveSnapshot(GetTransactionSnapshot());
		}
		session_spi_connect(&spi);
		n = expire_batch(&after);
		session_spi_finish(&spi);
		if (per_batch_commit)
		{
			PopActiveSnapshot();
			CommitTransactionCommand();
		}
		total += n;
	} while (n == SESSION_END_BATCH);

	return total;
}

/* Day number (days since 2000-01-01, UTC) of a timestamp */
static int
day_of(TimestampTz ts)
{
	int64		d = ts / USECS_PER_DAY;

	if (ts < 0 && ts % USECS_PER_DAY != 0)
		d--;
	return (int) d;
}

static void
day_label(int day, char *name, size_t namelen, char *literal, size_t litlen)
{
	int			y,
				m,
				d;

	j2date(day + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	if (name)
		snprintf(name, namelen, PARTITION_PREFIX "%04d%02d%02d", y, m, d);
	if (literal)
		snprintf(literal, litlen, "%04d-%02d-%02d 00:00:00+00", y, m, d);
}

static void
run_ddl(const char *sql)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc < 0)
		elog(ERROR, "SPI_execute failed for \"%s\": %s", sql, SPI_result_code_string(rc));
}

/*
 * Create the partition of one day (UTC), moving into it any rows of that day
 * that went to the default partition.  Skips the day when the locks it needs
 * are not free right now, so it never waits behind the application.
 */
static void
create_day_partition(Oid nsp, int day, int today)
{
	char		name[NAMEDATALEN];
	char		lo[64];
	char		hi[64];
	StringInfoData sql;
	Oid			parent = get_relname_relid(HISTORY_TABLE, nsp);
	Oid			deflt = get_relname_relid(DEFAULT_PARTITION, nsp);

	day_label(day, name, sizeof(name), lo, sizeof(lo));
	day_label(day + 1, NULL, 0, hi, sizeof(hi));

	if (!OidIsValid(parent) || OidIsValid(get_relname_relid(name, nsp)))
		return;

	/*
	 * A session ending right now may already have chosen the default
	 * partition for its row; attaching the partition that covers now would
	 * make that row violate the default partition's new constraint.  So for
	 * today (or a past day) wait for no writer at all, skipping the day if
	 * any is active; future days cannot receive current rows.
	 */
	if (!ConditionalLockRelationOid(parent, day <= today ? ShareRowExclusiveLock
									: ShareUpdateExclusiveLock))
		return;
	if (OidIsValid(deflt) && !ConditionalLockRelationOid(deflt, AccessExclusiveLock))
		return;
	/* someone may have created it while we were getting the locks */
	if (OidIsValid(get_relname_relid(name, nsp)))
		return;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "CREATE TABLE session.%s (LIKE session." HISTORY_TABLE
					 " INCLUDING DEFAULTS INCLUDING STORAGE)",
					 quote_identifier(name));
	run_ddl(sql.data);

	if (OidIsValid(deflt))
	{
		resetStringInfo(&sql);
		appendStringInfo(&sql,
						 "WITH m AS (DELETE FROM session." DEFAULT_PARTITION
						 " WHERE end_time >= '%s' AND end_time < '%s' RETURNING *)"
						 " INSERT INTO session.%s SELECT * FROM m",
						 lo, hi, quote_identifier(name));
		run_ddl(sql.data);
	}

	resetStringInfo(&sql);
	appendStringInfo(&sql, "CREATE INDEX %s ON session.%s (id)",
					 quote_identifier(psprintf("%s_id_idx", name)), quote_identifier(name));
	run_ddl(sql.data);

	resetStringInfo(&sql);
	appendStringInfo(&sql,
					 "ALTER TABLE session." HISTORY_TABLE " ATTACH PARTITION session.%s"
					 " FOR VALUES FROM ('%s') TO ('%s')",
					 quote_identifier(name), lo, hi);
	run_ddl(sql.data);

	resetStringInfo(&sql);
	appendStringInfo(&sql,
					 "COMMENT ON TABLE session.%s IS 'Sessions that ended on %.10s (UTC)'",
					 quote_identifier(name), lo);
	run_ddl(sql.data);
	pfree(sql.data);
}

/*
 * Make sure the partitions of today and the next days exist.  Runs in the
 * current transaction; the caller has an SPI connection.
 */
void
session_maintain_partitions(void)
{
	Oid			nsp = get_namespace_oid("session", true);
	int			today = day_of(GetCurrentTransactionStartTimestamp());

	if (!OidIsValid(nsp))
		return;
	for (int day = today; day <= today + PARTITION_DAYS_AHEAD; day++)
		create_day_partition(nsp, day, today);
}

/*
 * Remove ended sessions older than cutoff: whole days are dropped with their
 * partition; only the day that straddles the cutoff (and the default
 * partition) are deleted row by row.  The caller has an SPI connection.
 */
int64
session_purge_older_than(TimestampTz cutoff)
{
	int64		removed = 0;
	int			n = session_exec(&partitions_plan, NULL, NULL, false, 0);
	char	  **names = palloc(sizeof(char *) * (n + 1));
	Datum		values[1];

	for (int i = 0; i < n; i++)
		names[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

	for (int i = 0; i < n; i++)
	{
		int			y,
					m,
					d;
		int			day;
		StringInfoData sql;
		bool		isnull;

		CHECK_FOR_INTERRUPTS();
		if (sscanf(names[i], PARTITION_PREFIX "%4d%2d%2d", &y, &m, &d) != 3)
			continue;
		day = date2j(y, m, d) - POSTGRES_EPOCH_JDATE;
		/* the partition holds [day, day + 1): drop it when all of it is old */
		if ((int64) (day + 1) * USECS_PER_DAY > cutoff)
			continue;

		initStringInfo(&sql);
		appendStringInfo(&sql, "SELECT pg_catalog.count(*) FROM session.%s",
						 quote_identifier(names[i]));
		run_ddl(sql.data);
		removed += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											   SPI_tuptable->tupdesc, 1, &isnull));
		resetStringInfo(&sql);
		appendStringInfo(&sql, "DROP TABLE session.%s", quote_identifier(names[i]));
		run_ddl(sql.data);
		pfree(sql.data);
	}

	values[0] = TimestampTzGetDatum(cutoff);
	removed += session_exec(&purge_rows_plan, values, NULL, false, 0);
	return removed;
}

Datum
session_expire_sessions(PG_FUNCTION_ARGS)
{
	SessionSpi	spi;
	int64		n;

	session_spi_connect(&spi);
	session_maintain_partitions();
	session_spi_finish(&spi);
	n = session_expire_now(false);
	PG_RETURN_INT64(n);
}

Datum
session_purge_history(PG_FUNCTION_ARGS)
{
	SessionSpi	spi;
	Interval   *older_than;
	TimestampTz cutoff;
	int64		removed;

	session_require_arg(fcinfo, 0, "older_than");
	older_than = PG_GETARG_INTERVAL_P(0);
	if (DatumGetBool(DirectFunctionCall2(interval_lt, PointerGetDatum(older_than),
										 DirectFunctionCall7(make_interval, 0, 0, 0, 0, 0, 0,
															 Float8GetDatum(0.0)))))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("older_than must not be negative")));

	cutoff = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval,
													 TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
													 PointerGetDatum(older_than)));
	session_spi_connect(&spi);
	removed = session_purge_older_than(cutoff);
	session_spi_finish(&spi);
	PG_RETURN_INT64(removed);
}
