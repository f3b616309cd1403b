/*-------------------------------------------------------------------------
 *
 * validate.c
 *	  Argument checks.  Every bad input is refused before anything is
 *	  written, with the SQLSTATE the contract gives it.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"

#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

static const char *const valid_scopes[] = {
	"browser", "designer", "ios", "android", "client", "clientless", NULL
};

/* The end reasons that the extension's own functions set */
static const char *const system_reasons[] = {
	"timeout", "max_lifetime", "terminated", "evicted", "node_shutdown", "closed", NULL
};

/* Raise 22004 when argument argno is NULL. */
void
session_require_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
}

/* Check a text value: length in characters, and emptiness when asked. */
void
session_check_text(text *value, const char *name, int maxlen, bool nonempty)
{
	int			bytes = VARSIZE_ANY_EXHDR(value);
	int			chars;

	if (nonempty && bytes == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", name)));

	/* a character is at least one byte: only long values need counting */
	if (bytes <= maxlen)
		return;
	chars = pg_mbstrlen_with_len(VARDATA_ANY(value), bytes);
	if (chars > maxlen)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("%s is too long (%d characters)", name, chars),
				 errdetail("The limit is %d characters.", maxlen)));
}

/*
 * Fetch a text argument and check it.  Returns NULL for a NULL argument that
 * is not required.
 */
text *
session_text_arg(FunctionCallInfo fcinfo, int argno, const char *name,
				 int maxlen, bool required, bool nonempty)
{
	text	   *value;

	if (PG_ARGISNULL(argno))
	{
		if (required)
			session_require_arg(fcinfo, argno, name);
		return NULL;
	}
	value = PG_GETARG_TEXT_PP(argno);
	session_check_text(value, name, maxlen, nonempty);
	return value;
}

void
session_check_scope(text *scope)
{
	char	   *s = text_to_cstring(scope);

	for (int i = 0; valid_scopes[i] != NULL; i++)
	{
		if (strcmp(s, valid_scopes[i]) == 0)
			return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown scope \"%s\": the scope is one of browser, designer, ios, android, client or clientless", s)));
}

void
session_check_bytes(int64 bytes)
{
	if (bytes < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bytes_sent must not be negative: " INT64_FORMAT, bytes)));
}

/* page_ids: at most 1000 entries, none NULL, each at most 256 characters */
void
session_check_page_ids(ArrayType *page_ids)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (ARR_NDIM(page_ids) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("page_ids must be a one-dimensional array")));
	n = ArrayGetNItems(ARR_NDIM(page_ids), ARR_DIMS(page_ids));
	if (n > SESSION_MAX_PAGE_IDS)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("page_ids has too many entries (%d)", n),
				 errdetail("The limit is %d entries.", SESSION_MAX_PAGE_IDS)));
	if (n == 0)
		return;
	deconstruct_array(page_ids, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("page_ids must not contain nulls")));
		session_check_text(DatumGetTextPP(elems[i]), "page id",
						   SESSION_MAX_NAME_LEN, false);
	}
}

/* attributes: a JSON object of at most 64 kB */
void
session_check_attributes(Datum attributes)
{
	Jsonb	   *jb = DatumGetJsonbP(attributes);

	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("attributes must be a JSON object")));
	if (VARSIZE(jb) > SESSION_MAX_ATTRIBUTES_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("attributes are too large (%zu bytes)", (Size) VARSIZE(jb)),
				 errdetail("The limit is %d bytes.", SESSION_MAX_ATTRIBUTES_SIZE)));
}

/*
 * A reason given by an application: any word but the system's own reasons,
 * which history must only show when the system ended the session (allowed:
 * the one system reason the calling function may use, or NULL).
 */
void
session_check_close_reason(text *reason, const char *allowed)
{
	char	   *r = text_to_cstring(reason);

	for (int i = 0; system_reasons[i] != NULL; i++)
	{
		if (strcmp(r, system_reasons[i]) == 0 &&
			(allowed == NULL || strcmp(r, allowed) != 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("reason \"%s\" is reserved for the session registry itself", r),
					 errdetail("timeout, max_lifetime, terminated, evicted, node_shutdown and closed are set only by the functions that end sessions for those reasons."),
					 errhint("Use terminate_session to end a session as an administrator.")));
	}
	pfree(r);
}

/* Read a bigint[] argument, refusing NULL elements; returns the count. */
int
session_int8_array_arg(ArrayType *arr, const char *name, Datum **elems)
{
	bool	   *nulls;
	int			n;

	deconstruct_array(arr, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain nulls", name)));
	}
	return n;
}

void
session_not_found(int64 session_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_SESSION_NOT_FOUND),
			 errmsg("session " INT64_FORMAT " not found", session_id)));
}
