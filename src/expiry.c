/*-------------------------------------------------------------------------
 *
 * expiry.c
 *	  Ending idle and over-age sessions; the entry points of history
 *	  retention and partition maintenance.
 *
 *	  Expiry works in bounded batches that lock their rows with SKIP LOCKED:
 *	  a session that a heartbeat or a close holds right now is left for the
 *	  next pass instead of being waited on, so expiry never blocks or
 *	  deadlocks the application, and a heartbeat that commits first keeps
 *	  its session alive (the row is re-checked once locked).  Heartbeats
 *	  buffered in shared memory take no row lock: a batch first reads its
 *	  candidates, claims their heartbeat buffer entries without waiting
 *	  (skipping those a heartbeat holds now), then ends those still expired
 *	  on the live last_comm, releases the claims it did not use, and sweeps
 *	  again when some were busy (heartbeat_buffer.c).
 *
 *	  The daily partitions of session_storage.ended_sessions are created and
 *	  dropped by SQL functions of the install script
 *	  (session_storage.maintain_partitions and session_storage.purge_history):
 *	  that DDL needs nothing from C.  They take their locks without waiting
 *	  and leave what they could not lock for the next pass, with a WARNING.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"
#include "queries.h"
#include "heartbeat_buffer.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"

PG_FUNCTION_INFO_V1(session_expire_sessions);
PG_FUNCTION_INFO_V1(session_purge_history);

/* sessions that a batch of this pass left because a heartbeat held them */
static int64 busy_missed = 0;

/*
 * One batch of expiry, over sessions with id > *after in id order; advances
 * *after past the batch, adds the sessions ended to *ended and returns the
 * number of candidates (a full batch: there may be more).  Each batch
 * resumes where the previous one ended, so a pass reads every open session
 * once, not once per batch.  The caller has an SPI connection.
 */
static int
expire_batch(int64 *after, int64 *ended)
{
	Datum		values[5];
	int			n;
	int			skipped;

	values[0] = Int32GetDatum(session_idle_timeout);
	values[1] = Int32GetDatum(session_clientless_idle_timeout);
	values[2] = Int32GetDatum(session_max_lifetime);
	values[3] = Int32GetDatum(SESSION_END_BATCH);
	values[4] = Int64GetDatum(*after);
	n = session_exec(&query_expire_candidates, values, NULL, false, 0);
	if (n == 0)
		return 0;
	/* a session with a heartbeat in flight waits for the next sweep */
	*ended += session_end_candidates(&query_expire, &query_expire_logged, values, 3,
									 false, after, &skipped);
	busy_missed += skipped;
	return n;
}

/*
 * One sweep over the open sessions, in batches.  With per_batch_commit (the
 * background worker, outside any transaction) each batch is its own
 * transaction; otherwise everything happens in the caller's transaction.
 */
static int64
expire_sweep(bool per_batch_commit)
{
	SessionSpi	spi;
	int64		total = 0;
	int64		after = 0;
	int			n;

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
		n = expire_batch(&after, &total);
		session_spi_finish(&spi);
		if (per_batch_commit)
		{
			PopActiveSnapshot();
			CommitTransactionCommand();
		}
	} while (n == SESSION_END_BATCH);
	return total;
}

/*
 * Apply the timeouts.  A heartbeat holds its session's entry in the
 * heartbeat buffer for microseconds: after the first sweep, sweep again
 * (twice at most) when some were busy.
 */
int64
session_expire_now(bool per_batch_commit)
{
	int64		total = 0;

	if (session_idle_timeout == 0 && session_max_lifetime == 0 &&
		session_clientless_idle_timeout == 0)
		return 0;

	busy_missed = 1;
	for (int sweep = 0; sweep < 3 && busy_missed != 0; sweep++)
	{
		busy_missed = 0;
		total += expire_sweep(per_batch_commit);
	}
	return total;
}

/* Create the partitions of today and the next days that are missing. */
void
session_maintain_partitions(void)
{
	SessionSpi	spi;

	session_spi_connect(&spi);
	session_exec(&query_maintain_partitions, NULL, NULL, false, 0);
	session_spi_finish(&spi);
}

/* Remove ended sessions older than cutoff; returns how many. */
int64
session_purge_older_than(TimestampTz cutoff)
{
	SessionSpi	spi;
	Datum		values[1];
	bool		isnull;
	int64		removed;

	values[0] = TimestampTzGetDatum(cutoff);
	session_spi_connect(&spi);
	session_exec(&query_purge_history, values, NULL, false, 0);
	removed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
										  1, &isnull));
	session_spi_finish(&spi);
	return removed;
}

Datum
session_expire_sessions(PG_FUNCTION_ARGS)
{
	/*
	 * The sweep reads its candidates before it writes: refuse up front, so
	 * that a read-only transaction (a standby) fails whether or not anything
	 * is due to expire.
	 */
	PreventCommandIfReadOnly("session.expire_sessions()");
	session_maintain_partitions();
	PG_RETURN_INT64(session_expire_now(false));
}

Datum
session_purge_history(PG_FUNCTION_ARGS)
{
	Interval   *older_than;
	TimestampTz cutoff;

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
	PG_RETURN_INT64(session_purge_older_than(cutoff));
}
