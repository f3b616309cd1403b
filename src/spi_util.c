/*-------------------------------------------------------------------------
 *
 * spi_util.c
 *	  Statements prepared once per backend and run with parameters.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"

#include "utils/guc.h"

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
