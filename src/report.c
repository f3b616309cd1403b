/*-------------------------------------------------------------------------
 *
 * report.c
 *	  session.concurrency(): per time bucket and project, the most sessions
 *	  open at one moment and the distinct users.
 *
 *	  Each session that overlaps a bucket is clipped to it and becomes two
 *	  events, +1 at its start and -1 at its end; the peak is the largest
 *	  running sum.  Ends sort before starts at the same instant, because a
 *	  session is open on [start_time, end_time).  Open sessions count as
 *	  open until now.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "regex_filter.h"

PG_FUNCTION_INFO_V1(session_concurrency);
PG_FUNCTION_INFO_V1(session_elapsed_ms);

/* More buckets than this is almost certainly a mistake in the bucket size */
#define MAX_BUCKETS 100000

static SessionPlan concurrency_plan = {
	"WITH s AS ("
	" SELECT project, username, authenticated, start_time AS st, pg_catalog.statement_timestamp() AS et"
	" FROM session.sessions WHERE start_time < $2 AND ($4::text IS NULL OR project ~ $4)"
	" UNION ALL"
	" SELECT project, username, authenticated, start_time, end_time"
	" FROM session.ended_sessions WHERE end_time > $1 AND start_time < $2"
	" AND ($4::text IS NULL OR project ~ $4)),"
	" b AS (SELECT bs, LEAST(bs + $3, $2) AS be"
	" FROM pg_catalog.generate_series($1, $2, $3) AS bs WHERE bs < $2),"
	" sb AS (SELECT b.bs, s.project, s.username, s.authenticated,"
	" GREATEST(s.st, b.bs) AS cs, LEAST(s.et, b.be) AS ce"
	" FROM s JOIN b ON s.st < b.be AND s.et > b.bs),"
	" ev AS (SELECT bs, project, cs AS t, 1 AS d FROM sb WHERE cs < ce"
	" UNION ALL SELECT bs, project, ce, -1 FROM sb WHERE cs < ce),"
	" run AS (SELECT bs, project, sum(d) OVER (PARTITION BY bs, project ORDER BY t, d"
	" ROWS UNBOUNDED PRECEDING) AS c FROM ev),"
	" peaks AS (SELECT bs, project, max(c) AS peak FROM run GROUP BY bs, project),"
	" users AS (SELECT bs, project, count(DISTINCT username) FILTER (WHERE authenticated) AS u"
	" FROM sb WHERE cs < ce GROUP BY bs, project)"
	" SELECT p.bs, p.project, p.peak::integer, u.u::integer"
	" FROM peaks p JOIN users u ON u.bs = p.bs AND u.project IS NOT DISTINCT FROM p.project"
	" ORDER BY p.bs, p.project",
	4, {TIMESTAMPTZOID, TIMESTAMPTZOID, INTERVALOID, TEXTOID}, NULL
};

Datum
session_concurrency(PG_FUNCTION_ARGS)
{
	SessionSpi	spi;
	TimestampTz from_time;
	TimestampTz to_time;
	Interval   *bucket;
	double		bucket_usecs;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	session_require_arg(fcinfo, 0, "from_time");
	session_require_arg(fcinfo, 1, "to_time");
	session_require_arg(fcinfo, 2, "bucket");
	from_time = PG_GETARG_TIMESTAMPTZ(0);
	to_time = PG_GETARG_TIMESTAMPTZ(1);
	bucket = PG_GETARG_INTERVAL_P(2);

	if (TIMESTAMP_NOT_FINITE(from_time) || TIMESTAMP_NOT_FINITE(to_time) || from_time >= to_time)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("from_time must be a finite time before to_time")));

	bucket_usecs = (double) bucket->time + (double) bucket->day * USECS_PER_DAY +
		(double) bucket->month * DAYS_PER_MONTH * USECS_PER_DAY;
	if (bucket->time < 0 || bucket->day < 0 || bucket->month < 0 || bucket_usecs <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bucket must be a positive interval")));
	if (((double) to_time - (double) from_time) / bucket_usecs > MAX_BUCKETS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("too many buckets"),
				 errdetail("At most %d buckets fit between from_time and to_time.", MAX_BUCKETS)));

	values[0] = TimestampTzGetDatum(from_time);
	values[1] = TimestampTzGetDatum(to_time);
	values[2] = PointerGetDatum(bucket);
	if (PG_ARGISNULL(3))
	{
		values[3] = (Datum) 0;
		nulls[3] = true;
	}
	else
	{
		RegexFilter pf;

		regex_filter_init(&pf, PG_GETARG_TEXT_PP(3), "project_regex");
		values[3] = CStringGetTextDatum(pf.pattern);
	}

	InitMaterializedSRF(fcinfo, 0);
	session_spi_connect(&spi);
	session_exec_into_result(fcinfo, &concurrency_plan, values, nulls);
	session_spi_finish(&spi);
	return (Datum) 0;
}

/*
 * Whole milliseconds between two times, for uptime_ms and last_comm_ms.
 * Integer arithmetic: computed for every listed row.
 */
Datum
session_elapsed_ms(PG_FUNCTION_ARGS)
{
	TimestampTz from_time = PG_GETARG_TIMESTAMPTZ(0);
	TimestampTz to_time = PG_GETARG_TIMESTAMPTZ(1);
	int64		diff;

	if (TIMESTAMP_NOT_FINITE(from_time) || TIMESTAMP_NOT_FINITE(to_time) ||
		pg_sub_s64_overflow(to_time, from_time, &diff))
		PG_RETURN_NULL();
	PG_RETURN_INT64(diff / 1000);
}
