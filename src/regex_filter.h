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
} RegexFilter;

extern void regex_filter_init(RegexFilter *f, text *pattern, const char *param);
extern text *regex_prefix_upper_bound(const char *prefix);

#endif							/* REGEX_FILTER_H */
