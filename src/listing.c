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
#include "queries.h"

#include "access/tupconvert.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "regex_filter.h"

PG_FUNCTION_INFO_V1(session_get_session_info);
PG_FUNCTION_INFO_V1(session_get_session_info_by_id);
PG_FUNCTION_INFO_V1(session_get_session_user);

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
		regex_filter_put(has_project ? &project : NULL, &values[1], &nulls[1]);
		session_exec_into_result(fcinfo, &query_list_exact, values, nulls);
	}
	else if (upper != NULL)
	{
		values[0] = CStringGetTextDatum(user.prefix);
		values[1] = PointerGetDatum(upper);
		nulls[0] = nulls[1] = false;
		regex_filter_put(user.prefix_only ? NULL : &user, &values[2], &nulls[2]);
		regex_filter_put(has_project ? &project : NULL, &values[5], &nulls[5]);
		session_exec_into_result(fcinfo, &query_list_prefix, values, nulls);
	}
	else
	{
		regex_filter_put(has_user ? &user : NULL, &values[0], &nulls[0]);
		regex_filter_put(has_project ? &project : NULL, &values[3], &nulls[3]);
		session_exec_into_result(fcinfo, &query_list_scan, values, nulls);
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
	TupleConversionMap *map;
	Datum		values[1];
	HeapTuple	result;
	int64		id;

	session_require_arg(fcinfo, 0, "session_id");
	id = PG_GETARG_INT64(0);
	if (get_call_result_type(fcinfo, NULL, &resultdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = Int64GetDatum(id);

	session_spi_connect(&spi);
	if (session_exec(&query_open_by_id, values, NULL, true, 1) == 0 &&
		session_exec(&query_ended_by_id, values, NULL, true, 1) == 0)
		session_not_found(id);

	/* by position, refusing a row whose columns do not match the row type */
	MemoryContextSwitchTo(callercxt);
	resultdesc = BlessTupleDesc(resultdesc);
	map = convert_tuples_by_position(SPI_tuptable->tupdesc, resultdesc,
									 gettext_noop("internal statement does not return the function's result type"));
	if (map != NULL)
		result = execute_attr_map_tuple(SPI_tuptable->vals[0], map);
	else
	{
		/* same columns: re-form the row with the row type's header */
		int			natts = SPI_tuptable->tupdesc->natts;
		Datum	   *cols = palloc(sizeof(Datum) * natts);
		bool	   *nulls = palloc(sizeof(bool) * natts);

		heap_deform_tuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, cols, nulls);
		result = heap_form_tuple(resultdesc, cols, nulls);
	}
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
	if (session_exec(&query_open_user, values, NULL, true, 1) == 0 &&
		session_exec(&query_ended_user, values, NULL, true, 1) == 0)
		session_not_found(id);
	user = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	MemoryContextSwitchTo(callercxt);
	result = cstring_to_text(user);
	session_spi_finish(&spi);

	PG_RETURN_TEXT_P(result);
}
