/*-------------------------------------------------------------------------
 *
 * hbuf_live.c
 *	  What readers see of the heartbeat buffer: the live values of a
 *	  session, and session.heartbeat_buffer_status() for monitoring.
 *
 *	  Readers see live values through session.live_last_comm,
 *	  live_recent_bytes and live_total_bytes (the views, get_session_info,
 *	  expiry and the history row of a close use them): the stored column
 *	  combined with the session's shared entry (hbuf_table.c) and with the
 *	  reader's own transaction's heartbeats not yet published
 *	  (hbuf_pending.c).  The flush (hbuf_flush.c) subtracts the bytes it
 *	  wrote at PRE_COMMIT and records its xid and those bytes in the entry;
 *	  a reader adds back the bytes of every recorded flush that its snapshot
 *	  does not see (it still reads a row written before them).  The flush
 *	  keeps HBUF_FLUSH_HISTORY of them and writes an entry again only when
 *	  it can record one more, dropping those that every snapshot sees: so
 *	  totals never dip, however old the reader's snapshot.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"
#include "hbuf_internal.h"

#include "access/transam.h"
#include "access/xact.h"
#include "funcapi.h"
#include "utils/snapmgr.h"

PG_FUNCTION_INFO_V1(session_live_last_comm);
PG_FUNCTION_INFO_V1(session_live_recent_bytes);
PG_FUNCTION_INFO_V1(session_live_total_bytes);
PG_FUNCTION_INFO_V1(session_heartbeat_buffer_status);

/* one-entry cache for the three live functions called on one row */
static struct
{
	bool		valid;
	int64		id;
	TimestampTz stmt;
	uint64		generation;
	bool		found;
	TimestampTz last_comm;
	int64		recent;
	bool		has_recent;
	int64		add;
}			live_cache;

/* one-entry cache of a flush xid's commit state */
static TransactionId committed_xid = InvalidTransactionId;

/* Did the flush xid commit before the reader's snapshot? */
static bool
flush_visible(TransactionId xid)
{
	if (!TransactionIdIsValid(xid))
		return true;
	if (ActiveSnapshotSet() && XidInMVCCSnapshot(xid, GetActiveSnapshot()))
		return false;
	if (xid == committed_xid)
		return true;
	if (TransactionIdDidCommit(xid))
	{
		committed_xid = xid;
		return true;
	}
	return false;
}

/* Shared entry plus this transaction's own heartbeats; false if neither. */
static bool
live_lookup(int64 id)
{
	TimestampTz stmt = GetCurrentStatementStartTimestamp();
	uint32		hashcode;
	HbufEntry  *e;
	TransactionId xid[HBUF_FLUSH_HISTORY];
	int64		sub[HBUF_FLUSH_HISTORY];
	HbufPending *p;

	if (live_cache.valid && live_cache.id == id && live_cache.stmt == stmt &&
		live_cache.generation == hbuf_pending_generation())
		return live_cache.found;

	live_cache.valid = true;
	live_cache.id = id;
	live_cache.stmt = stmt;
	live_cache.generation = hbuf_pending_generation();
	live_cache.found = false;
	live_cache.last_comm = 0;
	live_cache.recent = 0;
	live_cache.has_recent = false;
	live_cache.add = 0;

	e = hbuf_entry_lock(id, LW_SHARED, &hashcode);
	if (e != NULL)
	{
		live_cache.found = true;
		live_cache.last_comm = e->last_comm;
		live_cache.recent = e->recent;
		live_cache.has_recent = e->has_recent;
		live_cache.add = e->add;
		memcpy(xid, e->flush_xid, sizeof(xid));
		memcpy(sub, e->flush_sub, sizeof(sub));
	}
	hbuf_entry_unlock(hashcode);
	for (int i = 0; e != NULL && i < HBUF_FLUSH_HISTORY; i++)
	{
		if (TransactionIdIsValid(xid[i]) && sub[i] != 0 && !flush_visible(xid[i]))
			live_cache.add = hbuf_add_saturating(live_cache.add, sub[i]);
	}

	p = hbuf_pending_find(id);
	if (p != NULL && p->has_recent)
	{
		live_cache.found = true;
		if (p->last_comm > live_cache.last_comm)
			live_cache.last_comm = p->last_comm;
		live_cache.recent = p->recent;
		live_cache.has_recent = true;
		live_cache.add = hbuf_add_saturating(live_cache.add, p->add);
	}
	return live_cache.found;
}

Datum
session_live_last_comm(PG_FUNCTION_ARGS)
{
	int64		id = PG_GETARG_INT64(0);
	TimestampTz stored = PG_GETARG_TIMESTAMPTZ(1);

	if (hbuf_here() && live_lookup(id) && live_cache.last_comm > stored)
		PG_RETURN_TIMESTAMPTZ(live_cache.last_comm);
	PG_RETURN_TIMESTAMPTZ(stored);
}

Datum
session_live_recent_bytes(PG_FUNCTION_ARGS)
{
	int64		id = PG_GETARG_INT64(0);
	int64		stored = PG_GETARG_INT64(1);

	if (hbuf_here() && live_lookup(id) && live_cache.has_recent)
		PG_RETURN_INT64(live_cache.recent);
	PG_RETURN_INT64(stored);
}

Datum
session_live_total_bytes(PG_FUNCTION_ARGS)
{
	int64		id = PG_GETARG_INT64(0);
	int64		stored = PG_GETARG_INT64(1);

	if (hbuf_here() && live_lookup(id))
		PG_RETURN_INT64(hbuf_add_saturating(stored, live_cache.add));
	PG_RETURN_INT64(stored);
}

/* ---------------------------------------------------------------------------
 * Monitoring
 * ---------------------------------------------------------------------------
 */

Datum
session_heartbeat_buffer_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[9];
	bool		nulls[9] = {0};
	TimestampTz last;
	int64		age = hbuf_flush_age_ms();

	InitMaterializedSRF(fcinfo, 0);
	values[0] = Int32GetDatum(hbuf ? hbuf->slots : 0);
	values[1] = Int32GetDatum(hbuf ? (int32) pg_atomic_read_u32(&hbuf->used) : 0);
	values[2] = Int32GetDatum(hbuf ? session_heartbeat_flush_interval : 0);
	last = hbuf ? (TimestampTz) pg_atomic_read_u64(&hbuf->last_flush) : 0;
	values[3] = TimestampTzGetDatum(last);
	nulls[3] = (last == 0);
	values[4] = Int64GetDatum(hbuf ? (int64) pg_atomic_read_u64(&hbuf->flushes) : 0);
	values[5] = Int64GetDatum(hbuf ? (int64) pg_atomic_read_u64(&hbuf->flushed_rows) : 0);
	values[6] = Int64GetDatum(hbuf ? (int64) pg_atomic_read_u64(&hbuf->table_path) : 0);
	/* the worker's flushing: NULL while no worker serves the buffer */
	values[7] = Int64GetDatum(age);
	nulls[7] = (age < 0);
	values[8] = BoolGetDatum(hbuf != NULL && hbuf_flush_stale());
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
