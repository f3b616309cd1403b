/*-------------------------------------------------------------------------
 *
 * spi_util.c
 *	  Statements prepared once per backend and run with parameters (the
 *	  statements themselves are in queries.c; the identity they run as is
 *	  set by identity.c).
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"

#include "executor/tstoreReceiver.h"
#include "funcapi.h"
#include "nodes/params.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"

/* Prepare sp->sql on first use and keep the plan for the life of the backend. */
SPIPlanPtr
session_plan(SessionPlan *sp)
{
	if (sp->plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(sp->sql, sp->nargs, sp->argtypes);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s",
				 sp->sql, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		sp->plan = plan;
	}
	return sp->plan;
}

/* Run a prepared statement; returns SPI_processed. */
int
session_exec(SessionPlan *sp, Datum *values, const char *nulls,
			 bool read_only, long tcount)
{
	int			rc = SPI_execute_plan(session_plan(sp), values, nulls,
									  read_only, tcount);

	if (rc < 0)
		elog(ERROR, "SPI_execute_plan failed for \"%s\": %s",
			 sp->sql, SPI_result_code_string(rc));
	return (int) SPI_processed;
}

/*
 * Run a prepared statement with a snapshot taken now, whatever the
 * isolation level: it sees every transaction committed so far (and this
 * one's own writes), where a REPEATABLE READ snapshot would not.
 */
int
session_exec_latest(SessionPlan *sp, Datum *values, const char *nulls)
{
	int			rc = SPI_execute_snapshot(session_plan(sp), values, nulls,
										  GetLatestSnapshot(), InvalidSnapshot,
										  false, true, 0);

	if (rc < 0)
		elog(ERROR, "SPI_execute_snapshot failed for \"%s\": %s",
			 sp->sql, SPI_result_code_string(rc));
	return (int) SPI_processed;
}

/*
 * Run a write statement that joins a short list of ids (an array, or a
 * locked batch) to session.sessions as a nested loop over the id index.
 *
 * Two reasons.  Rows are then locked in the order of the list, so two
 * batches that share ids lock them in the same order and cannot deadlock,
 * whatever plan the cache holds.  And the planner, which cannot see a
 * parameter's array length or LIMIT, otherwise likes to hash the whole open
 * table for every batch.
 */
int
session_exec_nestloop(SessionPlan *sp, Datum *values, const char *nulls)
{
	int			nestlevel = NewGUCNestLevel();
	int			n;

	(void) set_config_option("enable_hashjoin", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("enable_mergejoin", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	n = session_exec(sp, values, nulls, false, 0);
	AtEOXact_GUC(true, nestlevel);
	return n;
}

/*
 * Run a prepared read-only statement and send its rows to the result
 * tuplestore of a set-returning function (set up by InitMaterializedSRF).
 * The rows are converted to the function's result type by position; a
 * statement whose columns do not match it fails with a clean error instead
 * of storing mistyped rows.
 */
void
session_exec_into_result(FunctionCallInfo fcinfo, SessionPlan *sp,
						 Datum *values, const bool *nulls)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DestReceiver *dest = CreateDestReceiver(DestTuplestore);
	SPIExecuteOptions options;
	ParamListInfo params = makeParamList(sp->nargs);
	int			rc;

	for (int i = 0; i < sp->nargs; i++)
	{
		params->params[i].value = values[i];
		params->params[i].isnull = nulls[i];
		params->params[i].pflags = PARAM_FLAG_CONST;
		params->params[i].ptype = sp->argtypes[i];
	}
	params->numParams = sp->nargs;

	SetTuplestoreDestReceiverParams(dest, rsinfo->setResult,
									rsinfo->econtext->ecxt_per_query_memory,
									true, rsinfo->setDesc,
									gettext_noop("internal statement does not return the function's result type"));
	memset(&options, 0, sizeof(options));
	options.params = params;
	options.read_only = true;
	options.dest = dest;

	rc = SPI_execute_plan_extended(session_plan(sp), &options);
	if (rc < 0)
		elog(ERROR, "SPI_execute_plan_extended failed for \"%s\": %s",
			 sp->sql, SPI_result_code_string(rc));
	dest->rDestroy(dest);
}
