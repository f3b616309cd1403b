/*-------------------------------------------------------------------------
 *
 * spi_util.c
 *	  Statements prepared once per backend and run with parameters.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"

#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/syscache.h"

/* Only pg_catalog: no schema of the caller's, not even pg_temp */
static OverrideSearchPath catalog_only_path = {NIL, true, false, 0};

/*
 * Connect to SPI to run the extension's statements on behalf of a caller
 * who was granted EXECUTE on the function: the statements run as the owner
 * of schema session (the extension's owner), with only pg_catalog in the
 * search path.  This is what SECURITY DEFINER with a pinned search_path
 * would do, as PostgreSQL's foreign-key triggers do it, without re-parsing
 * search_path through the settings machinery on every call (a third of the
 * cost of a heartbeat).  Aborting the (sub)transaction undoes both changes.
 */
void
session_spi_connect(SessionSpi *st)
{
	Oid			nsp = get_namespace_oid("session", false);
	HeapTuple	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for namespace %u", nsp);
	owner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
	ReleaseSysCache(tup);

	GetUserIdAndSecContext(&st->save_userid, &st->save_sec_context);
	SetUserIdAndSecContext(owner, st->save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	PushOverrideSearchPath(&catalog_only_path);
	SPI_connect();
}

void
session_spi_finish(SessionSpi *st)
{
	SPI_finish();
	PopOverrideSearchPath();
	SetUserIdAndSecContext(st->save_userid, st->save_sec_context);
}

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
