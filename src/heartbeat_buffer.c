/*-------------------------------------------------------------------------
 *
 * heartbeat_buffer.c
 *	  Heartbeats buffered in shared memory and written to the sessions
 *	  table in batches by the background worker.
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
 *	  Publish at commit.  A heartbeat only appends to a list kept by its
 *	  backend; a transaction callback applies the list to shared memory at
 *	  commit and drops it at abort (or drops the part of a subtransaction
 *	  that rolls back).  A rolled-back heartbeat therefore has no effect.
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
 *	  Readers see live values through session.live_last_comm,
 *	  live_recent_bytes and live_total_bytes (the views, get_session_info,
 *	  expiry and the history row of a close use them).  The flush subtracts
 *	  the bytes it wrote at PRE_COMMIT and stamps the entry with its xid; a
 *	  reader whose snapshot does not yet see that xid (it still reads the
 *	  old row) adds them back, so totals never dip while a flush commits.
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
#include "heartbeat_buffer.h"
#include "queries.h"

#include <limits.h>

#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/int.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "catalog/namespace.h"
#include "utils/lsyscache.h"
#include "storage/shmem.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(session_live_last_comm);
PG_FUNCTION_INFO_V1(session_live_recent_bytes);
PG_FUNCTION_INFO_V1(session_live_total_bytes);
PG_FUNCTION_INFO_V1(session_heartbeat_buffer_status);

/* Lock stripes, and the partitions of the hash table (powers of two) */
#define HBUF_STRIPES		64
#define HBUF_PARTITIONS		64
/*
 * Sessions per flush statement (and transaction): a close waits for the
 * batch being written on its stripe, so batches stay short.
 */
#define HBUF_FLUSH_BATCH	2000
/* locktag_field2 of the stripe locks: "SHBF" */
#define HBUF_LOCK_CLASS		0x53484246

int			session_heartbeat_slots = 100000;
int			session_heartbeat_flush_interval = 1000;

typedef struct HbufEntry
{
	int64		id;				/* hash key */
	TimestampTz last_comm;		/* newest buffered last_comm, 0: none */
	TimestampTz flushed_last_comm;	/* newest last_comm written */
	int64		recent;			/* bytes of the latest buffered heartbeat */
	bool		has_recent;		/* recent is newer than the row's */
	bool		recent_dirty;	/* recent not written yet */
	int64		add;			/* bytes not yet in total_bytes_sent */
	TransactionId flush_xid;	/* the latest flush that wrote this entry */
	int64		flush_sub;		/* bytes it subtracted from add */
} HbufEntry;

/* The table the entries belong to */
#define HBUF_SCHEMA			"session_storage"
#define HBUF_TABLE_NAME		"sessions"

typedef struct HbufShared
{
	Oid			database;		/* the worker's database; invalid until it runs */
	Oid			relid;			/* its sessions table: entries belong to it */
	pg_atomic_uint32 used;		/* entries in the table */
	pg_atomic_uint64 flushes;
	pg_atomic_uint64 flushed_rows;
	pg_atomic_uint64 table_path;
	pg_atomic_uint64 last_flush;	/* TimestampTz, 0: never */
	int			slots;
	LWLockPadded *locks;
} HbufShared;

static HbufShared *hbuf = NULL;
static HTAB *hbuf_table = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* ---------------------------------------------------------------------------
 * Backend-local state: what this transaction will publish at commit
 * ---------------------------------------------------------------------------
 */
typedef enum HbufOpKind
{
	OP_BEAT,					/* a heartbeat */
	OP_CREATE,					/* a session opened: make its entry */
	OP_END						/* a session ended: drop its entry */
} HbufOpKind;

typedef struct HbufOp
{
	int64		id;
	int			level;			/* subtransaction nesting level */
	HbufOpKind	kind;
	TimestampTz ts;
	int64		bytes;
} HbufOp;

/*
 * The sum of this transaction's ops per id, for its own live reads, and
 * whether it opened or ended the session
 */
typedef struct HbufPending
{
	int64		id;
	TimestampTz last_comm;
	int64		recent;
	bool		has_recent;
	int64		add;
	bool		created;
	bool		ended;
} HbufPending;

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

static MemoryContext pending_cxt = NULL;
static HbufOp *ops = NULL;
static int	nops = 0;
static int	maxops = 0;
static HTAB *pending = NULL;
static bool callbacks_registered = false;

static HbufFlushed *flushed = NULL;
static int	nflushed = 0;
static bool flushed_applied = false;

/* one-entry cache for the three live functions called on one row */
static struct
{
	bool		valid;
	int64		id;
	TimestampTz stmt;
	int			nops;
	bool		found;
	TimestampTz last_comm;
	int64		recent;
	bool		has_recent;
	int64		add;
}			live_cache;

/* one-entry cache of a flush xid's commit state */
static TransactionId committed_xid = InvalidTransactionId;

static Size
hbuf_shmem_size(void)
{
	return add_size(MAXALIGN(sizeof(HbufShared)),
					hash_estimate_size(session_heartbeat_slots, sizeof(HbufEntry)));
}

static void
hbuf_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	if (session_heartbeat_slots > 0)
	{
		RequestAddinShmemSpace(hbuf_shmem_size());
		RequestNamedLWLockTranche("session heartbeat buffer", HBUF_PARTITIONS);
	}
}

static void
hbuf_shmem_startup(void)
{
	bool		found;
	HASHCTL		info;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	if (session_heartbeat_slots <= 0)
		return;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	hbuf = ShmemInitStruct("session heartbeat buffer", sizeof(HbufShared), &found);
	if (!found)
	{
		hbuf->database = InvalidOid;
		hbuf->relid = InvalidOid;
		hbuf->slots = session_heartbeat_slots;
		pg_atomic_init_u32(&hbuf->used, 0);
		pg_atomic_init_u64(&hbuf->flushes, 0);
		pg_atomic_init_u64(&hbuf->flushed_rows, 0);
		pg_atomic_init_u64(&hbuf->table_path, 0);
		pg_atomic_init_u64(&hbuf->last_flush, 0);
		hbuf->locks = GetNamedLWLockTranche("session heartbeat buffer");
	}
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(int64);
	info.entrysize = sizeof(HbufEntry);
	info.num_partitions = HBUF_PARTITIONS;
	hbuf_table = ShmemInitHash("session heartbeat entries",
							   session_heartbeat_slots, session_heartbeat_slots,
							   &info, HASH_ELEM | HASH_BLOBS | HASH_PARTITION | HASH_FIXED_SIZE);
	LWLockRelease(AddinShmemInitLock);
}

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
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = hbuf_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = hbuf_shmem_startup;
}

/* The sessions table of this database now (InvalidOid if none) */
static Oid
sessions_relid(void)
{
	Oid			nsp = get_namespace_oid(HBUF_SCHEMA, true);

	return OidIsValid(nsp) ? get_relname_relid(HBUF_TABLE_NAME, nsp) : InvalidOid;
}

/*
 * Do entries of this database live in the buffer?  Only in the worker's
 * database, for the sessions table the worker attached the buffer to (ids
 * start again at 1 when the extension is created again).  Answered once per
 * statement.
 */
static bool
hbuf_here(void)
{
	static TimestampTz stmt = 0;
	static LocalTransactionId lxid = InvalidLocalTransactionId;
	static bool answer = false;

	if (hbuf == NULL || !OidIsValid(MyDatabaseId) || hbuf->database != MyDatabaseId ||
		!OidIsValid(hbuf->relid))
		return false;
	if (stmt != GetCurrentStatementStartTimestamp() || lxid != MyProc->lxid)
	{
		stmt = GetCurrentStatementStartTimestamp();
		lxid = MyProc->lxid;
		answer = !RecoveryInProgress() && sessions_relid() == hbuf->relid;
	}
	return answer;
}

/* Do heartbeats of this backend go to the buffer? */
bool
session_hbuf_buffering(void)
{
	return session_heartbeat_flush_interval > 0 && hbuf_here();
}

static inline int
stripe_of(int64 id)
{
	return (int) ((uint64) id % HBUF_STRIPES);
}

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

static inline LWLock *
partition_lock(uint32 hashcode)
{
	return &hbuf->locks[hashcode % HBUF_PARTITIONS].lock;
}

static inline int64
add_saturating(int64 a, int64 b)
{
	int64		r;

	if (pg_add_s64_overflow(a, b, &r))
		return b > 0 ? PG_INT64_MAX : PG_INT64_MIN;
	return r;
}

/* ---------------------------------------------------------------------------
 * Transaction callbacks
 * ---------------------------------------------------------------------------
 */

static void
pending_reset(void)
{
	if (pending_cxt != NULL)
		MemoryContextReset(pending_cxt);
	ops = NULL;
	nops = maxops = 0;
	pending = NULL;
	live_cache.valid = false;
}

/* Add one op to the sums of its id. */
static void
pending_apply(HbufPending *p, HbufOp *op)
{
	if (op->kind == OP_CREATE)
		p->created = true;
	if (op->kind == OP_END)
		p->ended = true;
	if (op->kind != OP_BEAT)
		return;
	if (op->ts > p->last_comm)
		p->last_comm = op->ts;
	p->recent = op->bytes;
	p->has_recent = true;
	p->add = add_saturating(p->add, op->bytes);
}

/* Keep the sums up to date once they are kept in a hash table. */
static void
pending_add_to(HbufOp *op)
{
	HbufPending *p;
	bool		found;

	if (pending == NULL)
		return;
	p = hash_search(pending, &op->id, HASH_ENTER, &found);
	if (!found)
	{
		memset(p, 0, sizeof(HbufPending));
		p->id = op->id;
	}
	pending_apply(p, op);
}

/* Few ops (a single heartbeat's transaction): sums by a scan, no hash table */
#define PENDING_SCAN_MAX	16

/* This transaction's sums for id, NULL when it did nothing to id */
static HbufPending *
pending_find(int64 id)
{
	static HbufPending one;
	bool		found = false;

	if (nops == 0)
		return NULL;
	if (pending == NULL && nops <= PENDING_SCAN_MAX)
	{
		memset(&one, 0, sizeof(one));
		one.id = id;
		for (int i = 0; i < nops; i++)
		{
			if (ops[i].id == id)
			{
				pending_apply(&one, &ops[i]);
				found = true;
			}
		}
		return found ? &one : NULL;
	}
	if (pending == NULL)
	{
		HASHCTL		info;

		memset(&info, 0, sizeof(info));
		info.keysize = sizeof(int64);
		info.entrysize = sizeof(HbufPending);
		info.hcxt = pending_cxt;
		pending = hash_create("session pending heartbeats", nops, &info,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		for (int i = 0; i < nops; i++)
			pending_add_to(&ops[i]);
	}
	return hash_search(pending, &id, HASH_FIND, NULL);
}

/* Apply one op to shared memory (at commit: must not fail). */
static void
publish(HbufOp *op)
{
	uint32		hashcode = get_hash_value(hbuf_table, &op->id);
	LWLock	   *lock = partition_lock(hashcode);
	HbufEntry  *e;
	bool		found;

	LWLockAcquire(lock, LW_EXCLUSIVE);
	if (op->kind == OP_END)
	{
		if (hash_search_with_hash_value(hbuf_table, &op->id, hashcode, HASH_REMOVE, NULL))
			pg_atomic_fetch_sub_u32(&hbuf->used, 1);
	}
	else if (op->kind == OP_CREATE)
	{
		if (pg_atomic_fetch_add_u32(&hbuf->used, 1) >= (uint32) hbuf->slots)
			pg_atomic_fetch_sub_u32(&hbuf->used, 1);
		else
		{
			e = hash_search_with_hash_value(hbuf_table, &op->id, hashcode, HASH_ENTER_NULL, &found);
			if (e == NULL || found)
				pg_atomic_fetch_sub_u32(&hbuf->used, 1);
			if (e != NULL && !found)
			{
				e->last_comm = 0;
				e->flushed_last_comm = 0;
				e->recent = 0;
				e->has_recent = false;
				e->recent_dirty = false;
				e->add = 0;
				e->flush_xid = InvalidTransactionId;
				e->flush_sub = 0;
			}
		}
	}
	else
	{
		/* the entry was made (or found) while this transaction held its stripe */
		e = hash_search_with_hash_value(hbuf_table, &op->id, hashcode, HASH_FIND, NULL);
		if (e != NULL)
		{
			if (op->ts > e->last_comm)
				e->last_comm = op->ts;
			e->recent = op->bytes;
			e->has_recent = true;
			e->recent_dirty = true;
			e->add = add_saturating(e->add, op->bytes);
		}
	}
	LWLockRelease(lock);
}

/* The worker's flush, at PRE_COMMIT: what was written leaves the entries. */
static void
flushed_apply(bool undo)
{
	TransactionId xid = undo ? InvalidTransactionId : GetTopTransactionIdIfAny();

	for (int i = 0; i < nflushed; i++)
	{
		HbufFlushed *f = &flushed[i];
		uint32		hashcode = get_hash_value(hbuf_table, &f->id);
		LWLock	   *lock = partition_lock(hashcode);
		HbufEntry  *e;

		LWLockAcquire(lock, LW_EXCLUSIVE);
		e = hash_search_with_hash_value(hbuf_table, &f->id, hashcode, HASH_FIND, NULL);
		if (e != NULL && f->gone && !undo)
		{
			hash_search_with_hash_value(hbuf_table, &f->id, hashcode, HASH_REMOVE, NULL);
			pg_atomic_fetch_sub_u32(&hbuf->used, 1);
		}
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
		LWLockRelease(lock);
	}
}

static void
hbuf_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_PREPARE:
			if (nops > 0)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot prepare a transaction that buffered heartbeats or opened or ended sessions"),
						 errhint("Set session.heartbeat_flush_interval to 0 for two-phase transactions.")));
			break;
		case XACT_EVENT_PRE_COMMIT:
			if (nflushed > 0 && hbuf != NULL)
			{
				flushed_apply(false);
				flushed_applied = true;
			}
			break;
		case XACT_EVENT_COMMIT:
			if (hbuf != NULL)
			{
				for (int i = 0; i < nops; i++)
					publish(&ops[i]);
			}
			pending_reset();
			nflushed = 0;
			flushed_applied = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			if (flushed_applied && hbuf != NULL)
				flushed_apply(true);
			pending_reset();
			nflushed = 0;
			flushed_applied = false;
			break;
		default:
			break;
	}
}

static void
hbuf_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					  SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();

	if (nops == 0)
		return;
	if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		for (int i = nops - 1; i >= 0 && ops[i].level >= level; i--)
			ops[i].level = level - 1;
	}
	else if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		int			keep = nops;

		while (keep > 0 && ops[keep - 1].level >= level)
			keep--;
		if (keep == nops)
			return;
		nops = keep;
		/* the sums are made again, without the rolled-back part, when needed */
		if (pending != NULL)
		{
			hash_destroy(pending);
			pending = NULL;
		}
		live_cache.valid = false;
	}
}

static void
ensure_callbacks(void)
{
	if (callbacks_registered)
		return;
	pending_cxt = AllocSetContextCreate(TopMemoryContext, "session heartbeat buffer",
										ALLOCSET_DEFAULT_SIZES);
	RegisterXactCallback(hbuf_xact_callback, NULL);
	RegisterSubXactCallback(hbuf_subxact_callback, NULL);
	callbacks_registered = true;
}

static void
record_op(int64 id, HbufOpKind kind, int64 bytes)
{
	HbufOp	   *op;

	ensure_callbacks();
	if (nops == maxops)
	{
		int			newmax = maxops == 0 ? 64 : maxops * 2;

		if (ops == NULL)
			ops = MemoryContextAlloc(pending_cxt, sizeof(HbufOp) * newmax);
		else
			ops = repalloc(ops, sizeof(HbufOp) * newmax);
		maxops = newmax;
	}
	op = &ops[nops++];
	op->id = id;
	op->level = GetCurrentTransactionNestLevel();
	op->kind = kind;
	op->ts = GetCurrentStatementStartTimestamp();
	op->bytes = bytes;
	pending_add_to(op);
	live_cache.valid = false;
}

/* ---------------------------------------------------------------------------
 * Heartbeats
 * ---------------------------------------------------------------------------
 */


/* Is there an entry for id?  Caller holds the id's stripe. */
static bool
entry_exists(int64 id)
{
	uint32		hashcode = get_hash_value(hbuf_table, &id);
	LWLock	   *lock = partition_lock(hashcode);
	bool		found;

	LWLockAcquire(lock, LW_SHARED);
	(void) hash_search_with_hash_value(hbuf_table, &id, hashcode, HASH_FIND, &found);
	LWLockRelease(lock);
	return found;
}

/* Make an empty entry; false when every slot is taken. */
static bool
entry_create(int64 id)
{
	uint32		hashcode = get_hash_value(hbuf_table, &id);
	LWLock	   *lock = partition_lock(hashcode);
	HbufEntry  *e;
	bool		found;

	if (pg_atomic_fetch_add_u32(&hbuf->used, 1) >= (uint32) hbuf->slots)
	{
		pg_atomic_fetch_sub_u32(&hbuf->used, 1);
		return false;
	}
	LWLockAcquire(lock, LW_EXCLUSIVE);
	e = hash_search_with_hash_value(hbuf_table, &id, hashcode, HASH_ENTER_NULL, &found);
	if (e != NULL && !found)
	{
		e->last_comm = 0;
		e->flushed_last_comm = 0;
		e->recent = 0;
		e->has_recent = false;
		e->recent_dirty = false;
		e->add = 0;
		e->flush_xid = InvalidTransactionId;
		e->flush_sub = 0;
	}
	LWLockRelease(lock);
	if (e == NULL || found)
		pg_atomic_fetch_sub_u32(&hbuf->used, 1);
	return e != NULL;
}

/*
 * Which of ids (sorted) are open sessions, under a snapshot taken now (so a
 * close that committed while we waited for the stripe is seen even in a
 * repeatable read transaction).  Marks open[i].
 */
static void
find_open(int64 *ids, int n, bool *open)
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
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r],
													 SPI_tuptable->tupdesc, 1, &isnull));

		for (int i = 0; i < n; i++)
		{
			if (ids[i] == id)
				open[i] = true;
		}
	}
	session_spi_finish(&spi);
	pfree(elems);
}

/*
 * Buffer one heartbeat.  HBUF_TABLE: the caller writes the row (it still
 * holds the stripe, which changes nothing for the table path).
 */
/*
 * A session that this transaction ended is not open; one that it opened has
 * no entry before commit, so its heartbeats write the row (rare).
 */
static HbufResult
pending_state(int64 id)
{
	HbufPending *p = pending_find(id);

	if (p != NULL && p->ended)
		return HBUF_NOT_OPEN;
	if (p != NULL && p->created)
		return HBUF_TABLE;
	return HBUF_BUFFERED;
}

HbufResult
session_hbuf_heartbeat(int64 id, int64 bytes)
{
	bool		open;
	HbufResult	own;

	session_check_installed();
	own = pending_state(id);
	if (own != HBUF_BUFFERED)
		return own;
	(void) lock_stripe(stripe_of(id), RowExclusiveLock, true);
	if (!entry_exists(id))
	{
		find_open(&id, 1, &open);
		if (!open)
			return HBUF_NOT_OPEN;
		if (!entry_create(id))
		{
			session_hbuf_count_table_path(1);
			return HBUF_TABLE;
		}
	}
	record_op(id, OP_BEAT, bytes);
	return HBUF_BUFFERED;
}

/*
 * Buffer a batch (ids sorted and distinct).  Sets *buffered to how many
 * were buffered; the ids and bytes that must take the table path are moved
 * to the front of the arrays, and their number is returned.
 */
int
session_hbuf_heartbeat_many(int64 *ids, int64 *bytes, int n, int64 *buffered)
{
	uint64		stripes = 0;
	int64	   *missing = palloc(sizeof(int64) * n);
	int64	   *missing_bytes = palloc(sizeof(int64) * n);
	int			nmissing = 0;
	int			ntable = 0;

	session_check_installed();
	*buffered = 0;
	for (int i = 0; i < n; i++)
		stripes |= UINT64CONST(1) << stripe_of(ids[i]);
	/* ascending, like every batch: two batches cannot deadlock */
	for (int s = 0; s < HBUF_STRIPES; s++)
	{
		if (stripes & (UINT64CONST(1) << s))
			(void) lock_stripe(s, RowExclusiveLock, true);
	}

	for (int i = 0; i < n; i++)
	{
		HbufResult	own = pending_state(ids[i]);

		if (own == HBUF_NOT_OPEN)
			continue;
		if (own == HBUF_TABLE)
		{
			/* ntable <= i: the front of the arrays is free */
			ids[ntable] = ids[i];
			bytes[ntable++] = bytes[i];
			continue;
		}
		if (entry_exists(ids[i]))
		{
			record_op(ids[i], OP_BEAT, bytes[i]);
			(*buffered)++;
		}
		else
		{
			missing[nmissing] = ids[i];
			missing_bytes[nmissing++] = bytes[i];
		}
	}

	if (nmissing > 0)
	{
		bool	   *open = palloc(sizeof(bool) * nmissing);

		find_open(missing, nmissing, open);
		for (int i = 0; i < nmissing; i++)
		{
			if (!open[i])
				continue;
			if (entry_create(missing[i]))
			{
				record_op(missing[i], OP_BEAT, missing_bytes[i]);
				(*buffered)++;
			}
			else
			{
				ids[ntable] = missing[i];
				bytes[ntable++] = missing_bytes[i];
			}
		}
		pfree(open);
	}
	pfree(missing);
	pfree(missing_bytes);
	if (ntable > 0)
		session_hbuf_count_table_path(ntable);
	return ntable;
}

void
session_hbuf_count_table_path(int64 n)
{
	if (hbuf != NULL)
		pg_atomic_fetch_add_u64(&hbuf->table_path, (uint64) n);
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
		record_op(id, OP_CREATE, 0);
}

/* Wait until no heartbeat of id's stripe is in flight; hold it to the end. */
void
session_hbuf_lock_for_end(int64 id)
{
	if (hbuf_here())
		(void) lock_stripe(stripe_of(id), ShareLock, true);
}

/*
 * The stripes of several sessions about to end, in ascending order (the
 * order batches of heartbeats take them in): ending them one by one, in
 * another order, could deadlock with a batch.
 */
void
session_hbuf_lock_ids_for_end(const int64 *ids, int n)
{
	uint64		stripes = 0;

	if (!hbuf_here())
		return;
	for (int i = 0; i < n; i++)
		stripes |= UINT64CONST(1) << stripe_of(ids[i]);
	for (int s = 0; s < HBUF_STRIPES; s++)
	{
		if (stripes & (UINT64CONST(1) << s))
			(void) lock_stripe(s, ShareLock, true);
	}
}

void
session_hbuf_lock_all_for_end(void)
{
	if (!hbuf_here())
		return;
	for (int s = 0; s < HBUF_STRIPES; s++)
		(void) lock_stripe(s, ShareLock, true);
}

/*
 * Take, without waiting, the stripes that no heartbeat holds now; returns
 * the mask of the stripes taken (bit id % 64), every bit when there is no
 * buffer here.
 */
int64
session_hbuf_lock_for_expiry(void)
{
	uint64		mask = 0;

	if (!hbuf_here())
		return -1;
	for (int s = 0; s < HBUF_STRIPES; s++)
	{
		if (lock_stripe(s, ShareLock, false))
			mask |= UINT64CONST(1) << s;
	}
	return (int64) mask;
}

/* The rows in SPI_tuptable (id first) ended: drop their entries at commit. */
void
session_hbuf_ended_rows(void)
{
	if (!hbuf_here() || SPI_tuptable == NULL)
		return;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
													 SPI_tuptable->tupdesc, 1, &isnull));

		record_op(id, OP_END, 0);
	}
}

/* ---------------------------------------------------------------------------
 * Live values
 * ---------------------------------------------------------------------------
 */

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
	LWLock	   *lock;
	HbufEntry  *e;
	TransactionId xid = InvalidTransactionId;
	int64		sub = 0;
	HbufPending *p;

	if (live_cache.valid && live_cache.id == id && live_cache.stmt == stmt &&
		live_cache.nops == nops)
		return live_cache.found;

	live_cache.valid = true;
	live_cache.id = id;
	live_cache.stmt = stmt;
	live_cache.nops = nops;
	live_cache.found = false;
	live_cache.last_comm = 0;
	live_cache.recent = 0;
	live_cache.has_recent = false;
	live_cache.add = 0;

	hashcode = get_hash_value(hbuf_table, &id);
	lock = partition_lock(hashcode);
	LWLockAcquire(lock, LW_SHARED);
	e = hash_search_with_hash_value(hbuf_table, &id, hashcode, HASH_FIND, NULL);
	if (e != NULL)
	{
		live_cache.found = true;
		live_cache.last_comm = e->last_comm;
		live_cache.recent = e->recent;
		live_cache.has_recent = e->has_recent;
		live_cache.add = e->add;
		xid = e->flush_xid;
		sub = e->flush_sub;
	}
	LWLockRelease(lock);
	if (e != NULL && sub != 0 && !flush_visible(xid))
		live_cache.add = add_saturating(live_cache.add, sub);

	p = pending_find(id);
	if (p != NULL && p->has_recent)
	{
		live_cache.found = true;
		if (p->last_comm > live_cache.last_comm)
			live_cache.last_comm = p->last_comm;
		live_cache.recent = p->recent;
		live_cache.has_recent = true;
		live_cache.add = add_saturating(live_cache.add, p->add);
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
		PG_RETURN_INT64(add_saturating(stored, live_cache.add));
	PG_RETURN_INT64(stored);
}

/* ---------------------------------------------------------------------------
 * The flush (background worker)
 * ---------------------------------------------------------------------------
 */


static int
flushed_cmp(const void *a, const void *b)
{
	int64		x = ((const HbufFlushed *) a)->id;
	int64		y = ((const HbufFlushed *) b)->id;

	return (x > y) - (x < y);
}

/* The worker serves this database: heartbeats here may buffer from now on. */
void
session_hbuf_worker_attach(void)
{
	if (hbuf != NULL && hbuf->database != MyDatabaseId)
	{
		hbuf->relid = InvalidOid;
		hbuf->database = MyDatabaseId;
	}
}

/*
 * In a transaction: attach the buffer to the sessions table that exists
 * now; entries of a table that was dropped (the extension created again)
 * are forgotten, since their ids will be reused.
 */
static void
attach_table(void)
{
	Oid			relid = sessions_relid();
	HASH_SEQ_STATUS status;
	HbufEntry  *e;

	if (relid == hbuf->relid)
		return;
	for (int i = 0; i < HBUF_PARTITIONS; i++)
		LWLockAcquire(&hbuf->locks[i].lock, LW_EXCLUSIVE);
	hash_seq_init(&status, hbuf_table);
	while ((e = hash_seq_search(&status)) != NULL)
	{
		hash_search(hbuf_table, &e->id, HASH_REMOVE, NULL);
		pg_atomic_fetch_sub_u32(&hbuf->used, 1);
	}
	hbuf->relid = relid;
	for (int i = HBUF_PARTITIONS - 1; i >= 0; i--)
		LWLockRelease(&hbuf->locks[i].lock);
}

/* Write one batch in its own transaction; returns the rows written. */
static int
flush_batch(HbufFlushed *batch, int n)
{
	SessionSpi	spi;
	uint64		got = 0;
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

	for (int s = 0; s < HBUF_STRIPES; s++)
	{
		if (lock_stripe(s, RowExclusiveLock, false))
			got |= UINT64CONST(1) << s;
	}
	/* keep only sessions of the stripes we hold; a close holds the others */
	for (int i = 0; i < n; i++)
	{
		if (!(got & (UINT64CONST(1) << stripe_of(batch[i].id))))
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
			bool		isnull;
			HbufFlushed key;
			HbufFlushed *f;

			key.id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r],
												 SPI_tuptable->tupdesc, 1, &isnull));
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

		find_open(rest, nrest, open);
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
	attach_table();
	CommitTransactionCommand();
	if (!write || pg_atomic_read_u32(&hbuf->used) == 0)
		return;

	cap = (int) pg_atomic_read_u32(&hbuf->used) + HBUF_PARTITIONS;
	all = palloc(sizeof(HbufFlushed) * cap);
	for (int i = 0; i < HBUF_PARTITIONS; i++)
		LWLockAcquire(&hbuf->locks[i].lock, LW_SHARED);
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
	for (int i = HBUF_PARTITIONS - 1; i >= 0; i--)
		LWLockRelease(&hbuf->locks[i].lock);
	if (n == 0)
		return;

	qsort(all, n, sizeof(HbufFlushed), flushed_cmp);
	ensure_callbacks();
	for (int off = 0; off < n; off += HBUF_FLUSH_BATCH)
	{
		CHECK_FOR_INTERRUPTS();
		rows += flush_batch(all + off, Min(HBUF_FLUSH_BATCH, n - off));
	}
	pg_atomic_fetch_add_u64(&hbuf->flushes, 1);
	pg_atomic_fetch_add_u64(&hbuf->flushed_rows, (uint64) rows);
	pg_atomic_write_u64(&hbuf->last_flush, (uint64) GetCurrentTimestamp());
	pfree(all);
}

/* ---------------------------------------------------------------------------
 * Monitoring
 * ---------------------------------------------------------------------------
 */

Datum
session_heartbeat_buffer_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[7];
	bool		nulls[7] = {false, false, false, false, false, false, false};
	TimestampTz last;

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
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
