/*-------------------------------------------------------------------------
 *
 * queries.h
 *	  Every SQL statement that the C code runs (queries.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SESSION_QUERIES_H
#define SESSION_QUERIES_H

#include "session.h"

/* registry.c: writing sessions */
extern SessionPlan query_open;
extern SessionPlan query_open_logged;
extern SessionPlan query_user_sessions;
extern SessionPlan query_set_user;
extern SessionPlan query_set_user_logged;
extern SessionPlan query_heartbeat;
extern SessionPlan query_heartbeat_many;
extern SessionPlan query_page_ids;
extern SessionPlan query_end;
extern SessionPlan query_end_logged;
extern SessionPlan query_end_clientless;
extern SessionPlan query_end_clientless_logged;
extern SessionPlan query_node_ids;
extern SessionPlan query_end_node;
extern SessionPlan query_end_node_logged;
extern SessionPlan query_open_exists;
extern SessionPlan query_ended_scope;

/* expiry.c: expiry, partitions and retention */
extern SessionPlan query_expire_candidates;
extern SessionPlan query_expire;
extern SessionPlan query_expire_logged;
extern SessionPlan query_maintain_partitions;
extern SessionPlan query_purge_history;

/* listing.c: reading sessions */
extern SessionPlan query_list_exact;
extern SessionPlan query_list_prefix;
extern SessionPlan query_list_scan;
extern SessionPlan query_open_by_id;
extern SessionPlan query_ended_by_id;
extern SessionPlan query_open_user;
extern SessionPlan query_ended_user;

/* context.c: attaching a session */
extern SessionPlan query_attach;

/* events.c: the event log */
extern SessionPlan query_events_since;
extern SessionPlan query_events_purge;

/* report.c */
extern SessionPlan query_concurrency;

/* history.c: import and the sessions open at an instant */
extern SessionPlan query_import;
extern SessionPlan query_at_open;
extern SessionPlan query_at_ended;

/* hbuf_table.c (which sessions are open) and hbuf_flush.c (the flush) */
extern SessionPlan query_hbuf_open_ids;
extern SessionPlan query_hbuf_lock_open_ids;
extern SessionPlan query_hbuf_flush;

#endif							/* SESSION_QUERIES_H */
