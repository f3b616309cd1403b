/*-------------------------------------------------------------------------
 *
 * report.c
 *	  session.concurrency(): per time bucket and group (project, node, scope
 *	  or none), the most sessions open at one moment and the distinct users.
 *
 *	  The query is session_storage.concurrency in the install script; this
 *	  file validates the arguments, makes project_regex a whole-value
 *	  pattern, and numbers the buckets.  Bucket n is [origin + n * bucket,
 *	  origin + (n + 1) * bucket), so buckets fall on clock boundaries as with
 *	  date_bin, whatever from_time is; bucket arithmetic is calendar
 *	  arithmetic in the session's time zone, so a bucket of '1 day' starts
 *	  at local midnight and '1 month' buckets are months.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"
#include "queries.h"

#include <math.h>

#include "common/int.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "regex_filter.h"

PG_FUNCTION_INFO_V1(session_concurrency);
PG_FUNCTION_INFO_V1(session_elapsed_ms);

/* More buckets than this is almost certainly a mistake in the bucket size */
#define MAX_BUCKETS 100000

/* Mean length of a month, for a first guess of a bucket number */
#define MEAN_MONTH_USECS ((double) USECS_PER_DAY * 365.2425 / 12.0)

/* origin + n * bucket, as the query computes it */
static TimestampTz
bucket_start(TimestampTz origin, Interval *bucket, int64 n)
{
	Datum		offset = DirectFunctionCall2(interval_mul, PointerGetDatum(bucket),
											 Float8GetDatum((double) n));

	return DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
												   TimestampTzGetDatum(origin), offset));
}

/*
 * The number of the bucket that contains t: a guess from the bucket's mean
 * length, corrected by stepping (months and days vary in length).
 */
static int64
bucket_of(TimestampTz origin, Interval *bucket, double bucket_usecs, TimestampTz t)
{
	int64		n = (int64) floor(((double) t - (double) origin) / bucket_usecs);

	while (bucket_start(origin, bucket, n) > t)
		n--;
	while (bucket_start(origin, bucket, n + 1) <= t)
		n++;
	return n;
}

Datum
session_concurrency(PG_FUNCTION_ARGS)
{
	SessionSpi	spi;
	TimestampTz from_time;
	TimestampTz to_time;
	TimestampTz origin;
	Interval   *bucket;
	double		bucket_usecs;
	int64		first;
	int64		last;
	Datum		values[7];
	bool		nulls[7] = {false, false, false, false, false, false, false};
	char	   *group_by;

	session_require_arg(fcinfo, 0, "from_time");
	session_require_arg(fcinfo, 1, "to_time");
	session_require_arg(fcinfo, 2, "bucket");
	session_require_arg(fcinfo, 5, "include_empty");
	session_require_arg(fcinfo, 6, "group_by");
	group_by = text_to_cstring(PG_GETARG_TEXT_PP(6));
	if (strcmp(group_by, "project") != 0 && strcmp(group_by, "node") != 0 &&
		strcmp(group_by, "scope") != 0 && strcmp(group_by, "none") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown group_by \"%s\": group_by is one of project, node, scope or none",
						group_by)));
	from_time = PG_GETARG_TIMESTAMPTZ(0);
	to_time = PG_GETARG_TIMESTAMPTZ(1);
	bucket = PG_GETARG_INTERVAL_P(2);

	if (TIMESTAMP_NOT_FINITE(from_time) || TIMESTAMP_NOT_FINITE(to_time) || from_time >= to_time)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("from_time must be a finite time before to_time")));

	bucket_usecs = (double) bucket->time + (double) bucket->day * USECS_PER_DAY +
		(double) bucket->month * MEAN_MONTH_USECS;
	if (bucket->time < 0 || bucket->day < 0 || bucket->month < 0 || bucket_usecs <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bucket must be a positive interval")));
	/* one bucket more than the span, for the partial buckets at both ends */
	if (((double) to_time - (double) from_time) / bucket_usecs > MAX_BUCKETS - 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("too many buckets"),
				 errdetail("At most %d buckets fit between from_time and to_time.", MAX_BUCKETS)));

	if (PG_ARGISNULL(4))
	{
		/* midnight of 2000-01-01 in the session's time zone */
		origin = DatumGetTimestampTz(DirectFunctionCall1(timestamp_timestamptz,
														 TimestampGetDatum(0)));
	}
	else
	{
		origin = PG_GETARG_TIMESTAMPTZ(4);
		if (TIMESTAMP_NOT_FINITE(origin))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("origin must be a finite time")));
	}

	first = bucket_of(origin, bucket, bucket_usecs, from_time);
	/* the last bucket that starts before to_time */
	last = bucket_of(origin, bucket, bucket_usecs, to_time);
	if (bucket_start(origin, bucket, last) == to_time)
		last--;

	values[0] = TimestampTzGetDatum(origin);
	values[1] = PointerGetDatum(bucket);
	values[2] = Int64GetDatum(first);
	values[3] = Int64GetDatum(last);
	if (PG_ARGISNULL(3))
	{
		values[4] = (Datum) 0;
		nulls[4] = true;
	}
	else
	{
		RegexFilter pf;

		regex_filter_init(&pf, PG_GETARG_TEXT_PP(3), "project_regex");
		values[4] = CStringGetTextDatum(pf.pattern);
	}
	values[5] = PG_GETARG_DATUM(5);
	values[6] = CStringGetTextDatum(group_by);

	InitMaterializedSRF(fcinfo, 0);
	session_spi_connect(&spi);
	session_exec_into_result(fcinfo, &query_concurrency, values, nulls);
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
