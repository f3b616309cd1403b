/*-------------------------------------------------------------------------
 *
 * hbuf_flush.c
 *	  The background worker's flush of the heartbeat buffer (reaper.c calls
 *	  session_hbuf_flush every session.heartbeat_flush_interval).
 *
 *	  The flush copies the entries that have something to write, sorts them
 *	  by id and writes them in batches of HBUF_FLUSH_BATCH, one heap-only
 *	  UPDATE per session, each batch in its own transaction.  A batch takes
 *	  the stripe locks (heartbeat_buffer.c) in RowExclusiveLock without
 *	  waiting: it runs beside heartbeats, never beside a close, and leaves
 *	  the sessions of stripes it could not take for the next flush.
 *
 *	  What a batch wrote leaves the entries at its PRE_COMMIT, through the
 *	  transaction callback of hbuf_pending.c: the bytes written are
 *	  subtracted and the entry is stamped with the flush's xid, which the
 *	  live readers (hbuf_live.c) use to add the bytes back while their
 *	  snapshot still reads the old row.  If the transaction aborts after
 *	  PRE_COMMIT, everything is written again next time.  Entries of
 *	  sessions that no longer have a row are dropped.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"
#include "hbuf_internal.h"
#include "queries.h"

#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/snapmgr.h"

/*
 * Sessions per flush statement (and transaction): a close waits for the
 * batch being written on its stripe, so batches stay short.
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
	bool		gone;			/* no row any more: drop the entry */
} HbufFlushed;

static HbufFlushed *flushed = NULL;
static int	nflushed = 0;
static bool flushed_applied = false;

/* The worker's flush, at PRE_COMMIT: what was written leaves the entries. */
static void
flushed_apply(bool undo)
{
	TransactionId xid = undo ? InvalidTransactionId : GetTopTransactionIdIfAny();

	for (int i = 0; i < nflushed; i++)
	{
		HbufFlushed *f = &flushed[i];
		uint32		hashcode;
		HbufEntry  *e = hbuf_entry_lock(f->id, LW_EXCLUSIVE, &hashcode);

		if (e != NULL && f->gone && !undo)
			hbuf_entry_remove_locked(f->id, hashcode);
		else if (e != NULL && !f->gone && !undo)
		{
			e->add -= f->add;
			e->flush_xid = xid;
			e->flush_sub = f->add;
			if (f->last_comm > e->flushed_last_comm)
				e->flushed_last_comm = f->last_comm;
			if (f->has_recent && e->recent == f->recent)
				e->recent_dirty = false;
		}
		else if (e != NULL && !f->gone && undo && e->flush_xid != InvalidTransactionId)
		{
			/* the flush aborted after PRE_COMMIT: write it all again */
			e->add += e->flush_sub;
			e->flush_sub = 0;
			e->flush_xid = InvalidTransactionId;
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

/* The transaction ended (aborted: undo what PRE_COMMIT applied). */
void
hbuf_flush_end(bool aborted)
{
	if (aborted && flushed_applied && hbuf != NULL)
		flushed_apply(true);
	nflushed = 0;
	flushed_applied = false;
}

static int
flushed_cmp(const void *a, const void *b)
{
	int64		x = ((const HbufFlushed *) a)->id;
	int64		y = ((const HbufFlushed *) b)->id;

	return (x > y) - (x < y);
}

/* Write one batch in its own transaction; returns the rows written. */
static int
flush_batch(HbufFlushed *batch, int n)
{
	SessionSpi	spi;
	uint64		got;
	Datum	   *a_id = palloc(sizeof(Datum) * n);
	Datum	   *a_lc = palloc(sizeof(Datum) * n);
	Datum	   *a_rb = palloc(sizeof(Datum) * n);
	Datum	   *a_ad = palloc(sizeof(Datum) * n);
	bool	   *n_lc = palloc(sizeof(bool) * n);
	bool	   *n_rb = palloc(sizeof(bool) * n);
	bool	   *written = palloc0(sizeof(bool) * n);
	int64	   *rest = palloc(sizeof(int64) * n);
	int			dims[1];
	int			lbs[1] = {1};
	Datum		values[4];
	int			m = 0;
	int			nrest = 0;
	int			nwritten = 0;
	int			k = 0;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());

	got = hbuf_try_lock_stripes(RowExclusiveLock);
	/* keep only sessions of the stripes we hold; a close holds the others */
	for (int i = 0; i < n; i++)
	{
		if (!(got & (UINT64CONST(1) << hbuf_stripe_of(batch[i].id))))
			continue;
		batch[m] = batch[i];
		a_id[m] = Int64GetDatum(batch[m].id);
		a_lc[m] = TimestampTzGetDatum(batch[m].last_comm);
		n_lc[m] = batch[m].last_comm == 0;
		a_rb[m] = Int64GetDatum(batch[m].recent);
		n_rb[m] = !batch[m].has_recent;
		a_ad[m] = Int64GetDatum(batch[m].add);
		m++;
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
				written[f - batch] = true;
		}
		session_spi_finish(&spi);
	}

	/* not written: locked by someone (next time), or gone (drop the entry) */
	for (int i = 0; i < m; i++)
	{
		if (!written[i])
			rest[nrest++] = batch[i].id;
	}
	if (nrest > 0)
	{
		bool	   *open = palloc(sizeof(bool) * nrest);
		int			j = 0;

		hbuf_find_open(rest, nrest, open);
		for (int i = 0; i < m; i++)
		{
			if (written[i])
				continue;
			batch[i].gone = !open[j++];
		}
		pfree(open);
	}

	/* what PRE_COMMIT applies to the entries */
	for (int i = 0; i < m; i++)
	{
		if (written[i] || batch[i].gone)
		{
			nwritten += written[i] ? 1 : 0;
			batch[k++] = batch[i];
		}
	}
	flushed = batch;
	nflushed = k;

	PopActiveSnapshot();
	CommitTransactionCommand();
	return nwritten;
}

/*
 * Attach the buffer to this database's sessions table, then, when write is
 * set, write every session with buffered heartbeats, in id order, in
 * batches.
 */
void
session_hbuf_flush(bool write)
{
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
	if (!write || pg_atomic_read_u32(&hbuf->used) == 0)
		return;

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
		f->gone = false;
	}
	hbuf_unlock_partitions();
	if (n == 0)
		return;

	qsort(all, n, sizeof(HbufFlushed), flushed_cmp);
	hbuf_ensure_callbacks();
	for (int off = 0; off < n; off += HBUF_FLUSH_BATCH)
	{
		CHECK_FOR_INTERRUPTS();
		rows += flush_batch(all + off, Min(HBUF_FLUSH_BATCH, n - off));
	}
	hbuf_count_flush(rows);
	pfree(all);
}
