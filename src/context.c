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
 *	  from this file's functions, whatever the value (the empty string
 *	  too), so SET, set_config, ALTER ROLE/DATABASE ... SET and connection
 *	  options cannot forge or clear them (SQLSTATE 42501).
 *
 *	  One way around a check hook remains: resetting a single setting
 *	  (RESET session.session_id, SET ... TO DEFAULT, set_config(name, NULL,
 *	  ...)) installs its default without asking the hook.  So the two
 *	  settings are written as a pair that says what the other must hold,
 *	  and a pair that does not fit together reads as cleared: resetting one
 *	  alone clears both.  session.session_id holds
 *
 *	  ""						nothing (the default)
 *	  "user"					a context set by set_user_context, no session
 *	  "<id>"					session id, the context is its user
 *	  "<id> unauthenticated"	session id, nobody logged in: no context
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"
#include "queries.h"

#include "access/parallel.h"
#include "access/xact.h"
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

/* session.session_id for a context without a session, and the mark of no user */
#define PAIR_USER_ONLY		"user"
#define PAIR_NO_USER		" unauthenticated"

static char *user_context = NULL;
static char *attached_session = NULL;
static bool change_allowed = false;

/* bumped whenever the user context changes, to validate cached copies */
static uint64 context_generation = 1;

static bool
check_protected(char **newval, void **extra, GucSource source)
{
	if (change_allowed || source == PGC_S_DEFAULT || InitializingParallelWorker)
		return true;

	GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
	GUC_check_errmsg("the user context can only be changed by session.set_user_context(), session.attach_session() or session.reset_user_context()");
	return false;
}

/*
 * What a pair of raw values means: the context (NULL for none) and the
 * attached session (0 for none).  A pair the functions did not write
 * together means nothing is set.
 */
static void
decode_pair(const char *context_raw, const char *session_raw,
			const char **context, int64 *session_id)
{
	const char *p = session_raw ? session_raw : "";
	bool		has_context = (context_raw != NULL && context_raw[0] != '\0');
	int64		id = 0;

	*context = NULL;
	*session_id = 0;
	if (strcmp(p, PAIR_USER_ONLY) == 0)
	{
		if (has_context)
			*context = context_raw;
		return;
	}
	if (*p < '1' || *p > '9')
		return;
	for (; *p >= '0' && *p <= '9'; p++)
	{
		if (id > (PG_INT64_MAX - (*p - '0')) / 10)
			return;
		id = id * 10 + (*p - '0');
	}
	if (*p == '\0' && has_context)
		*context = context_raw;
	else if (!(strcmp(p, PAIR_NO_USER) == 0 && !has_context))
		return;
	*session_id = id;
}

/* The pair as it stands, for the readers */
static void
current_pair(const char **context, int64 *session_id)
{
	decode_pair(user_context, attached_session, context, session_id);
}

static void
assign_user_context(const char *newval, void *extra)
{
	const char *context;
	int64		id;

	context_generation++;
	decode_pair(newval, attached_session, &context, &id);
	session_connections_publish(context, id);
}

static void
assign_session_id(const char *newval, void *extra)
{
	const char *context;
	int64		id;

	context_generation++;
	decode_pair(user_context, newval, &context, &id);
	session_connections_publish(context, id);
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

/* Write both settings; session is a value of the form described above. */
static void
set_pair(const char *session, const char *context, bool is_local)
{
	set_protected(SESSION_ID_GUC, session, is_local);
	set_protected(USER_CONTEXT_GUC, context, is_local);
}

/*
 * is_local outside a transaction block lasts only until the end of the
 * statement: warn as SET LOCAL does.
 */
static void
warn_local_outside_block(bool is_local, const char *function)
{
	if (is_local && !IsTransactionBlock())
		ereport(WARNING,
				(errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s(is_local => true) can only be used in transaction blocks", function),
				 errdetail("Outside a transaction block it lasts only until the end of the statement.")));
}

static Datum
current_context_datum(FunctionCallInfo fcinfo, bool *isnull)
{
	const char *context;
	int64		id;

	current_pair(&context, &id);
	*isnull = (context == NULL);
	return *isnull ? (Datum) 0 : CStringGetTextDatum(context);
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
	warn_local_outside_block(is_local, "set_user_context");

	/* an explicit user replaces an attached session */
	if (username)
		set_pair(PAIR_USER_ONLY, text_to_cstring(username), is_local);
	else
		set_pair("", "", is_local);

	if (prev_null)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(prev);
}

typedef struct ContextCache
{
	uint64		generation;		/* context_generation it was made at */
	text	   *value;			/* NULL: no context */
} ContextCache;

/*
 * Called once per row from row-level security policies, so the answer,
 * NULL included, is cached in the call site's memory and checked with one
 * integer compare against a generation number that every change of either
 * setting bumps (the assign hooks run for SET, RESET, RESET ALL, DISCARD
 * ALL and the restores at rollback alike).  The pair is decoded, and so
 * validated, only when the generation moved.
 */
Datum
session_get_user_context(PG_FUNCTION_ARGS)
{
	ContextCache *cache = (ContextCache *) fcinfo->flinfo->fn_extra;

	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ContextCache));
		fcinfo->flinfo->fn_extra = cache;
	}
	if (cache->generation != context_generation)
	{
		const char *context;
		int64		id;

		current_pair(&context, &id);
		if (cache->value)
			pfree(cache->value);
		cache->value = NULL;
		if (context != NULL)
		{
			Size		len = strlen(context);

			cache->value = (text *) MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, VARHDRSZ + len);
			SET_VARSIZE(cache->value, VARHDRSZ + len);
			memcpy(VARDATA(cache->value), context, len);
		}
		cache->generation = context_generation;
	}
	if (cache->value == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cache->value);
}

Datum
session_reset_user_context(PG_FUNCTION_ARGS)
{
	set_pair("", "", false);
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
	char	   *username = NULL;
	char		pairbuf[64];

	session_require_arg(fcinfo, 0, "session_id");
	session_require_arg(fcinfo, 1, "is_local");
	id = PG_GETARG_INT64(0);
	is_local = PG_GETARG_BOOL(1);
	warn_local_outside_block(is_local, "attach_session");
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
	snprintf(pairbuf, sizeof(pairbuf), INT64_FORMAT "%s", id, username ? "" : PAIR_NO_USER);
	set_pair(pairbuf, username ? username : "", is_local);

	if (prev_null)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(prev);
}

Datum
session_current_session_id(PG_FUNCTION_ARGS)
{
	const char *context;
	int64		id;

	current_pair(&context, &id);
	if (id == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(id);
}
