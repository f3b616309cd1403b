/*-------------------------------------------------------------------------
 *
 * history.c
 *	  Putting sessions into history and reading it at an instant:
 *	  import_sessions and get_session_info_at.
 *
 *	  import_sessions validates its two arguments here and runs
 *	  session_storage.import_sessions (sql/session.sql) as the extension's
 *	  owner: set-based validation, partition creation and the inserts are SQL
 *	  work.  get_session_info_at validates the instant and the patterns and
 *	  runs two statements, over the open sessions and over the history
 *	  partitions that can hold sessions open at that instant, whose rows are
 *	  stored in start_time, id order.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"
#include "queries.h"

#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "regex_filter.h"

PG_FUNCTION_INFO_V1(session_import_sessions);
PG_FUNCTION_INFO_V1(session_get_session_info_at);

Datum
session_import_sessions(PG_FUNCTION_ARGS)
{
	SessionSpi	spi;
	Datum		values[2];
	bool		isnull;
	int64		n;

	session_require_arg(fcinfo, 0, "sessions");
	session_require_arg(fcinfo, 1, "include_open");
	values[0] = PG_GETARG_DATUM(0);
	values[1] = PG_GETARG_DATUM(1);

	session_spi_connect(&spi);
	session_exec(&query_import, values, NULL, false, 0);
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	session_spi_finish(&spi);
	PG_RETURN_INT64(n);
}

/*
 * The sessions open at an instant.  The instant must be a finite time not
 * after now (22008): what is open later is not known yet.
 */
Datum
session_get_session_info_at(PG_FUNCTION_ARGS)
{
	SessionSpi	spi;
	RegexFilter user;
	RegexFilter project;
	TimestampTz at;
	Datum		values[7];
	bool		nulls[7];
	int			nestlevel;
	DestReceiver *dest;

	session_require_arg(fcinfo, 0, "at");
	at = PG_GETARG_TIMESTAMPTZ(0);
	if (TIMESTAMP_NOT_FINITE(at))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("at must be a finite time")));
	if (at > GetCurrentStatementStartTimestamp())
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("at must not be in the future")));

	/* validate both patterns before anything runs */
	if (!PG_ARGISNULL(1))
		regex_filter_init(&user, PG_GETARG_TEXT_PP(1), "username_regex");
	if (!PG_ARGISNULL(2))
		regex_filter_init(&project, PG_GETARG_TEXT_PP(2), "project_regex");

	values[0] = TimestampTzGetDatum(at);
	nulls[0] = false;
	regex_filter_put(PG_ARGISNULL(1) ? NULL : &user, &values[1], &nulls[1]);
	regex_filter_put(PG_ARGISNULL(2) ? NULL : &project, &values[4], &nulls[4]);

	/*
	 * A plan for this instant: which partitions to read, and from which
	 * side the partition of its day is read cheaper, depend on the value
	 * (a generic plan would read every partition's index with guessed
	 * selectivities).  The history is read by its indexes only: the planner
	 * multiplies the selectivities of end_time > at and start_time <= at as
	 * if they were independent, which overestimates the sessions open at an
	 * instant in the middle of a day several times over and makes it read
	 * the whole day instead (measured: 32 ms instead of 6, for 9,400 of a
	 * day's 111,000 sessions).  Where most of a partition is open at the
	 * instant, a bitmap scan reads its pages in order, as a sequential scan
	 * would.  The open sessions keep the planner's choice.
	 */
	InitMaterializedSRF(fcinfo, 0);
	session_spi_connect(&spi);
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("plan_cache_mode", "force_custom_plan", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	dest = session_ordered_result(fcinfo);
	session_exec_into(&query_at_open, values, nulls, dest);
	(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	session_exec_into(&query_at_ended, values, nulls, dest);
	AtEOXact_GUC(true, nestlevel);
	session_ordered_result_finish(dest);
	session_spi_finish(&spi);
	return (Datum) 0;
}
