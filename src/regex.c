/*-------------------------------------------------------------------------
 *
 * regex.c
 *	  Filters given as regular expressions that must match the whole value,
 *	  as Java's String.matches does, in PostgreSQL's own regex flavour (ARE).
 *
 *	  A pattern p becomes \A(?:p)\Z, with a leading director (***:) or
 *	  embedded options ((?i)) kept in front where ARE requires them.  \A and
 *	  \Z anchor at the ends of the value whatever the options: ^ and $ would
 *	  also match at a newline under (?n), (?m) or (?w).  The pattern is
 *	  compiled once here to report errors against the parameter's name, and
 *	  to extract a literal prefix (or an exact value) that lets the listing
 *	  use the username index.
 *
 *	  The fast paths (the index range, the exact value, LIKE) must return
 *	  exactly what the regex engine alone returns; test/sql/027_regex_paths.sql
 *	  compares them over generated patterns.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"

#include "catalog/pg_collation.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "regex/regex.h"
#include "utils/builtins.h"

#include "regex_filter.h"

/* Append s[0..len) escaped so that ARE reads it literally. */
static void
append_literal(StringInfo buf, const char *s, int len)
{
	for (int i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c < 0x80 && !isalnum(c) && c != '_' && c != ' ')
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, (char) c);
	}
}

/*
 * Rewrite a user pattern into its whole-match form.  Sets *literal when the
 * whole pattern is a literal string (***= director), which needs no regex.
 */
static char *
whole_match_pattern(const char *pat, char **literal, const char **body_out,
					bool *has_options, bool *icase)
{
	StringInfoData buf;
	const char *body = pat;
	bool		expanded = false;
	bool		quoted = false;

	*literal = NULL;
	*has_options = false;
	*icase = false;
	initStringInfo(&buf);

	if (strncmp(body, "***=", 4) == 0)
	{
		*literal = pstrdup(body + 4);
		appendStringInfoString(&buf, "\\A(?:");
		append_literal(&buf, *literal, strlen(*literal));
		appendStringInfoString(&buf, ")\\Z");
		return buf.data;
	}
	if (strncmp(body, "***:", 4) == 0)
	{
		appendStringInfoString(&buf, "***:");
		body += 4;
	}
	if (body[0] == '(' && body[1] == '?')
	{
		const char *p = body + 2;

		while (*p && strchr("bcegimnpqstwx", *p) != NULL)
			p++;
		if (*p == ')' && p > body + 2)
		{
			*has_options = true;
			for (const char *o = body + 2; o < p; o++)
			{
				if (*o == 'b' || *o == 'e')
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
							 errmsg("embedded option \"%c\" is not supported", *o),
							 errdetail("Filters use PostgreSQL's advanced regular expressions (AREs).")));
				if (*o == 'q')
					quoted = true;
				else if (*o == 'i')
					*icase = true;
				else if (*o == 'c')
					*icase = false;
				else if (*o == 'x')
					expanded = true;
				else if (*o == 't')
					expanded = false;
			}

			/*
			 * Keep the options, but apply q (literal) ourselves: the wrapper
			 * around the body must stay syntax.  Under q the body is literal
			 * whatever x says, so x and t are dropped with it.
			 */
			if (quoted)
				expanded = false;
			appendStringInfoString(&buf, "(?");
			for (const char *o = body + 2; o < p; o++)
			{
				if (!(quoted && (*o == 'q' || *o == 'x' || *o == 't')))
					appendStringInfoChar(&buf, *o);
			}
			appendStringInfoChar(&buf, ')');
			if (buf.data[buf.len - 2] == '?')
				buf.len -= 3, buf.data[buf.len] = '\0';	/* nothing left to keep */
			body = p + 1;
		}
	}

	*body_out = body;
	appendStringInfoString(&buf, "\\A(?:");
	if (quoted)
		append_literal(&buf, body, strlen(body));
	else
		appendStringInfoString(&buf, body);
	/* in expanded syntax a trailing comment would swallow the closing ")\Z" */
	if (expanded)
		appendStringInfoChar(&buf, '\n');
	appendStringInfoString(&buf, ")\\Z");
	return buf.data;
}

static char *
wchar_to_cstring(const pg_wchar *w, size_t len)
{
	char	   *s = palloc(len * pg_database_encoding_max_length() + 1);
	int			n = pg_wchar2mb_with_len(w, s, (int) len);

	s[n] = '\0';
	return s;
}

/* Compile an ARE, raising 2201B naming the parameter when it is invalid. */
static void
compile_or_report(regex_t *re, const char *pattern, const char *param,
				  const char *user_pattern)
{
	int			len = strlen(pattern);
	pg_wchar   *wpat = palloc((len + 1) * sizeof(pg_wchar));
	int			wlen = pg_mb2wchar_with_len(pattern, wpat, len);
	int			rc = pg_regcomp(re, wpat, wlen, REG_ADVANCED, DEFAULT_COLLATION_OID);

	pfree(wpat);
	if (rc != REG_OKAY)
	{
		char		errbuf[128];

		pg_regerror(rc, re, errbuf, sizeof(errbuf));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
				 errmsg("invalid regular expression in %s: %s", param, errbuf),
				 errdetail("The pattern was \"%s\".", user_pattern)));
	}
}

/*
 * Translate a pattern made only of literal characters, "." and ".*" into the
 * LIKE pattern that matches exactly the same whole values ("bi.*" is
 * "bi%", ".*99" is "%99", "bi.ly" is "bi_ly").  LIKE compares bytes under
 * the C collation and needs no conversion to wide characters, so it is much
 * cheaper per row than the regex engine.  NULL when the pattern uses
 * anything else.
 */
static char *
like_pattern(const char *body)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (const char *c = body; *c; c++)
	{
		if (c[0] == '.' && c[1] == '*')
		{
			appendStringInfoChar(&buf, '%');
			c++;
		}
		else if (c[0] == '.')
			appendStringInfoChar(&buf, '_');
		else if (c[0] == '\\')
		{
			/* an escaped punctuation character stands for itself */
			if (c[1] == '\0' || isalnum((unsigned char) c[1]) || (unsigned char) c[1] >= 0x80)
				return NULL;
			c++;
			if (*c == '%' || *c == '_' || *c == '\\')
				appendStringInfoChar(&buf, '\\');
			appendStringInfoChar(&buf, *c);
		}
		else if (strchr("*+?{}()[]|^$", c[0]) != NULL)
			return NULL;
		else
		{
			if (*c == '%' || *c == '_')
				appendStringInfoChar(&buf, '\\');
			appendStringInfoChar(&buf, *c);
		}
	}
	return buf.data;
}

/*
 * Prepare a filter from a user's pattern (which must not be NULL); param
 * names the argument in error messages.
 */
void
regex_filter_init(RegexFilter *f, text *pattern, const char *param)
{
	char	   *pat = text_to_cstring(pattern);
	char	   *literal;
	const char *body = pat;
	bool		has_options;
	bool		icase;
	char	   *whole = whole_match_pattern(pat, &literal, &body, &has_options, &icase);
	regex_t		re;
	int			rc;
	pg_wchar   *prefix = NULL;
	size_t		prefix_len = 0;

	memset(f, 0, sizeof(*f));
	f->pattern = whole;
	f->locale_sensitive = icase || strchr(body, '[') != NULL;
	for (const char *c = body; *c && !f->locale_sensitive; c++)
	{
		/* class and word-boundary escapes (\w, \d, \m, ...) follow the locale */
		if (c[0] == '\\' && c[1] != '\0')
		{
			if (isalpha((unsigned char) c[1]))
				f->locale_sensitive = true;
			c++;
		}
	}
	if (literal != NULL)
	{
		f->exact = literal;
		return;
	}
	if (!has_options && strncmp(pat, "***:", 4) != 0)
		f->like = like_pattern(body);

	/*
	 * Compile the user's pattern as given first: wrapping an unbalanced one
	 * like "a)|(b" would turn it into a different, valid pattern.
	 */
	compile_or_report(&re, pat, param, pat);
	pg_regfree(&re);
	compile_or_report(&re, whole, param, pat);

	rc = pg_regprefix(&re, &prefix, &prefix_len);
	if (rc == REG_EXACT || rc == REG_PREFIX)
	{
		/* no value holds a NUL: only the part before one can narrow the range */
		size_t		usable = 0;

		while (usable < prefix_len && prefix[usable] != 0)
			usable++;

		/*
		 * pg_regprefix ignores constraints (lookahead, ^ inside the body,
		 * back-references), so every match equals an "exact" value, but
		 * the value itself may not match: check it, else leave the answer to
		 * the regex engine over the prefix range.
		 */
		if (rc == REG_EXACT && usable == prefix_len &&
			pg_regexec(&re, prefix, prefix_len, 0, NULL, 0, NULL, 0) == REG_OKAY)
			f->exact = wchar_to_cstring(prefix, prefix_len);
		else if (usable > 0)
		{
			size_t		plen;

			f->prefix = wchar_to_cstring(prefix, usable);
			/* "abc.*" means exactly "starts with abc": the index range says it all */
			plen = strlen(f->prefix);
			f->prefix_only = rc == REG_PREFIX && usable == prefix_len &&
				!has_options && strlen(body) == plen + 2 &&
				strncmp(body, f->prefix, plen) == 0 && strcmp(body + plen, ".*") == 0;
		}
	}
	if (prefix)
		session_regprefix_free(prefix);
	pg_regfree(&re);
}

/*
 * The smallest string greater than every string starting with prefix, in
 * byte order (the username column uses the C collation).  NULL when there
 * is none.
 */
text *
regex_prefix_upper_bound(const char *prefix)
{
	int			len = strlen(prefix);
	char	   *s = pstrdup(prefix);

	while (len > 0)
	{
		unsigned char last = (unsigned char) s[len - 1];

		if (last < 0xFF)
		{
			s[len - 1] = (char) (last + 1);
			return cstring_to_text_with_len(s, len);
		}
		len--;
	}
	return NULL;
}

/*
 * Pass the pattern to a listing query in the right slot: as LIKE when it
 * translates; else under the C collation when its meaning cannot depend on
 * the locale (faster); else under the database's collation.
 */
RegexFilterParams
regex_filter_params(const RegexFilter *f)
{
	RegexFilterParams p;

	for (int i = 0; i < REGEX_FILTER_NPARAMS; i++)
	{
		p.values[i] = (Datum) 0;
		p.nulls[i] = true;
	}
	if (f == NULL || f->pattern == NULL)
		return p;
	if (f->like != NULL)
	{
		p.values[0] = CStringGetTextDatum(f->like);
		p.nulls[0] = false;
	}
	else if (f->locale_sensitive)
	{
		p.values[2] = CStringGetTextDatum(f->pattern);
		p.nulls[2] = false;
	}
	else
	{
		p.values[1] = CStringGetTextDatum(f->pattern);
		p.nulls[1] = false;
	}
	return p;
}

/* Put a filter (or none: NULL) into three consecutive query parameters. */
void
regex_filter_put(const RegexFilter *f, Datum *values, bool *nulls)
{
	RegexFilterParams p = regex_filter_params(f);

	memcpy(values, p.values, sizeof(p.values));
	memcpy(nulls, p.nulls, sizeof(p.nulls));
}
