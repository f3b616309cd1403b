/*-------------------------------------------------------------------------
 *
 * hbuf_flush.c
 *	  The background worker's flush of the heartbeat buffer (reaper.c calls
 *	  session_hbuf_flush every session.heartbeat_flush_interval).
 *
 *	  The flush copies the entries that have something to write, sorts them
 *	  by id and writes them in batches of HBUF_FLUSH_BATCH, one heap-only
 *	  UPDATE per session, each batch in its own transaction.  A batch marks
 *	  the entries it writes (flushing, hbuf_table.c) and skips those that a
 *	  transaction owns to end the session: it runs beside heartbeats, never
 *	  beside a close, which waits for the batch; what it skips is written
 *	  by the next flush.
 *
 *	  What a batch wrote leaves the entries at its PRE_COMMIT, through the
 *	  transaction callback (heartbeat_buffer.c): the bytes written are
 *	  subtracted and the flush's xid is recorded with them, which the live
 *	  readers (hbuf_live.c) use to add the bytes back while their snapshot
 *	  still reads an older row.  An entry is written only when it has room
 *	  for one more such record (HBUF_FLUSH_HISTORY); records that every
 *	  snapshot sees are dropped first, so totals never dip for a reader,
 *	  however old its snapshot.  If the transaction aborts after PRE_COMMIT,
 *	  everything is written again next time.  Entries of sessions that no
 *	  longer have a row are dropped.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"
#include "hbuf_internal.h"
#include "queries.h"

#include "access/relation.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

/*
 * Sessions per flush statement (and transaction): a close of a session in
 * the batch being written waits for it, so batches stay short.
 */
#define HBUF_FLUSH_BATCH	2000

/* What a flush wrote for one session (the worker only) */
typedef struct HbufFlushed
{
	int64		id;
	TimestampTz last_comm;		/* 0: none */
	int64		recent;
	bool		has_recent;
	int64		add;
	bool		written;		/* the row was written */
	bool		gone;			/* no row any more: drop the entry */
} HbufFlushed;

static HbufFlushed *flushed = NULL;
static int	nflushed = 0;
static bool flushed_applied = false;

/* Record a flush of xid that subtracted sub bytes; false: no room. */
static bool
history_add(HbufEntry *e, TransactionId xid, int64 sub)
{
	for (int i = 0; i < HBUF_FLUSH_HISTORY; i++)
	{
		if (!TransactionIdIsValid(e->flush_xid[i]))
		{
			e->flush_xid[i] = xid;
			e->flush_sub[i] = sub;
			return true;
		}
	}
	return false;
}

/*
 * Drop the records of flushes that every snapshot sees (they committed
 * before the oldest snapshot that reads the table); true if one is free.
 */
static bool
history_prune(HbufEntry *e, TransactionId horizon)
{
	bool		room = false;

	for (int i = 0; i < HBUF_FLUSH_HISTORY; i++)
	{
		if (TransactionIdIsValid(e->flush_xid[i]) &&
			TransactionIdPrecedes(e->flush_xid[i], horizon))
		{
			e->flush_xid[i] = InvalidTransactionId;
			e->flush_sub[i] = 0;
		}
		if (!TransactionIdIsValid(e->flush_xid[i]))
			room = true;
	}
	return room;
}

/* The worker's flush, at PRE_COMMIT: what was written leaves the entries. */
static void
flushed_apply(bool undo)
{
	TransactionId xid = GetTopTransactionIdIfAny();

	for (int i = 0; i < nflushed; i++)
	{
		HbufFlushed *f = &flushed[i];
		uint32		hashcode;
		HbufEntry  *e;

		if (!f->written && !f->gone)
			continue;
		e = hbuf_entry_lock(f->id, LW_EXCLUSIVE, &hashcode);
		if (e != NULL && f->gone && !undo && !hbuf_entry_owned(e))
			hbuf_entry_remove_locked(f->id, hashcode);
		else if (e != NULL && f->written && !undo && TransactionIdIsValid(xid))
		{
			/* claim_batch made sure there is room */
			if (history_add(e, xid, f->add))
				e->add -= f->add;
			if (f->last_comm > e->flushed_last_comm)
				e->flushed_last_comm = f->last_comm;
			if (f->has_recent && e->recent == f->recent)
				e->recent_dirty = false;
		}
		else if (e != NULL && f->written && undo && TransactionIdIsValid(xid))
		{
			/* the flush aborted after PRE_COMMIT: write it all again */
			for (int h = 0; h < HBUF_FLUSH_HISTORY; h++)
			{
				if (e->flush_xid[h] == xid)
				{
					e->add += e->flush_sub[h];
					e->flush_xid[h] = InvalidTransactionId;
					e->flush_sub[h] = 0;
				}
			}
			e->flushed_last_comm = 0;
			e->recent_dirty = e->has_recent;
		}
		hbuf_entry_unlock(hashcode);
	}
}

/* The transaction of a batch is about to commit. */
void
hbuf_flush_pre_commit(void)
{
	if (nflushed > 0 && hbuf != NULL)
	{
		flushed_apply(false);
		flushed_applied = true;
	}
}

/*
 * The transaction ended (aborted: undo what PRE_COMMIT applied); the
 * entries it marked are no longer being written.  Never fails with an
 * error: a commit callback calls it.
 */
void
hbuf_flush_end(bool aborted)
{
	if (aborted && flushed_applied && hbuf != NULL)
		flushed_apply(true);
	for (int i = 0; i < nflushed && hbuf != NULL; i++)
	{
		uint32		hashcode;
		HbufEntry  *e = hbuf_entry_lock(flushed[i].id, LW_EXCLUSIVE, &hashcode);

		if (e != NULL)
			e->flushing = false;
		hbuf_entry_unlock(hashcode);
	}
	if (nflushed > 0 && hbuf != NULL)
		SetInvalidVirtualTransactionId(hbuf->flusher);
	nflushed = 0;
	flushed_applied = false;
}

/*
 * Mark the entries of batch that can be written now (flushing), moving them
 * to its front; returns how many.  Skipped: entries gone, entries that a
 * transaction owns to end them, and entries without room for one more flush
 * record.  From here on, the transaction callback clears the marks.
 */
static int
claim_batch(HbufFlushed *batch, int n)
{
	Relation	rel = try_relation_open(hbuf->relid, AccessShareLock);
	TransactionId horizon;
	int			m = 0;

	if (rel == NULL)
		return 0;

	/*
	 * Computed now, not GlobalVisTest's cached horizon, which is brought up
	 * to date only when xids advance: without flushes nothing else may
	 * assign one.
	 */
	horizon = GetOldestNonRemovableTransactionId(rel);
	GET_VXID_FROM_PGPROC(hbuf->flusher, *MyProc);
	flushed = batch;
	for (int i = 0; i < n; i++)
	{
		uint32		hashcode;
		HbufEntry  *e = hbuf_entry_lock(batch[i].id, LW_EXCLUSIVE, &hashcode);
		bool		take;

		take = e != NULL &&
			!(hbuf_entry_owned(e) && e->alone) &&
			history_prune(e, horizon);
		if (take)
		{
			e->flushing = true;
			batch[m] = batch[i];
			batch[m].written = false;
			batch[m].gone = false;
			nflushed = ++m;
		}
		hbuf_entry_unlock(hashcode);
	}
	relation_close(rel, AccessShareLock);
	return m;
}

static int
flushed_cmp(const void *a, const void *b)
{
	int64		x = ((const HbufFlushed *) a)->id;
	int64		y = ((const HbufFlushed *) b)->id;

	return (x > y) - (x < y);
}

/*
 * Write one batch in its own transaction; returns the rows written.  What
 * it allocates lives in the transaction's memory, freed at its commit.
 */
static int
flush_batch(HbufFlushed *batch, int n)
{
	SessionSpi	spi;
	Datum	   *a_id;
	Datum	   *a_lc;
	Datum	   *a_rb;
	Datum	   *a_ad;
	bool	   *n_lc;
	bool	   *n_rb;
	int64	   *rest;
	int			dims[1];
	int			lbs[1] = {1};
	Datum		values[4];
	int			m;
	int			nrest = 0;
	int			nwritten = 0;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	a_id = palloc(sizeof(Datum) * n);
	a_lc = palloc(sizeof(Datum) * n);
	a_rb = palloc(sizeof(Datum) * n);
	a_ad = palloc(sizeof(Datum) * n);
	n_lc = palloc(sizeof(bool) * n);
	n_rb = palloc(sizeof(bool) * n);
	rest = palloc(sizeof(int64) * n);

	m = claim_batch(batch, n);
	for (int i = 0; i < m; i++)
	{
		a_id[i] = Int64GetDatum(batch[i].id);
		a_lc[i] = TimestampTzGetDatum(batch[i].last_comm);
		n_lc[i] = batch[i].last_comm == 0;
		a_rb[i] = Int64GetDatum(batch[i].recent);
		n_rb[i] = !batch[i].has_recent;
		a_ad[i] = Int64GetDatum(batch[i].add);
	}
	dims[0] = m;
	values[0] = PointerGetDatum(construct_md_array(a_id, NULL, 1, dims, lbs, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[1] = PointerGetDatum(construct_md_array(a_lc, n_lc, 1, dims, lbs, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[2] = PointerGetDatum(construct_md_array(a_rb, n_rb, 1, dims, lbs, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[3] = PointerGetDatum(construct_md_array(a_ad, NULL, 1, dims, lbs, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));

	if (m > 0)
	{
		session_spi_connect(&spi);
		(void) session_exec_nestloop(&query_hbuf_flush, values, NULL);
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HbufFlushed key;
			HbufFlushed *f;

			key.id = hbuf_spi_id(r);
			f = bsearch(&key, batch, m, sizeof(HbufFlushed), flushed_cmp);
			if (f != NULL)
				f->written = true;
		}
		session_spi_finish(&spi);
	}

	/* not written: locked by someone (next time), or gone (drop the entry) */
	for (int i = 0; i < m; i++)
	{
		if (!batch[i].written)
			rest[nrest++] = batch[i].id;
	}
	if (nrest > 0)
	{
		bool	   *open = palloc(sizeof(bool) * nrest);
		int			j = 0;

		hbuf_find_open(rest, nrest, open, false);
		for (int i = 0; i < m; i++)
		{
			if (batch[i].written)
				continue;
			batch[i].gone = !open[j++];
		}
		pfree(open);
	}
	for (int i = 0; i < m; i++)
		nwritten += batch[i].written ? 1 : 0;

	PopActiveSnapshot();
	CommitTransactionCommand();
	return nwritten;
}

/*
 * Attach the buffer to this database's sessions table, then, when write is
 * set, write every session with buffered heartbeats, in id order, in
 * batches.  Allocates in the caller's memory context, which it leaves
 * current (a commit makes TopMemoryContext current).
 */
void
session_hbuf_flush(bool write)
{
	MemoryContext cxt = CurrentMemoryContext;
	TimestampTz start = GetCurrentTimestamp();
	HASH_SEQ_STATUS status;
	HbufEntry  *e;
	HbufFlushed *all;
	int			n = 0;
	int			cap;
	int64		rows = 0;

	if (hbuf == NULL)
		return;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	hbuf_attach_table();
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
	if (!write)
		return;
	if (pg_atomic_read_u32(&hbuf->used) == 0)
	{
		hbuf_note_flush_pass(start);
		return;
	}

	cap = (int) pg_atomic_read_u32(&hbuf->used) + HBUF_PARTITIONS;
	all = palloc(sizeof(HbufFlushed) * cap);
	hbuf_lock_partitions(LW_SHARED);
	hash_seq_init(&status, hbuf_table);
	while ((e = hash_seq_search(&status)) != NULL)
	{
		HbufFlushed *f;

		if (!(e->add != 0 || e->last_comm > e->flushed_last_comm || e->recent_dirty))
			continue;
		if (n == cap)
		{
			hash_seq_term(&status);
			break;
		}
		f = &all[n++];
		f->id = e->id;
		f->last_comm = e->last_comm > e->flushed_last_comm ? e->last_comm : 0;
		f->recent = e->recent;
		f->has_recent = e->recent_dirty;
		f->add = e->add;
		f->written = false;
		f->gone = false;
	}
	hbuf_unlock_partitions();
	if (n == 0)
	{
		pfree(all);
		hbuf_note_flush_pass(start);
		return;
	}

	qsort(all, n, sizeof(HbufFlushed), flushed_cmp);
	for (int off = 0; off < n; off += HBUF_FLUSH_BATCH)
	{
		CHECK_FOR_INTERRUPTS();
		rows += flush_batch(all + off, Min(HBUF_FLUSH_BATCH, n - off));
		MemoryContextSwitchTo(cxt);
	}
	hbuf_count_flush(rows);
	hbuf_note_flush_pass(start);
	pfree(all);
}
