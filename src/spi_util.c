/*-------------------------------------------------------------------------
 *
 * spi_util.c
 *	  Statements prepared once per backend and run with parameters.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"

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
