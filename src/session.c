/*-------------------------------------------------------------------------
 *
 * session.c
 *	  Entry point of the session extension: one init call per subsystem.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"
#include "heartbeat_buffer.h"

#include "miscadmin.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	session_guc_init();
	session_hbuf_init();
	session_context_init();
	session_connections_init();
	session_events_init();
	session_reaper_init();
	session_stats_init();

	/* after every session.* setting is defined: refuse misspelt ones */
	MarkGUCPrefixReserved("session");
}
