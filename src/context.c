/*-------------------------------------------------------------------------
 *
 * context.c
 *	  The user context: which application user this connection acts for,
 *	  and which session it is attached to.
 *
 *	  Both are kept in settings (session.user_context, session.session_id)
 *	  so that PostgreSQL's own machinery gives them their scopes: a value
 *	  set with is_local lasts until the end of the transaction, a rolled
 *	  back savepoint restores the previous value, and RESET ALL / DISCARD
 *	  ALL clear them.  A check hook refuses every change that does not come
 *	  from this file's functions, so SET, set_config, ALTER ROLE ... SET and
 *	  connection options cannot forge them (SQLSTATE 42501).
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"
#include "queries.h"

#include "access/parallel.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/guc.h"

PG_FUNCTION_INFO_V1(session_set_user_context);
PG_FUNCTION_INFO_V1(session_get_user_context);
PG_FUNCTION_INFO_V1(session_reset_user_context);
PG_FUNCTION_INFO_V1(session_attach_session);
PG_FUNCTION_INFO_V1(session_current_session_id);

#define USER_CONTEXT_GUC	"session.user_context"
#define SESSION_ID_GUC		"session.session_id"

static char *user_context = NULL;
static char *attached_session = NULL;
static bool change_allowed = false;

/* what the assign hooks last saw, for the connections view */
static int64 published_session_id = 0;

/* bumped whenever the user context changes, to validate cached copies */
static uint64 context_generation = 1;

static bool
check_protected(char **newval, void **extra, GucSource source)
{
	if (change_allowed || source == PGC_S_DEFAULT || InitializingParallelWorker ||
		*newval == NULL || (*newval)[0] == '\0')
		return true;

	GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
	GUC_check_errmsg("the user context can only be changed by session.set_user_context(), session.attach_session() or session.reset_user_context()");
	return false;
}

static int64
parse_session_id(const char *value)
{
	int64		id = 0;

	if (value == NULL || value[0] == '\0')
		return 0;
	for (const char *p = value; *p; p++)
	{
		if (*p < '0' || *p > '9')
			return 0;
		id = id * 10 + (*p - '0');
	}
	return id;
}

static void
assign_user_context(const char *newval, void *extra)
{
	context_generation++;
	session_connections_publish(newval, published_session_id);
}

static void
assign_session_id(const char *newval, void *extra)
{
	published_session_id = parse_session_id(newval);
	session_connections_publish(user_context, published_session_id);
}

void
session_context_init(void)
{
	DefineCustomStringVariable(USER_CONTEXT_GUC,
							   gettext_noop("The application user this connection acts for (read it with session.get_user_context())."),
							   gettext_noop("Only session.set_user_context() and session.attach_session() can change it."),
							   &user_context,
							   "",
							   PGC_USERSET,
							   GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE | GUC_NO_SHOW_ALL,
							   check_protected, assign_user_context, NULL);

	DefineCustomStringVariable(SESSION_ID_GUC,
							   gettext_noop("The session attached to this connection (read it with session.current_session_id())."),
							   gettext_noop("Only session.attach_session() can change it."),
							   &attached_session,
							   "",
							   PGC_USERSET,
							   GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE | GUC_NO_SHOW_ALL,
							   check_protected, assign_session_id, NULL);
}

/* Change a protected setting on behalf of this file's functions. */
static void
set_protected(const char *name, const char *value, bool is_local)
{
	change_allowed = true;
	PG_TRY();
	{
		(void) set_config_option(name, value, PGC_USERSET, PGC_S_SESSION,
								 is_local ? GUC_ACTION_LOCAL : GUC_ACTION_SET,
								 true, 0, false);
	}
	PG_FINALLY();
	{
		change_allowed = false;
	}
	PG_END_TRY();
}

static Datum
current_context_datum(FunctionCallInfo fcinfo, bool *isnull)
{
	*isnull = (user_context == NULL || user_context[0] == '\0');
	return *isnull ? (Datum) 0 : CStringGetTextDatum(user_context);
}

Datum
session_set_user_context(PG_FUNCTION_ARGS)
{
	text	   *username = session_text_arg(fcinfo, 0, "username", SESSION_MAX_NAME_LEN, false, true);
	bool		is_local;
	bool		prev_null;
	Datum		prev = current_context_datum(fcinfo, &prev_null);

	session_require_arg(fcinfo, 1, "is_local");
	is_local = PG_GETARG_BOOL(1);

	/* an explicit user replaces an attached session */
	set_protected(SESSION_ID_GUC, "", is_local);
	set_protected(USER_CONTEXT_GUC, username ? text_to_cstring(username) : "", is_local);

	if (prev_null)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(prev);
}

typedef struct ContextCache
{
	uint64		generation;		/* context_generation it was made at */
	text	   *value;
} ContextCache;

/*
 * Called once per row from row-level security policies, so the text result
 * is cached in the call site's memory and checked with one integer compare
 * against a generation number that every change of the setting bumps.
 */
Datum
session_get_user_context(PG_FUNCTION_ARGS)
{
	ContextCache *cache = (ContextCache *) fcinfo->flinfo->fn_extra;

	if (user_context == NULL || user_context[0] == '\0')
		PG_RETURN_NULL();

	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ContextCache));
		fcinfo->flinfo->fn_extra = cache;
	}
	if (cache->generation != context_generation || cache->value == NULL)
	{
		Size		len = strlen(user_context);

		if (cache->value)
			pfree(cache->value);
		cache->value = (text *) MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, VARHDRSZ + len);
		SET_VARSIZE(cache->value, VARHDRSZ + len);
		memcpy(VARDATA(cache->value), user_context, len);
		cache->generation = context_generation;
	}
	PG_RETURN_TEXT_P(cache->value);
}

Datum
session_reset_user_context(PG_FUNCTION_ARGS)
{
	set_protected(SESSION_ID_GUC, "", false);
	set_protected(USER_CONTEXT_GUC, "", false);
	PG_RETURN_VOID();
}

Datum
session_attach_session(PG_FUNCTION_ARGS)
{
	MemoryContext callercxt = CurrentMemoryContext;
	SessionSpi	spi;
	int64		id;
	bool		is_local;
	bool		prev_null;
	Datum		prev = current_context_datum(fcinfo, &prev_null);
	Datum		values[1];
	bool		isnull;
	char	   *username = "";
	char		idbuf[32];

	session_require_arg(fcinfo, 0, "session_id");
	session_require_arg(fcinfo, 1, "is_local");
	id = PG_GETARG_INT64(0);
	is_local = PG_GETARG_BOOL(1);
	values[0] = Int64GetDatum(id);

	session_spi_connect(&spi);
	if (session_exec(&query_attach, values, NULL, false, 1) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SESSION_NOT_FOUND),
				 errmsg("session " INT64_FORMAT " not found", id),
				 errdetail("Only open sessions can be attached.")));
	if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)))
		username = MemoryContextStrdup(callercxt,
									   SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	session_spi_finish(&spi);

	/* the settings change as the caller, outside the owner's context */
	snprintf(idbuf, sizeof(idbuf), INT64_FORMAT, id);
	set_protected(SESSION_ID_GUC, idbuf, is_local);
	set_protected(USER_CONTEXT_GUC, username, is_local);

	if (prev_null)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(prev);
}

Datum
session_current_session_id(PG_FUNCTION_ARGS)
{
	int64		id = parse_session_id(attached_session);

	if (id == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(id);
}
