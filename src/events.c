/*-------------------------------------------------------------------------
 *
 * events.c
 *	  NOTIFY session_events with a JSON payload.  Notifications are queued
 *	  in the caller's transaction and delivered at commit, so nothing is sent
 *	  for a transaction that rolls back.
 *
 *	  NOTIFY serializes the commits of every notifying transaction of the
 *	  database, so when the library is preloaded a utility hook counts the
 *	  backends that ran LISTEN session_events, and nothing is queued while
 *	  there are none.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"

#include "commands/async.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"

#define SESSION_EVENT_CHANNEL "session_events"

static ProcessUtility_hook_type prev_process_utility = NULL;

static void
events_process_utility(PlannedStmt *pstmt, const char *queryString,
					   bool readOnlyTree, ProcessUtilityContext context,
					   ParamListInfo params, QueryEnvironment *queryEnv,
					   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;

	if (IsA(stmt, ListenStmt) &&
		strcmp(((ListenStmt *) stmt)->conditionname, SESSION_EVENT_CHANNEL) == 0)
		session_connections_mark_listening();

	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context,
							 params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

void
session_events_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = events_process_utility;
}

static void
append_field(StringInfo buf, const char *key, const char *value)
{
	appendStringInfo(buf, ",\"%s\":", key);
	if (value == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, value);
}

/*
 * Would an event be sent now?  Callers check it before preparing a payload,
 * so the write path does no event work while nobody listens.
 */
bool
session_events_wanted(void)
{
	return session_notify && session_connections_maybe_listened();
}

void
session_notify_event(const char *event, int64 id, const char *username,
					 const char *project, const char *node, const char *reason)
{
	StringInfoData buf;

	if (!session_events_wanted())
		return;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"event\":");
	escape_json(&buf, event);
	appendStringInfo(&buf, ",\"id\":" INT64_FORMAT, id);
	append_field(&buf, "username", username);
	append_field(&buf, "project", project);
	append_field(&buf, "node", node);
	append_field(&buf, "reason", reason);
	appendStringInfoChar(&buf, '}');

	Async_Notify(SESSION_EVENT_CHANNEL, buf.data);
	pfree(buf.data);
}

/*
 * One event per row of the current SPI result, whose columns are
 * (id, uuid, username, project, node, scope, end_reason).
 */
void
session_notify_ended_rows(const char *event)
{
	SPITupleTable *tt = SPI_tuptable;

	if (tt == NULL || !session_events_wanted())
		return;

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = tt->vals[i];
		TupleDesc	desc = tt->tupdesc;
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));

		session_notify_event(event, id,
							 SPI_getvalue(tup, desc, 3),
							 SPI_getvalue(tup, desc, 4),
							 SPI_getvalue(tup, desc, 5),
							 SPI_getvalue(tup, desc, 7));
	}
}
