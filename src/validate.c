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
 * Reasons that read as a reserved one.
 *
 * History and events are read by people and by scripts that act on the
 * system's reasons, so a caller's own reason must not merely look like one:
 * "Terminated", "timeout " or "closed" with an invisible character inside
 * would pass a byte comparison.  A reason is folded before it is compared:
 * Unicode format characters (general category Cf: zero-width spaces and
 * joiners, direction marks, the byte order mark, the soft hyphen, ...) are
 * removed wherever they are, white space is trimmed at both ends, and the
 * rest is case-folded.  Every reserved reason is lower-case ASCII letters
 * and underscores, so only characters that fold to ASCII matter: ASCII
 * itself and the few others whose full case folding (CaseFolding.txt,
 * statuses C and F) is ASCII.  PostgreSQL 15 has no Unicode category
 * table, hence the ranges below (Unicode 15.0).
 */

/* Code point ranges of general category Cf */
static const pg_wchar format_chars[][2] = {
	{0x00AD, 0x00AD}, {0x0600, 0x0605}, {0x061C, 0x061C}, {0x06DD, 0x06DD},
	{0x070F, 0x070F}, {0x0890, 0x0891}, {0x08E2, 0x08E2}, {0x180E, 0x180E},
	{0x200B, 0x200F}, {0x202A, 0x202E}, {0x2060, 0x2064}, {0x2066, 0x206F},
	{0xFEFF, 0xFEFF}, {0xFFF9, 0xFFFB}, {0x110BD, 0x110BD}, {0x110CD, 0x110CD},
	{0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A},
	{0xE0001, 0xE0001}, {0xE0020, 0xE007F},
};

/* Code point ranges of the White_Space property */
static const pg_wchar white_space[][2] = {
	{0x0009, 0x000D}, {0x0020, 0x0020}, {0x0085, 0x0085}, {0x00A0, 0x00A0},
	{0x1680, 0x1680}, {0x2000, 0x200A}, {0x2028, 0x2029}, {0x202F, 0x202F},
	{0x205F, 0x205F}, {0x3000, 0x3000},
};

/* Non-ASCII characters whose case folding is ASCII only */
static const struct
{
	pg_wchar	c;
	const char *folded;
}			ascii_folds[] = {
	{0x00DF, "ss"}, {0x017F, "s"}, {0x1E9E, "ss"}, {0x212A, "k"},
	{0xFB00, "ff"}, {0xFB01, "fi"}, {0xFB02, "fl"}, {0xFB03, "ffi"},
	{0xFB04, "ffl"}, {0xFB05, "st"}, {0xFB06, "st"},
};

/* Longer than every reserved reason: a longer folding cannot match */
#define FOLDED_REASON_MAX 16

static bool
in_ranges(pg_wchar c, const pg_wchar ranges[][2], size_t n)
{
	for (size_t i = 0; i < n; i++)
	{
		if (c >= ranges[i][0] && c <= ranges[i][1])
			return true;
	}
	return false;
}

/*
 * Fold reason r (server encoding) into out.  False when the folding cannot
 * be a reserved reason: a character that folds to no ASCII, white space
 * between other characters, or too long.
 */
static bool
fold_reason(const char *r, char *out)
{
	const char *utf8 = pg_server_to_any(r, strlen(r), PG_UTF8);
	const unsigned char *p = (const unsigned char *) utf8;
	const unsigned char *end = p + strlen(utf8);
	int			n = 0;
	bool		space_after = false;

	while (p < end)
	{
		int			len = pg_utf_mblen(p);
		pg_wchar	c;
		const char *folded = NULL;
		char		ascii[2];

		if (len > end - p || !pg_utf8_islegal(p, len))
			return false;
		c = utf8_to_unicode(p);
		p += len;
		if (in_ranges(c, format_chars, lengthof(format_chars)))
			continue;
		if (in_ranges(c, white_space, lengthof(white_space)))
		{
			space_after = n > 0;
			continue;
		}
		if (space_after)
			return false;
		if (c < 0x80)
		{
			ascii[0] = pg_ascii_tolower((unsigned char) c);
			ascii[1] = '\0';
			folded = ascii;
		}
		for (size_t i = 0; folded == NULL && i < lengthof(ascii_folds); i++)
		{
			if (ascii_folds[i].c == c)
				folded = ascii_folds[i].folded;
		}
		if (folded == NULL)
			return false;
		for (; *folded != '\0'; folded++)
		{
			if (n == FOLDED_REASON_MAX)
				return false;
			out[n++] = *folded;
		}
	}
	out[n] = '\0';
	return true;
}

/* The reserved reason that r reads as, or NULL */
static const char *
reserved_reason(const char *r)
{
	char		folded[FOLDED_REASON_MAX + 1];

	if (!fold_reason(r, folded))
		return NULL;
	for (int i = 0; system_reasons[i] != NULL; i++)
	{
		if (strcmp(folded, system_reasons[i]) == 0)
			return system_reasons[i];
	}
	return NULL;
}

/* 22023 for a reason that reads as reserved one but is spelled otherwise */
static void
refuse_lookalike(const char *r, const char *reserved)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("reason \"%s\" reads as the reserved reason \"%s\"", r, reserved),
			 errdetail("Reasons are compared with the reserved ones ignoring case, white space at either end and invisible formatting characters."),
			 errhint("Choose a reason that does not read as one the session registry sets.")));
}

/*
 * A reason given by an application: any word but the system's own reasons,
 * which history must only show when the system ended the session (allowed:
 * the one system reason the calling function may use, spelled exactly, or
 * NULL), nor anything that reads as one of them.
 */
void
session_check_close_reason(text *reason, const char *allowed)
{
	char	   *r = text_to_cstring(reason);
	const char *reserved = reserved_reason(r);

	if (reserved == NULL ||
		(allowed != NULL && strcmp(r, allowed) == 0))
	{
		pfree(r);
		return;
	}
	if (strcmp(r, reserved) != 0)
		refuse_lookalike(r, reserved);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("reason \"%s\" is reserved for the session registry itself", r),
			 errdetail("timeout, max_lifetime, terminated, evicted, node_shutdown and closed are set only by the functions that end sessions for those reasons."),
			 errhint("Use terminate_session to end a session as an administrator.")));
}

/*
 * An administrator's reason (terminate_session): a system reason is
 * accepted when spelled exactly as the system spells it, never a look-alike.
 */
void
session_check_admin_reason(text *reason)
{
	char	   *r = text_to_cstring(reason);
	const char *reserved = reserved_reason(r);

	if (reserved != NULL && strcmp(r, reserved) != 0)
		refuse_lookalike(r, reserved);
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
