/*-------------------------------------------------------------------------
 *
 * heartbeat_buffer.h
 *	  The shared-memory heartbeat buffer: heartbeat_buffer.c and the
 *	  hbuf_*.c files behind it (the top of heartbeat_buffer.c maps them).
 *
 *-------------------------------------------------------------------------
 */
#ifndef HEARTBEAT_BUFFER_H
#define HEARTBEAT_BUFFER_H

#include "postgres.h"

/* What session_hbuf_heartbeat did */
typedef enum HbufResult
{
	HBUF_BUFFERED,				/* recorded; publishes at commit */
	HBUF_NOT_OPEN,				/* no such open session */
	HBUF_TABLE					/* no slot: the caller writes the row */
} HbufResult;

extern int	session_heartbeat_slots;
extern int	session_heartbeat_flush_interval;	/* milliseconds, 0 = write through */

extern void session_hbuf_init(void);

/* heartbeats */
extern bool session_hbuf_buffering(void);
extern HbufResult session_hbuf_heartbeat(int64 id, int64 bytes);
extern int	session_hbuf_heartbeat_many(int64 *ids, int64 *bytes, int n, int64 *buffered);
extern void session_hbuf_count_table_path(int64 n);

/* ending sessions: claim first, then report the ended rows */
extern void session_hbuf_lock_ids_for_end(const int64 *ids, int n);
extern int	session_hbuf_claim_for_end(int64 *ids, int n, bool wait,
									   int64 *claimed, int *nclaimed);
extern void session_hbuf_release_unended(const int64 *claimed, int n);
extern void session_hbuf_ended_rows(void);
extern void session_hbuf_opened(int64 id);

/* the background worker */
extern void session_hbuf_worker_attach(void);
extern void session_hbuf_flush(bool write);

#endif							/* HEARTBEAT_BUFFER_H */
