/*-------------------------------------------------------------------------
 *
 * session.h
 *	  Declarations shared by the files of the session extension.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SESSION_H
#define SESSION_H

#include "postgres.h"

#include "compat.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/timestamp.h"

/* The extension's own SQLSTATEs */
#define ERRCODE_SESSION_NOT_FOUND		MAKE_SQLSTATE('S','E','4','0','4')
#define ERRCODE_SESSION_LIMIT_EXCEEDED	MAKE_SQLSTATE('S','E','4','2','9')

/* Input limits (characters, entries, bytes) */
#define SESSION_MAX_NAME_LEN		256
#define SESSION_MAX_USER_AGENT_LEN	1024
#define SESSION_MAX_PAGE_IDS		1000
#define SESSION_MAX_ATTRIBUTES_SIZE	(64 * 1024)

#define SESSION_UNAUTHENTICATED		"Unauthenticated"
#define SESSION_SCOPE_CLIENTLESS	"clientless"

/* Sessions ended per batch by expiry and node shutdown */
#define SESSION_END_BATCH			1000

/* guc.c: settings */
extern int	session_idle_timeout;		/* seconds, 0 = off */
extern int	session_max_lifetime;		/* seconds, 0 = off */
extern int	session_clientless_idle_timeout;	/* seconds, 0 = off */
extern int	session_reaper_interval;	/* seconds */
extern char *session_database;
extern int	session_max_sessions_per_user;
extern int	session_limit_policy;
extern int	session_history_retention;	/* seconds, 0 = keep */
extern bool session_notify;
extern int	session_event_retention;	/* seconds, 0 = keep */

typedef enum SessionLimitPolicy
{
	SESSION_LIMIT_REJECT,
	SESSION_LIMIT_EVICT_OLDEST
} SessionLimitPolicy;

extern void session_guc_init(void);

/* validate.c: argument checks that raise the spec's SQLSTATEs */
extern void session_require_arg(FunctionCallInfo fcinfo, int argno, const char *name);
extern text *session_text_arg(FunctionCallInfo fcinfo, int argno, const char *name,
							  int maxlen, bool required, bool nonempty);
extern void session_check_text(text *value, const char *name, int maxlen, bool nonempty);
extern void session_check_scope(text *scope);
extern void session_check_bytes(int64 bytes);
extern void session_check_page_ids(ArrayType *page_ids);
extern void session_check_attributes(Datum attributes);
extern int	session_int8_array_arg(ArrayType *arr, const char *name, Datum **elems);
extern void session_check_close_reason(text *reason, const char *allowed);
extern void session_check_admin_reason(text *reason);
extern void session_not_found(int64 session_id);

/* spi_util.c: prepared statements kept for the life of the backend */
typedef struct SessionPlan
{
	const char *sql;
	int			nargs;
	Oid			argtypes[10];
	SPIPlanPtr	plan;
} SessionPlan;

/* identity.c: the owner switch around every internal statement */
typedef struct SessionSpi
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
} SessionSpi;

extern void session_spi_connect(SessionSpi *st);
extern void session_check_installed(void);
extern void session_spi_finish(SessionSpi *st);

/* schemas.c: the extension's schemas are its own */
extern void session_check_schemas(Oid extoid, Oid extnamespace, Oid owner);

extern SPIPlanPtr session_plan(SessionPlan *sp);
extern int	session_exec(SessionPlan *sp, Datum *values, const char *nulls,
						 bool read_only, long tcount);
extern int	session_exec_latest(SessionPlan *sp, Datum *values, const char *nulls);
extern int	session_exec_nestloop(SessionPlan *sp, Datum *values, const char *nulls);
extern void session_exec_into_result(FunctionCallInfo fcinfo, SessionPlan *sp,
									 Datum *values, const bool *nulls);
extern DestReceiver *session_ordered_result(FunctionCallInfo fcinfo);
extern void session_exec_into(SessionPlan *sp, Datum *values, const bool *nulls,
							  DestReceiver *dest);
extern void session_ordered_result_finish(DestReceiver *dest);

/* events.c: the event log */
extern bool session_events_prepare(void);
extern void session_events_written(uint64 n);
extern void session_events_apply_retention(void);

/* registry.c: ending sessions, shared with expiry */
extern int	session_run_end(SessionPlan *plain, SessionPlan *logged, Datum *values,
							bool nestloop);
extern int	session_end_candidates(SessionPlan *plain, SessionPlan *logged, Datum *values,
								   int ids_param, bool wait, int64 *after, int *skipped);
extern bool session_end_session(int64 session_id, const char *reason,
								const char *event, bool clientless_only);

/* expiry.c: expiry, retention and partitions */
extern int64 session_expire_now(bool per_batch_commit);
extern int64 session_purge_older_than(TimestampTz cutoff);
extern void session_maintain_partitions(void);


/* context.c / connections.c */
extern void session_context_init(void);
extern void session_connections_init(void);
extern void session_connections_publish(const char *user_context, int64 session_id);
extern void session_events_init(void);

/* reaper.c */
extern void session_reaper_init(void);

/* stats.c: counters for monitoring */
extern void session_stats_init(void);
extern void session_stats_count_ended(void);
extern void session_stats_pass_begin(void);
extern void session_stats_pass_end(int64 expired);
extern void session_stats_pass_failed(void);

#endif							/* SESSION_H */
