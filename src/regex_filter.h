/*-------------------------------------------------------------------------
 *
 * regex_filter.h
 *	  Whole-value regular expression filters (regex.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef REGEX_FILTER_H
#define REGEX_FILTER_H

typedef struct RegexFilter
{
	char	   *pattern;		/* the whole-match ARE */
	char	   *exact;			/* the only value that matches, if any */
	char	   *prefix;			/* a literal prefix of every match, if any */
	bool		prefix_only;	/* every value starting with prefix matches */
	bool		locale_sensitive;	/* result may depend on the collation */
	char	   *like;			/* the same filter as a LIKE pattern, if it can be */
} RegexFilter;

/*
 * A filter as the three parameters of a listing query, in this order: a
 * LIKE pattern, a regex under the C collation, a regex under the database's
 * collation.  At most one is not NULL; all are NULL for no filter.
 */
#define REGEX_FILTER_NPARAMS 3

typedef struct RegexFilterParams
{
	Datum		values[REGEX_FILTER_NPARAMS];
	bool		nulls[REGEX_FILTER_NPARAMS];
} RegexFilterParams;

extern RegexFilterParams regex_filter_params(const RegexFilter *f);
extern void regex_filter_put(const RegexFilter *f, Datum *values, bool *nulls);

extern void regex_filter_init(RegexFilter *f, text *pattern, const char *param);
extern text *regex_prefix_upper_bound(const char *prefix);

#endif							/* REGEX_FILTER_H */
