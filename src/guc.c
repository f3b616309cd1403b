/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  The session.* settings.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"

#include <limits.h>

#include "miscadmin.h"
#include "utils/guc.h"

int			session_idle_timeout = 30 * 60;
int			session_max_lifetime = 0;
int			session_clientless_idle_timeout = 0;
int			session_reaper_interval = 60;
char	   *session_database = NULL;
int			session_max_sessions_per_user = 0;
int			session_limit_policy = SESSION_LIMIT_REJECT;
int			session_history_retention = 0;
bool		session_notify = true;
int			session_event_retention = 24 * 60 * 60;

static const struct config_enum_entry limit_policy_options[] = {
	{"reject", SESSION_LIMIT_REJECT, false},
	{"evict_oldest", SESSION_LIMIT_EVICT_OLDEST, false},
	{NULL, 0, false}
};

void
session_guc_init(void)
{
	DefineCustomIntVariable("session.idle_timeout",
							gettext_noop("Ends sessions with no communication for this long (0 disables)."),
							gettext_noop("Clientless sessions use session.clientless_idle_timeout instead."),
							&session_idle_timeout,
							30 * 60, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("session.max_lifetime",
							gettext_noop("Ends sessions open for longer than this, active or not (0 disables)."),
							gettext_noop("Clientless sessions are not subject to it."),
							&session_max_lifetime,
							0, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("session.clientless_idle_timeout",
							gettext_noop("Ends clientless sessions with no communication for this long (0 disables)."),
							NULL,
							&session_clientless_idle_timeout,
							0, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("session.reaper_interval",
							gettext_noop("Time between two passes of the background worker that applies the timeouts."),
							NULL,
							&session_reaper_interval,
							60, 1, 24 * 60 * 60,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	/* only the postmaster reads it, to start the worker */
	if (process_shared_preload_libraries_in_progress)
		DefineCustomStringVariable("session.database",
								   gettext_noop("Database in which the background worker expires sessions."),
								   gettext_noop("The extension must be created in this database."),
								   &session_database,
								   "postgres",
								   PGC_POSTMASTER, 0,
								   NULL, NULL, NULL);

	DefineCustomIntVariable("session.max_sessions_per_user",
							gettext_noop("Most open sessions one user may have (0 disables the limit)."),
							gettext_noop("Clientless sessions are not counted."),
							&session_max_sessions_per_user,
							0, 0, 1000000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("session.limit_policy",
							 gettext_noop("What opening a session beyond session.max_sessions_per_user does."),
							 gettext_noop("reject raises SQLSTATE SE429; evict_oldest ends the user's oldest session with reason evicted."),
							 &session_limit_policy,
							 SESSION_LIMIT_REJECT, limit_policy_options,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("session.history_retention",
							gettext_noop("Ended sessions older than this are purged by the background worker (0 keeps them forever)."),
							NULL,
							&session_history_retention,
							0, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("session.notify",
							 gettext_noop("Logs an event for every open, close, expiry, termination, eviction and user change, and wakes up listeners of session_events."),
							 gettext_noop("Off: no event is written (session.events_since returns none for that time)."),
							 &session_notify,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("session.event_retention",
							gettext_noop("Events older than this are removed from the event log by the background worker (0 keeps them forever)."),
							NULL,
							&session_event_retention,
							24 * 60 * 60, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
}
