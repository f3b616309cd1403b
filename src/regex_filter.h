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

/* The pattern as parameters of a listing query: C-collation or default slot */
extern void regex_filter_params(const RegexFilter *f, Datum *c_value, bool *c_null,
								Datum *default_value, bool *default_null,
								Datum *like_value, bool *like_null);

extern void regex_filter_init(RegexFilter *f, text *pattern, const char *param);
extern text *regex_prefix_upper_bound(const char *prefix);

#endif							/* REGEX_FILTER_H */
