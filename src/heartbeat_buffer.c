/*-------------------------------------------------------------------------
 *
 * heartbeat_buffer.c
 *	  Heartbeats buffered in shared memory and written to the sessions
 *	  table in batches by the background worker: the entry points that
 *	  registry.c and expiry.c call, and how heartbeats are ordered against
 *	  closes, expiry and the flush.
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
 *	  The pieces, in layers: each calls only those above it (hbuf_internal.h
 *	  is what they share):
 *	  1. hbuf_table.c: the shared hash table, its partition locks, the
 *		 owners of entries, counters, which ids have a row;
 *	  2. hbuf_pending.c: a transaction's heartbeats and claimed entries,
 *		 published and released at its commit, dropped and released at
 *		 abort, so a rolled-back heartbeat has no effect;
 *	  3. hbuf_flush.c: the worker's flush; hbuf_live.c: the live values
 *		 readers see, and the status function;
 *	  4. this file: the settings, the entry points (heartbeats, opening and
 *		 ending sessions) and the one transaction callback, which calls
 *		 down into the layers above.
 *
 *	  Heartbeats against closes, expiry and the flush, without row locks and
 *	  without heavyweight locks of their own.  Entries are owned by
 *	  transactions, named by their virtual transaction ids (hbuf_table.c).
 *	  A heartbeat claims the entry of its session and owns it until its
 *	  transaction ends, as an UPDATE holds the row, but shares it with other
 *	  transactions that heartbeat the same session; a transaction that ends
 *	  the session (close, terminate, eviction, close_node_sessions, expiry)
 *	  owns it alone.  A claim that finds an owner it cannot share with waits
 *	  for that transaction to end with VirtualXactLock, a heavyweight lock
 *	  wait that the deadlock detector, lock_timeout and cancel all see; the
 *	  owner's commit publishes its heartbeats and releases its entries
 *	  before its locks go.  So a close waits for exactly the heartbeats of
 *	  its own session, and a heartbeat waits only for an end of its own
 *	  session: a transaction that holds heartbeats of session A delays A's
 *	  close and expiry, nothing else.  A close finds the heartbeats of A
 *	  published, reads the live values into the history row, and removes the
 *	  entry at its commit; a heartbeat that waited for it then finds no
 *	  entry, looks for the row and returns false.  A heartbeat that returned
 *	  true is therefore never lost.
 *
 *	  A heartbeat's claim takes its partition's lock shared and its place
 *	  with a compare-and-swap; its transaction's ops are published, and its
 *	  claims released, at commit, each partition locked once for all of
 *	  them (hbuf_pending.c).
 *
 *	  Nothing is taken for an id that is not open.  A session without an
 *	  entry (after a restart) gets one on its first heartbeat, made owned,
 *	  and the row is then locked FOR KEY SHARE under a fresh snapshot: a
 *	  close that deleted it is waited for, and a close that comes later
 *	  waits for the heartbeat.  If there is no row, the entry is removed
 *	  again before the heartbeat returns false.  A close of an id without an
 *	  entry (ended, unknown) claims nothing.  Sweeps claim only the sessions
 *	  they found to end, one at a time, and release at once those they did
 *	  not end; expiry claims without waiting and leaves the sessions of
 *	  busy entries for its next sweep, as it does with SKIP LOCKED.  No
 *	  claim uses the shared lock table, so an expiry of any size cannot run
 *	  out of it.  Claims of several sessions go in ascending id order, the
 *	  order in which batches of heartbeats lock rows: they deadlock only
 *	  where the same calls would on rows.
 *
 *	  The worker's flush marks the entries it writes (flushing) instead of
 *	  owning them: heartbeats go on beside it, an end waits for the batch
 *	  (milliseconds), and the flush skips entries being ended.
 *
 *	  Entries are created when a session opens (at commit) or by the first
 *	  heartbeat after a restart.  When every slot is taken a heartbeat
 *	  writes its row as it always did (the table path).  A crash loses what
 *	  was not flushed: at most one interval of last_comm and bytes, never a
 *	  session.  While the worker does not flush (it is down, restarting or
 *	  stuck) for five intervals and at least ten seconds, heartbeats write
 *	  their rows too (hbuf_flush_stale in hbuf_table.c), so what a crash can
 *	  lose stays bounded by that.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"
#include "hbuf_internal.h"
#include "queries.h"

#include <limits.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/guc.h"

static void hbuf_xact_callback(XactEvent event, void *arg);
static void hbuf_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
								  SubTransactionId parentSubid, void *arg);

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
	/* inherited by every backend and the worker */
	RegisterXactCallback(hbuf_xact_callback, NULL);
	RegisterSubXactCallback(hbuf_subxact_callback, NULL);
}

/* ---------------------------------------------------------------------------
 * The transaction callback: the only one of the buffer
 * ---------------------------------------------------------------------------
 */

static void
hbuf_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_PREPARE:
			if (hbuf_pending_count() > 0)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot prepare a transaction that buffered heartbeats or opened or ended sessions"),
						 errhint("Set session.heartbeat_flush_interval to 0 for two-phase transactions.")));
			break;
		case XACT_EVENT_PRE_COMMIT:
			hbuf_flush_pre_commit();
			break;
		case XACT_EVENT_COMMIT:
			hbuf_pending_commit();
			hbuf_flush_end(false);
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			hbuf_flush_end(true);
			hbuf_pending_abort();
			break;
		default:
			break;
	}
}

static void
hbuf_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					  SubTransactionId parentSubid, void *arg)
{
	hbuf_pending_subxact(event);
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
 * Claim the entry of id for a heartbeat (waiting for its owner, if any),
 * making one when there is none.  HBUF_BUFFERED: ours, the heartbeat can be
 * recorded, *made set when it was just made (the row is still to be
 * checked); HBUF_TABLE: no entry and no slot.
 */
static HbufResult
claim_for_beat(int64 id, bool *made)
{
	HbufClaim	c = hbuf_entry_claim(id, CLAIM_BEAT_CREATE);

	*made = (c == CLAIM_CREATED);
	if (c == CLAIM_ABSENT)
		return HBUF_TABLE;
	if (c == CLAIMED || c == CLAIM_CREATED)
		hbuf_note_owned(id, c == CLAIM_CREATED);
	return HBUF_BUFFERED;
}

/*
 * The worker has not flushed for a while (hbuf_flush_stale): the heartbeat
 * of id writes its row, without claiming its entry (the row lock orders it
 * against closes and expiry, as without the buffer; owning the entry
 * through the write and the commit would make expiry skip the session).  An
 * entry that still holds an older heartbeat keeps its last_comm and bytes
 * for the flush, but not its recent bytes, which the row now has newer
 * (OP_WROTE, at commit; nothing when there is no entry then).
 */
static HbufResult
write_through(int64 id, int64 bytes)
{
	hbuf_record_op(id, OP_WROTE, bytes);
	return HBUF_TABLE;
}

/*
 * Buffer one heartbeat.  HBUF_TABLE: the caller writes the row.
 */
HbufResult
session_hbuf_heartbeat(int64 id, int64 bytes)
{
	bool		made = false;
	bool		open;
	HbufResult	r;

	session_check_installed();
	r = pending_state(id);
	if (r != HBUF_BUFFERED)
		return r;
	if (hbuf_flush_stale())
		return write_through(id, bytes);
	r = claim_for_beat(id, &made);
	if (r == HBUF_TABLE)
		session_hbuf_count_table_path(1);
	if (r != HBUF_BUFFERED)
		return r;
	if (made)
	{
		hbuf_find_open(&id, 1, &open, true);
		if (!open)
		{
			hbuf_entry_release(id, true);
			return HBUF_NOT_OPEN;
		}
	}
	hbuf_record_op(id, OP_BEAT, bytes);
	return HBUF_BUFFERED;
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
	{
		hbuf_record_op(id, OP_BEAT, bytes);
		b->buffered++;
	}
	else if (r == HBUF_TABLE)
	{
		/* ntable <= the index of id: the front of the arrays is free */
		b->ids[b->ntable] = id;
		b->bytes[b->ntable++] = bytes;
	}
}

/*
 * Buffer a batch (ids sorted and distinct), claiming the entries in id
 * order.  Sets *buffered to how many were buffered; the ids and bytes that
 * must take the table path are moved to the front of the arrays, and their
 * number is returned.
 */
int
session_hbuf_heartbeat_many(int64 *ids, int64 *bytes, int n, int64 *buffered)
{
	BeatBatch	b = {ids, bytes, 0, 0};
	int64	   *made = palloc(sizeof(int64) * n);
	int64	   *made_bytes = palloc(sizeof(int64) * n);
	int			nmade = 0;
	bool		own_ops;

	session_check_installed();
	if (hbuf_flush_stale())
	{
		for (int i = 0; i < n; i++)
		{
			HbufResult	r = pending_state(ids[i]);

			if (r == HBUF_BUFFERED)
				r = write_through(ids[i], bytes[i]);
			batch_note(&b, ids[i], bytes[i], r);
		}
		*buffered = 0;
		return b.ntable;
	}

	/*
	 * this transaction's own ops decide, else an entry, else the row (below);
	 * the batch's ids are distinct, so only ops recorded before it count
	 */
	own_ops = hbuf_pending_count() > 0;
	for (int i = 0; i < n; i++)
	{
		HbufResult	r = own_ops ? pending_state(ids[i]) : HBUF_BUFFERED;
		bool		is_new = false;

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (r == HBUF_BUFFERED)
			r = claim_for_beat(ids[i], &is_new);
		if (is_new)
		{
			made[nmade] = ids[i];
			made_bytes[nmade++] = bytes[i];
			continue;
		}
		batch_note(&b, ids[i], bytes[i], r);
	}

	if (nmade > 0)
	{
		bool	   *open = palloc(sizeof(bool) * nmade);

		hbuf_find_open(made, nmade, open, true);
		for (int i = 0; i < nmade; i++)
		{
			if (!open[i])
				hbuf_entry_release(made[i], true);
			batch_note(&b, made[i], made_bytes[i], open[i] ? HBUF_BUFFERED : HBUF_NOT_OPEN);
		}
		pfree(open);
	}
	pfree(made);
	pfree(made_bytes);
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

/*
 * Claim the entries of sessions about to end, in ascending id order (the
 * order batches of heartbeats take them in), waiting for their owners, or,
 * without wait, skipping the busy ones.  ids need not be sorted; they are
 * sorted here, and those not skipped are moved to the front (their number
 * is returned): the sessions the caller may end.  The ids claimed by this
 * call (not those without an entry, nor those already ours) go to claimed
 * (room for n), their number to *nclaimed.  With no buffer here, nothing is
 * claimed and nothing skipped.
 */
int
session_hbuf_claim_for_end(int64 *ids, int n, bool wait, int64 *claimed, int *nclaimed)
{
	int			m = 0;

	*nclaimed = 0;
	if (!hbuf_here() || n == 0)
		return n;
	qsort(ids, n, sizeof(int64), hbuf_id_cmp);
	for (int i = 0; i < n; i++)
	{
		HbufClaim	c;

		CHECK_FOR_INTERRUPTS();
		c = hbuf_entry_claim(ids[i], wait ? CLAIM_END : CLAIM_END_NOWAIT);
		if (c == CLAIM_BUSY)
			continue;
		if (c == CLAIMED)
		{
			hbuf_note_owned(ids[i], false);
			claimed[(*nclaimed)++] = ids[i];
		}
		ids[m++] = ids[i];
	}
	return m;
}

/*
 * Wait until no heartbeat of ids is in flight, in ascending order; own their
 * entries to the end.
 */
void
session_hbuf_lock_ids_for_end(const int64 *ids, int n)
{
	int64	   *copy = palloc(sizeof(int64) * Max(n, 1));
	int64	   *claimed = palloc(sizeof(int64) * Max(n, 1));
	int			nclaimed;

	memcpy(copy, ids, sizeof(int64) * n);
	(void) session_hbuf_claim_for_end(copy, n, true, claimed, &nclaimed);
	pfree(copy);
	pfree(claimed);
}

/*
 * Of the claimed ids (from session_hbuf_claim_for_end), release
 * those that the statement just run did not end (SPI_tuptable: the ended
 * rows, id first), so that a sweep holds nothing for a session it leaves
 * open.
 */
void
session_hbuf_release_unended(const int64 *claimed, int n)
{
	int64	   *ended;
	uint64		nended = SPI_tuptable != NULL ? SPI_processed : 0;

	if (n == 0)
		return;
	ended = palloc(sizeof(int64) * Max(nended, 1));
	for (uint64 r = 0; r < nended; r++)
		ended[r] = hbuf_spi_id(r);
	qsort(ended, nended, sizeof(int64), hbuf_id_cmp);
	for (int i = 0; i < n; i++)
	{
		if (bsearch(&claimed[i], ended, nended, sizeof(int64), hbuf_id_cmp) == NULL)
			hbuf_entry_release(claimed[i], false);
	}
	pfree(ended);
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
