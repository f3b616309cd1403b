/*-------------------------------------------------------------------------
 *
 * heartbeat_buffer.c
 *	  Heartbeats buffered in shared memory and written to the sessions
 *	  table in batches by the background worker: the entry points that
 *	  registry.c and expiry.c call, and the stripe locks that order
 *	  heartbeats against closes, expiry and the flush.
 *
 *	  With shared_preload_libraries = 'session', in the database that the
 *	  worker serves, and with session.heartbeat_flush_interval > 0, a
 *	  heartbeat does not write its row.  It records, in a shared hash table
 *	  keyed by session id (session.heartbeat_slots entries), the newest
 *	  last_comm, the bytes of the latest heartbeat and the bytes still to be
 *	  added to total_bytes_sent.  Every interval the worker writes what
 *	  accumulated, one heap-only UPDATE per session that communicated, in id
 *	  order, and subtracts what it wrote.
 *
 *	  The pieces (hbuf_internal.h is what they share):
 *	  - this file: the settings, heartbeats, opening and ending sessions,
 *		the stripe locks;
 *	  - hbuf_table.c: the shared hash table, its partition locks, counters;
 *	  - hbuf_pending.c: a transaction's heartbeats, published at its commit
 *		and dropped at abort, so a rolled-back heartbeat has no effect;
 *	  - hbuf_flush.c: the worker's flush;
 *	  - hbuf_live.c: the live values readers see, and the status function.
 *
 *	  Heartbeats against closes, expiry and the flush, without row locks.
 *	  Ids fall into HBUF_STRIPES stripes (id % HBUF_STRIPES), each guarded by
 *	  a heavyweight lock whose tag no SQL-callable function can take
 *	  (LOCKTAG_USERLOCK, reserved since contrib/userlock left).  A heartbeat
 *	  holds RowExclusiveLock on its stripes until its transaction ends; a
 *	  close or expiry takes ShareLock, which conflicts with heartbeats but
 *	  not with other closes.  CommitTransaction runs the commit callbacks
 *	  before it releases locks, so when a close gets its stripe every
 *	  heartbeat of that stripe has either published or rolled back; the
 *	  close then reads the live values into the history row and removes the
 *	  entry at its own commit, and any later heartbeat finds no entry, looks
 *	  for the row under a fresh snapshot, and returns false.  A heartbeat
 *	  that returned true is therefore never lost.  Expiry takes the stripes
 *	  conditionally and leaves sessions of busy stripes for the next pass,
 *	  as it does with SKIP LOCKED.  The flush takes RowExclusiveLock
 *	  conditionally: it runs beside heartbeats, never beside a close.
 *
 *	  Entries are created when a session opens (at commit) or by the first
 *	  heartbeat after a restart, which checks that the row exists under a
 *	  fresh snapshot while it holds its stripe.  When every slot is taken a
 *	  heartbeat writes its row as it always did (the table path).  A crash
 *	  loses what was not flushed: at most one interval of last_comm and
 *	  bytes, never a session.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"
#include "hbuf_internal.h"
#include "queries.h"

#include <limits.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"

/* locktag_field2 of the stripe locks: "SHBF" */
#define HBUF_LOCK_CLASS		0x53484246

int			session_heartbeat_slots = 100000;
int			session_heartbeat_flush_interval = 1000;

void
session_hbuf_init(void)
{
	/* a postmaster setting can only be defined while preloading */
	if (process_shared_preload_libraries_in_progress)
		DefineCustomIntVariable("session.heartbeat_slots",
								gettext_noop("Sessions whose heartbeats the shared-memory buffer can hold (0 disables the buffer)."),
								gettext_noop("Heartbeats of sessions without a slot write their row."),
								&session_heartbeat_slots,
								100000, 0, INT_MAX / 2,
								PGC_POSTMASTER, 0,
								NULL, NULL, NULL);

	DefineCustomIntVariable("session.heartbeat_flush_interval",
							gettext_noop("Time between two writes of buffered heartbeats to the sessions table (0 writes every heartbeat through)."),
							gettext_noop("A crash loses at most this much of last_comm and the byte counters."),
							&session_heartbeat_flush_interval,
							1000, 0, 60 * 60 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;
	hbuf_install_shmem_hooks();
}

/* ---------------------------------------------------------------------------
 * Stripe locks
 * ---------------------------------------------------------------------------
 */

static bool
lock_stripe(int stripe, LOCKMODE mode, bool wait)
{
	LOCKTAG		tag;

	tag.locktag_field1 = MyDatabaseId;
	tag.locktag_field2 = HBUF_LOCK_CLASS;
	tag.locktag_field3 = (uint32) stripe;
	tag.locktag_field4 = 0;
	tag.locktag_type = LOCKTAG_USERLOCK;
	tag.locktag_lockmethodid = DEFAULT_LOCKMETHOD;
	return LockAcquire(&tag, mode, false, !wait) != LOCKACQUIRE_NOT_AVAIL;
}

/* The stripes of ids, as a mask (bit id % 64) */
static uint64
stripes_of(const int64 *ids, int n)
{
	uint64		stripes = 0;

	for (int i = 0; i < n; i++)
		stripes |= UINT64CONST(1) << hbuf_stripe_of(ids[i]);
	return stripes;
}

/*
 * Wait for the stripes of mask, in ascending order, like every batch: two
 * batches cannot deadlock.
 */
static void
lock_stripes(uint64 mask, LOCKMODE mode)
{
	for (int s = 0; s < HBUF_STRIPES; s++)
	{
		if (mask & (UINT64CONST(1) << s))
			(void) lock_stripe(s, mode, true);
	}
}

/* Take, without waiting, every stripe that can be had; the mask of those */
uint64
hbuf_try_lock_stripes(LOCKMODE mode)
{
	uint64		mask = 0;

	for (int s = 0; s < HBUF_STRIPES; s++)
	{
		if (lock_stripe(s, mode, false))
			mask |= UINT64CONST(1) << s;
	}
	return mask;
}

/*
 * Which of ids (sorted) are open sessions, under a snapshot taken now (so a
 * close that committed while we waited for the stripe is seen even in a
 * repeatable read transaction).  Marks open[i].
 */
void
hbuf_find_open(int64 *ids, int n, bool *open)
{
	SessionSpi	spi;
	Datum	   *elems = palloc(sizeof(Datum) * n);
	Datum		values[1];
	int			rc;

	for (int i = 0; i < n; i++)
	{
		elems[i] = Int64GetDatum(ids[i]);
		open[i] = false;
	}
	values[0] = PointerGetDatum(construct_array(elems, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));

	session_spi_connect(&spi);
	rc = SPI_execute_snapshot(session_plan(&query_hbuf_open_ids), values, NULL,
							  GetLatestSnapshot(), InvalidSnapshot, true, false, 0);
	if (rc < 0)
		elog(ERROR, "SPI_execute_snapshot failed: %s", SPI_result_code_string(rc));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		int64		id = hbuf_spi_id(r);

		for (int i = 0; i < n; i++)
		{
			if (ids[i] == id)
				open[i] = true;
		}
	}
	session_spi_finish(&spi);
	pfree(elems);
}

/* ---------------------------------------------------------------------------
 * Heartbeats
 * ---------------------------------------------------------------------------
 */

/*
 * A session that this transaction ended is not open; one that it opened has
 * no entry before commit, so its heartbeats write the row (rare).
 */
static HbufResult
pending_state(int64 id)
{
	HbufPending *p = hbuf_pending_find(id);

	if (p != NULL && p->ended)
		return HBUF_NOT_OPEN;
	if (p != NULL && p->created)
		return HBUF_TABLE;
	return HBUF_BUFFERED;
}

/*
 * Buffer a heartbeat of a session that has an entry (has_entry) or whose
 * row was just found open; its stripe is held.  Without an entry it gets
 * one, or, when every slot is taken, HBUF_TABLE: the caller writes the row.
 */
static HbufResult
buffer_or_defer(int64 id, int64 bytes, bool has_entry)
{
	if (!has_entry && !hbuf_entry_create(id))
		return HBUF_TABLE;
	hbuf_record_op(id, OP_BEAT, bytes);
	return HBUF_BUFFERED;
}

/*
 * Buffer one heartbeat.  HBUF_TABLE: the caller writes the row (it still
 * holds the stripe, which changes nothing for the table path).
 */
HbufResult
session_hbuf_heartbeat(int64 id, int64 bytes)
{
	bool		has_entry;
	bool		open;
	HbufResult	r;

	session_check_installed();
	r = pending_state(id);
	if (r != HBUF_BUFFERED)
		return r;
	(void) lock_stripe(hbuf_stripe_of(id), RowExclusiveLock, true);
	has_entry = hbuf_entry_exists(id);
	if (!has_entry)
	{
		hbuf_find_open(&id, 1, &open);
		if (!open)
			return HBUF_NOT_OPEN;
	}
	r = buffer_or_defer(id, bytes, has_entry);
	if (r == HBUF_TABLE)
		session_hbuf_count_table_path(1);
	return r;
}

/* The outcome of a batch so far: the table path's ids go to the front. */
typedef struct BeatBatch
{
	int64	   *ids;
	int64	   *bytes;
	int			ntable;
	int64		buffered;
} BeatBatch;

static void
batch_note(BeatBatch *b, int64 id, int64 bytes, HbufResult r)
{
	if (r == HBUF_BUFFERED)
		b->buffered++;
	else if (r == HBUF_TABLE)
	{
		/* ntable <= the index of id: the front of the arrays is free */
		b->ids[b->ntable] = id;
		b->bytes[b->ntable++] = bytes;
	}
}

/*
 * Buffer a batch (ids sorted and distinct).  Sets *buffered to how many
 * were buffered; the ids and bytes that must take the table path are moved
 * to the front of the arrays, and their number is returned.
 */
int
session_hbuf_heartbeat_many(int64 *ids, int64 *bytes, int n, int64 *buffered)
{
	BeatBatch	b = {ids, bytes, 0, 0};
	int64	   *missing = palloc(sizeof(int64) * n);
	int64	   *missing_bytes = palloc(sizeof(int64) * n);
	int			nmissing = 0;

	session_check_installed();
	lock_stripes(stripes_of(ids, n), RowExclusiveLock);

	/* this transaction's own ops decide, else an entry, else the row (below) */
	for (int i = 0; i < n; i++)
	{
		HbufResult	r = pending_state(ids[i]);

		if (r == HBUF_BUFFERED && !hbuf_entry_exists(ids[i]))
		{
			missing[nmissing] = ids[i];
			missing_bytes[nmissing++] = bytes[i];
			continue;
		}
		if (r == HBUF_BUFFERED)
			r = buffer_or_defer(ids[i], bytes[i], true);
		batch_note(&b, ids[i], bytes[i], r);
	}

	if (nmissing > 0)
	{
		bool	   *open = palloc(sizeof(bool) * nmissing);

		hbuf_find_open(missing, nmissing, open);
		for (int i = 0; i < nmissing; i++)
		{
			HbufResult	r = HBUF_NOT_OPEN;

			if (open[i])
				r = buffer_or_defer(missing[i], missing_bytes[i], false);
			batch_note(&b, missing[i], missing_bytes[i], r);
		}
		pfree(open);
	}
	pfree(missing);
	pfree(missing_bytes);
	if (b.ntable > 0)
		session_hbuf_count_table_path(b.ntable);
	*buffered = b.buffered;
	return b.ntable;
}

/* ---------------------------------------------------------------------------
 * Opening and ending sessions
 * ---------------------------------------------------------------------------
 */

/* A session opened in this transaction: give it an entry at commit. */
void
session_hbuf_opened(int64 id)
{
	if (session_hbuf_buffering())
		hbuf_record_op(id, OP_CREATE, 0);
}

/* Wait until no heartbeat of id's stripe is in flight; hold it to the end. */
void
session_hbuf_lock_for_end(int64 id)
{
	if (hbuf_here())
		(void) lock_stripe(hbuf_stripe_of(id), ShareLock, true);
}

/*
 * The stripes of several sessions about to end, in ascending order (the
 * order batches of heartbeats take them in): ending them one by one, in
 * another order, could deadlock with a batch.
 */
void
session_hbuf_lock_ids_for_end(const int64 *ids, int n)
{
	if (hbuf_here())
		lock_stripes(stripes_of(ids, n), ShareLock);
}

void
session_hbuf_lock_all_for_end(void)
{
	if (hbuf_here())
		lock_stripes(~UINT64CONST(0), ShareLock);
}

/*
 * Take, without waiting, the stripes that no heartbeat holds now; returns
 * the mask of the stripes taken (bit id % 64), every bit when there is no
 * buffer here.
 */
int64
session_hbuf_lock_for_expiry(void)
{
	if (!hbuf_here())
		return -1;
	return (int64) hbuf_try_lock_stripes(ShareLock);
}

/* The rows in SPI_tuptable (id first) ended: drop their entries at commit. */
void
session_hbuf_ended_rows(void)
{
	if (!hbuf_here() || SPI_tuptable == NULL)
		return;
	for (uint64 r = 0; r < SPI_processed; r++)
		hbuf_record_op(hbuf_spi_id(r), OP_END, 0);
}
