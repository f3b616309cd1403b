/*-------------------------------------------------------------------------
 *
 * listing.c
 *	  Reading sessions: get_session_info (filtered list and by id) and
 *	  get_session_user.
 *
 *	  The list reads only the open sessions table.  A username pattern that
 *	  is an exact value, or starts with a literal prefix, is answered through
 *	  the username index; the rest is filtered by the regex engine.  Rows are
 *	  written straight into the function's result tuplestore.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"

#include "catalog/pg_type.h"
#include "executor/tstoreReceiver.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "utils/builtins.h"

#include "regex_filter.h"

PG_FUNCTION_INFO_V1(session_get_session_info);
PG_FUNCTION_INFO_V1(session_get_session_info_by_id);
PG_FUNCTION_INFO_V1(session_get_session_user);

/* The session_info columns of session.history (which adds duration) */
#define SESSION_INFO_COLUMNS \
	"id, uuid, username, authenticated, project, address, scope, is_designer, " \
	"client_id, user_agent, node, start_time, last_comm, uptime_ms, last_comm_ms, " \
	"active_pages, page_ids, recent_bytes_sent, total_bytes_sent, attributes, " \
	"end_time, end_reason"

/*
 * Each pattern has three parameter slots: LIKE, regex under the C collation
 * and regex under the database's; regex_filter_params fills one of them.
 */
#define USER_FILTER(l, c, d) \
	"($" #l "::text IS NULL OR (username COLLATE \"C\") LIKE $" #l ") AND " \
	"($" #c "::text IS NULL OR (username COLLATE \"C\") ~ $" #c ") AND " \
	"($" #d "::text IS NULL OR username ~ $" #d ")"
#define PROJECT_FILTER(l, c, d) \
	"($" #l "::text IS NULL OR (project COLLATE \"C\") LIKE $" #l ") AND " \
	"($" #c "::text IS NULL OR (project COLLATE \"C\") ~ $" #c ") AND " \
	"($" #d "::text IS NULL OR project ~ $" #d ")"

static SessionPlan list_exact_plan = {
	"SELECT * FROM session.active_sessions WHERE (username COLLATE \"C\") = $1 AND "
	PROJECT_FILTER(2, 3, 4) " ORDER BY start_time, id",
	4, {TEXTOID, TEXTOID, TEXTOID, TEXTOID}, NULL
};

static SessionPlan list_prefix_plan = {
	"SELECT * FROM session.active_sessions "
	"WHERE (username COLLATE \"C\") >= $1 AND (username COLLATE \"C\") < $2 AND "
	USER_FILTER(3, 4, 5) " AND " PROJECT_FILTER(6, 7, 8) " ORDER BY start_time, id",
	8, {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID}, NULL
};

static SessionPlan list_scan_plan = {
	"SELECT * FROM session.active_sessions WHERE "
	USER_FILTER(1, 2, 3) " AND " PROJECT_FILTER(4, 5, 6) " ORDER BY start_time, id",
	6, {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID}, NULL
};

static SessionPlan open_by_id_plan = {
	"SELECT * FROM session.active_sessions WHERE id = $1",
	1, {INT8OID}, NULL
};

static SessionPlan ended_by_id_plan = {
	"SELECT " SESSION_INFO_COLUMNS " FROM session.history WHERE id = $1 LIMIT 1",
	1, {INT8OID}, NULL
};

static SessionPlan open_user_plan = {
	"SELECT username FROM session.sessions WHERE id = $1",
	1, {INT8OID}, NULL
};

static SessionPlan ended_user_plan = {
	"SELECT username FROM session.ended_sessions WHERE id = $1 LIMIT 1",
	1, {INT8OID}, NULL
};

/*
 * Run a prepared read-only query and send its rows to the SRF's tuplestore
 * (set up by InitMaterializedSRF).  The query's columns must match the
 * function's result type.
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
									true, NULL, NULL);
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

Datum
session_get_session_info(PG_FUNCTION_ARGS)
{
	SessionSpi	spi;
	RegexFilter user;
	RegexFilter project;
	bool		has_user = !PG_ARGISNULL(0);
	bool		has_project = !PG_ARGISNULL(1);
	Datum		values[8];
	bool		nulls[8];
	text	   *upper = NULL;

	/* validate both patterns before anything runs */
	if (has_user)
		regex_filter_init(&user, PG_GETARG_TEXT_PP(0), "username_regex");
	if (has_project)
		regex_filter_init(&project, PG_GETARG_TEXT_PP(1), "project_regex");
	if (has_user && user.exact == NULL && user.prefix != NULL)
		upper = regex_prefix_upper_bound(user.prefix);

	InitMaterializedSRF(fcinfo, 0);
	session_spi_connect(&spi);

	if (has_user && user.exact != NULL)
	{
		values[0] = CStringGetTextDatum(user.exact);
		nulls[0] = false;
		regex_filter_params(has_project ? &project : NULL, &values[2], &nulls[2],
							&values[3], &nulls[3], &values[1], &nulls[1]);
		session_exec_into_result(fcinfo, &list_exact_plan, values, nulls);
	}
	else if (upper != NULL)
	{
		values[0] = CStringGetTextDatum(user.prefix);
		values[1] = PointerGetDatum(upper);
		nulls[0] = nulls[1] = false;
		regex_filter_params(user.prefix_only ? NULL : &user, &values[3], &nulls[3],
							&values[4], &nulls[4], &values[2], &nulls[2]);
		regex_filter_params(has_project ? &project : NULL, &values[6], &nulls[6],
							&values[7], &nulls[7], &values[5], &nulls[5]);
		session_exec_into_result(fcinfo, &list_prefix_plan, values, nulls);
	}
	else
	{
		regex_filter_params(has_user ? &user : NULL, &values[1], &nulls[1],
							&values[2], &nulls[2], &values[0], &nulls[0]);
		regex_filter_params(has_project ? &project : NULL, &values[4], &nulls[4],
							&values[5], &nulls[5], &values[3], &nulls[3]);
		session_exec_into_result(fcinfo, &list_scan_plan, values, nulls);
	}

	session_spi_finish(&spi);
	return (Datum) 0;
}

Datum
session_get_session_info_by_id(PG_FUNCTION_ARGS)
{
	SessionSpi	spi;
	MemoryContext callercxt = CurrentMemoryContext;
	TupleDesc	resultdesc;
	Datum		values[1];
	Datum	   *cols;
	bool	   *nulls;
	HeapTuple	result;
	int64		id;

	session_require_arg(fcinfo, 0, "session_id");
	id = PG_GETARG_INT64(0);
	if (get_call_result_type(fcinfo, NULL, &resultdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = Int64GetDatum(id);

	session_spi_connect(&spi);
	if (session_exec(&open_by_id_plan, values, NULL, true, 1) == 0 &&
		session_exec(&ended_by_id_plan, values, NULL, true, 1) == 0)
		session_not_found(id);

	cols = palloc(sizeof(Datum) * resultdesc->natts);
	nulls = palloc(sizeof(bool) * resultdesc->natts);
	heap_deform_tuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, cols, nulls);
	MemoryContextSwitchTo(callercxt);
	result = heap_form_tuple(BlessTupleDesc(resultdesc), cols, nulls);
	session_spi_finish(&spi);

	PG_RETURN_DATUM(HeapTupleGetDatum(result));
}

Datum
session_get_session_user(PG_FUNCTION_ARGS)
{
	SessionSpi	spi;
	MemoryContext callercxt = CurrentMemoryContext;
	Datum		values[1];
	char	   *user;
	text	   *result;
	int64		id;

	session_require_arg(fcinfo, 0, "session_id");
	id = PG_GETARG_INT64(0);
	values[0] = Int64GetDatum(id);

	session_spi_connect(&spi);
	if (session_exec(&open_user_plan, values, NULL, true, 1) == 0 &&
		session_exec(&ended_user_plan, values, NULL, true, 1) == 0)
		session_not_found(id);
	user = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	MemoryContextSwitchTo(callercxt);
	result = cstring_to_text(user);
	session_spi_finish(&spi);

	PG_RETURN_TEXT_P(result);
}
