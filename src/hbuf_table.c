/*-------------------------------------------------------------------------
 *
 * hbuf_table.c
 *	  The heartbeat buffer's shared memory: a hash table of entries keyed by
 *	  session id (session.heartbeat_slots of them), split into
 *	  HBUF_PARTITIONS partitions each guarded by an LWLock, and the counters
 *	  that session.heartbeat_buffer_status() reports (hbuf_live.c).
 *
 *	  Only primitives live here: find, create and remove an entry under its
 *	  partition lock, claim and release it for a transaction, take every
 *	  partition, the database and sessions table the entries belong to, and
 *	  which of a list of ids have a row.  When an entry may be created,
 *	  claimed or removed is decided by the entry points (heartbeat_buffer.c)
 *	  and the commit of the transaction that asked (hbuf_pending.c).
 *
 *	  The table is sized once, at server start; when every slot is taken an
 *	  entry cannot be made and the heartbeat writes its row (the table path,
 *	  counted in table_path).
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"
#include "hbuf_internal.h"

#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "queries.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

/* The table the entries belong to */
#define HBUF_SCHEMA			"session_storage"
#define HBUF_TABLE_NAME		"sessions"

HbufShared *hbuf = NULL;
HTAB	   *hbuf_table = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

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
		SetInvalidVirtualTransactionId(hbuf->flusher);
		pg_atomic_init_u64(&hbuf->flushed_upto, 0);
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

/* While preloading: ask for the shared memory and set it up at startup. */
void
hbuf_install_shmem_hooks(void)
{
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
bool
hbuf_here(void)
{
	static TimestampTz stmt = 0;
	static LocalTransactionId lxid = InvalidLocalTransactionId;
	static bool answer = false;

	if (hbuf == NULL || !OidIsValid(MyDatabaseId) || hbuf->database != MyDatabaseId ||
		!OidIsValid(hbuf->relid))
		return false;
	if (stmt != GetCurrentStatementStartTimestamp() || lxid != SESSION_MY_LXID)
	{
		stmt = GetCurrentStatementStartTimestamp();
		lxid = SESSION_MY_LXID;
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

/* The worker serves this database: heartbeats here may buffer from now on. */
void
session_hbuf_worker_attach(void)
{
	if (hbuf != NULL && hbuf->database != MyDatabaseId)
	{
		hbuf->relid = InvalidOid;
		hbuf->database = MyDatabaseId;
		/* the flush age counts from here until the first flush */
		hbuf_note_flush_pass(GetCurrentTimestamp());
	}
}

/*
 * In a transaction: attach the buffer to the sessions table that exists
 * now; entries of a table that was dropped (the extension created again)
 * are forgotten, since their ids will be reused.
 */
void
hbuf_attach_table(void)
{
	Oid			relid = sessions_relid();
	HASH_SEQ_STATUS status;
	HbufEntry  *e;

	if (relid == hbuf->relid)
		return;
	hbuf_lock_partitions(LW_EXCLUSIVE);
	hash_seq_init(&status, hbuf_table);
	while ((e = hash_seq_search(&status)) != NULL)
	{
		hash_search(hbuf_table, &e->id, HASH_REMOVE, NULL);
		pg_atomic_fetch_sub_u32(&hbuf->used, 1);
	}
	hbuf->relid = relid;
	hbuf_unlock_partitions();
}

/* ---------------------------------------------------------------------------
 * Entries
 * ---------------------------------------------------------------------------
 */

static inline LWLock *
partition_lock(uint32 hashcode)
{
	return &hbuf->locks[HBUF_PARTITION_OF(hashcode)].lock;
}

/*
 * Take the partition lock of id and return its entry (NULL if none); the
 * lock stays held until hbuf_entry_unlock(*hashcode).
 */
HbufEntry *
hbuf_entry_lock(int64 id, LWLockMode mode, uint32 *hashcode)
{
	*hashcode = get_hash_value(hbuf_table, &id);
	LWLockAcquire(partition_lock(*hashcode), mode);
	return hash_search_with_hash_value(hbuf_table, &id, *hashcode, HASH_FIND, NULL);
}

void
hbuf_entry_unlock(uint32 hashcode)
{
	LWLockRelease(partition_lock(hashcode));
}

/* Remove the entry of id, if any; its partition is locked exclusively. */
void
hbuf_entry_remove_locked(int64 id, uint32 hashcode)
{
	if (hash_search_with_hash_value(hbuf_table, &id, hashcode, HASH_REMOVE, NULL))
		pg_atomic_fetch_sub_u32(&hbuf->used, 1);
}

/* The hash code of id in the table, which also names its partition */
uint32
hbuf_hash(int64 id)
{
	return get_hash_value(hbuf_table, &id);
}

/* Lock one partition (by a hash code of one of its ids) */
void
hbuf_partition_lock(uint32 hashcode, LWLockMode mode)
{
	LWLockAcquire(partition_lock(hashcode), mode);
}

/* The entry of id (NULL if none); its partition is locked. */
HbufEntry *
hbuf_entry_find_locked(int64 id, uint32 hashcode)
{
	return hash_search_with_hash_value(hbuf_table, &id, hashcode, HASH_FIND, NULL);
}

/*
 * Make an empty entry unless there is one, its partition locked
 * exclusively; false when every slot is taken.  Never fails with an error:
 * a commit callback calls it.
 */
bool
hbuf_entry_create_locked(int64 id, uint32 hashcode)
{
	HbufEntry  *e;
	bool		found;

	if (pg_atomic_fetch_add_u32(&hbuf->used, 1) >= (uint32) hbuf->slots)
	{
		pg_atomic_fetch_sub_u32(&hbuf->used, 1);
		return false;
	}
	e = hash_search_with_hash_value(hbuf_table, &id, hashcode, HASH_ENTER_NULL, &found);
	if (e != NULL && !found)
	{
		memset(((char *) e) + sizeof(int64), 0, sizeof(HbufEntry) - sizeof(int64));
		for (int i = 0; i < HBUF_FLUSH_HISTORY; i++)
			e->flush_xid[i] = InvalidTransactionId;
		for (int i = 0; i < HBUF_OWNERS; i++)
			pg_atomic_init_u64(&e->owners[i], 0);
	}
	if (e == NULL || found)
		pg_atomic_fetch_sub_u32(&hbuf->used, 1);
	return e != NULL;
}

/* ---------------------------------------------------------------------------
 * Owners
 *
 * An entry is owned by transactions (by their virtual ids, which every
 * transaction holds as a lock from start to end at no cost, and which
 * VirtualXactLock waits for as any heavyweight lock: the deadlock detector,
 * lock_timeout and cancel all see the wait).  A transaction that heartbeats
 * a session owns its entry until it ends, as an UPDATE would hold the row,
 * but shares it with other transactions that heartbeat the same session (up
 * to HBUF_OWNERS at once): heartbeats never conflict with each other.  One
 * that ends the session owns it alone, after every other owner has ended;
 * so does a heartbeat that made the entry, until its transaction ends (the
 * row may not exist).  Ownership is released by the transaction callback
 * at commit or abort, after the transaction's heartbeats are published and
 * before its locks are released, so whoever waited finds the entry
 * published, or gone.  The worker's flush marks the entries it writes
 * (flushing) without owning them: heartbeats go on beside it, an end waits
 * for it.
 * ---------------------------------------------------------------------------
 */

/*
 * The virtual transaction id of this backend's transaction, packed into the
 * 64 bits of an entry's owner place (hbuf_vxid_pack).  The commit and abort
 * callbacks, which release claims, run after the transaction has left the
 * proc array (MyProc no longer shows its local id) but before its vxid lock
 * is released: they get the id seen last while it ran.
 */
static uint64
my_owner(void)
{
	static uint64 last = 0;
	VirtualTransactionId now;

	GET_VXID_FROM_PGPROC(now, *MyProc);
	if (VirtualTransactionIdIsValid(now))
		last = hbuf_vxid_pack(now);
	return last;
}

bool
hbuf_owned_by_me(HbufEntry *e)
{
	uint64		me = my_owner();

	for (int i = 0; i < HBUF_OWNERS; i++)
	{
		if (pg_atomic_read_u64(&e->owners[i]) == me)
			return me != 0;
	}
	return false;
}

/* Does any transaction own the entry? */
bool
hbuf_entry_owned(HbufEntry *e)
{
	for (int i = 0; i < HBUF_OWNERS; i++)
	{
		if (pg_atomic_read_u64(&e->owners[i]) != 0)
			return true;
	}
	return false;
}

/*
 * Claim e for this transaction (me), its partition locked: shared for a
 * heartbeat, exclusively to end the session.  True with *result when
 * claimed; false with *wait_for, the transaction to wait for.
 *
 * A heartbeat takes a free place with a compare-and-swap, so heartbeats of
 * different sessions, and up to HBUF_OWNERS transactions that heartbeat the
 * same session, never wait for each other.  Whatever else writes the owners
 * or the alone flag (ending, making, releasing, the flush) holds the
 * partition lock exclusively: under a shared lock an owner's place, once
 * taken, stays taken, and the flag does not change.
 */
static bool
claim_locked(HbufEntry *e, uint64 me, bool end, HbufClaim *result,
			 VirtualTransactionId *wait_for)
{
	uint64		other = 0;
	bool		mine = false;

	for (int i = 0; i < HBUF_OWNERS; i++)
	{
		uint64		o = pg_atomic_read_u64(&e->owners[i]);

		if (o == me)
			mine = true;
		else if (o != 0 && other == 0)
			other = o;
	}
	if (end)
	{
		/* alone, and not while the flush writes it */
		if (other != 0)
			*wait_for = hbuf_vxid_unpack(other);
		else if (e->flushing)
			*wait_for = hbuf->flusher;
		else
		{
			if (!mine)
				pg_atomic_write_u64(&e->owners[0], me);
			e->alone = true;
			*result = mine ? CLAIMED_ALREADY : CLAIMED;
			return true;
		}
		return false;
	}
	if (mine)
	{
		*result = CLAIMED_ALREADY;
		return true;
	}
	if (e->alone)
	{
		/* one owner, not us */
		*wait_for = hbuf_vxid_unpack(other);
		return false;
	}
	for (int i = 0; i < HBUF_OWNERS; i++)
	{
		uint64		expected = 0;

		if (pg_atomic_compare_exchange_u64(&e->owners[i], &expected, me))
		{
			*result = CLAIMED;
			return true;
		}
	}
	/* every place is taken (and stays taken while we hold the lock) */
	*wait_for = hbuf_vxid_unpack(pg_atomic_read_u64(&e->owners[0]));
	return false;
}

/*
 * Claim the entry of id for this transaction.  Waits (unless kind is
 * CLAIM_END_NOWAIT) for the transaction that owns it (to end it: for every
 * one, and for the flush that writes it).  CLAIM_BEAT_CREATE makes a
 * missing entry (owned) when a slot is free.  The caller notes what it
 * claimed (hbuf_pending.c) so that it is released when the transaction
 * ends.  A heartbeat's claim of an existing entry, the common case, takes
 * the partition lock shared (claim_locked).
 */
HbufClaim
hbuf_entry_claim(int64 id, HbufClaimKind kind)
{
	bool		end = (kind == CLAIM_END || kind == CLAIM_END_NOWAIT);
	uint32		hashcode = hbuf_hash(id);

	for (;;)
	{
		HbufEntry  *e;
		VirtualTransactionId wait_for;
		HbufClaim	result;
		bool		created = false;
		bool		claimed;
		uint64		me = my_owner();

		if (!end)
		{
			hbuf_partition_lock(hashcode, LW_SHARED);
			e = hbuf_entry_find_locked(id, hashcode);
			claimed = e != NULL && claim_locked(e, me, false, &result, &wait_for);
			hbuf_entry_unlock(hashcode);
			if (claimed)
				return result;
			if (e == NULL && kind == CLAIM_BEAT)
				return CLAIM_ABSENT;
		}
		if (end || e == NULL)
		{
			hbuf_partition_lock(hashcode, LW_EXCLUSIVE);
			e = hbuf_entry_find_locked(id, hashcode);
			/* under the partition lock: nobody can make it meanwhile */
			if (e == NULL && kind == CLAIM_BEAT_CREATE &&
				hbuf_entry_create_locked(id, hashcode))
			{
				e = hbuf_entry_find_locked(id, hashcode);
				created = true;
			}
			claimed = e != NULL && claim_locked(e, me, end, &result, &wait_for);
			/* nobody shares an entry made for a row still to be found */
			if (created)
				e->alone = true;
			hbuf_entry_unlock(hashcode);
			if (e == NULL)
				return CLAIM_ABSENT;
			if (claimed)
				return created ? CLAIM_CREATED : result;
		}

		/* still running: give up, or wait for its end (then look again) */
		if (VirtualTransactionIdIsValid(wait_for) && !VirtualXactLock(wait_for, false))
		{
			if (kind == CLAIM_END_NOWAIT)
				return CLAIM_BUSY;
			(void) VirtualXactLock(wait_for, true);
			continue;
		}

		/*
		 * It ended.  Its end released the entry, unless it ended without
		 * (which only a crash, that resets shared memory anyway, could do):
		 * then take the entry over.
		 */
		hbuf_partition_lock(hashcode, LW_EXCLUSIVE);
		e = hbuf_entry_find_locked(id, hashcode);
		for (int i = 0; e != NULL && i < HBUF_OWNERS; i++)
		{
			if (pg_atomic_read_u64(&e->owners[i]) == hbuf_vxid_pack(wait_for))
			{
				ereport(DEBUG1,
						(errcode(ERRCODE_INTERNAL_ERROR),
						 errmsg_internal("heartbeat buffer entry " INT64_FORMAT " taken over from an ended transaction", id)));
				pg_atomic_write_u64(&e->owners[i], 0);
				e->alone = false;
			}
		}
		if (e != NULL && e->flushing && VirtualTransactionIdEquals(hbuf->flusher, wait_for))
			e->flushing = false;
		hbuf_entry_unlock(hashcode);
	}
}

/*
 * This transaction no longer owns the entry of id (removed with remove),
 * its partition locked exclusively.  Never fails with an error: a commit
 * callback calls it.
 */
void
hbuf_entry_release_locked(int64 id, uint32 hashcode, bool remove)
{
	HbufEntry  *e = hbuf_entry_find_locked(id, hashcode);
	uint64		me = my_owner();

	if (e == NULL || me == 0)
		return;
	for (int i = 0; i < HBUF_OWNERS; i++)
	{
		if (pg_atomic_read_u64(&e->owners[i]) != me)
			continue;
		if (remove)
			hbuf_entry_remove_locked(id, hashcode);
		else
		{
			pg_atomic_write_u64(&e->owners[i], 0);
			/* an owner alone is the only one */
			e->alone = false;
		}
		return;
	}
}

/* The same, taking the partition lock. */
void
hbuf_entry_release(int64 id, bool remove)
{
	uint32		hashcode = hbuf_hash(id);

	hbuf_partition_lock(hashcode, LW_EXCLUSIVE);
	hbuf_entry_release_locked(id, hashcode, remove);
	hbuf_entry_unlock(hashcode);
}

/* Every partition, in ascending order, to scan the whole table. */
void
hbuf_lock_partitions(LWLockMode mode)
{
	for (int i = 0; i < HBUF_PARTITIONS; i++)
		LWLockAcquire(&hbuf->locks[i].lock, mode);
}

void
hbuf_unlock_partitions(void)
{
	for (int i = HBUF_PARTITIONS - 1; i >= 0; i--)
		LWLockRelease(&hbuf->locks[i].lock);
}

/* ---------------------------------------------------------------------------
 * Rows
 * ---------------------------------------------------------------------------
 */

/*
 * Which of ids (sorted, distinct) are open sessions, under a snapshot taken
 * now (so a close that committed while we waited is seen even in a
 * repeatable read transaction).  Marks open[i].  With lock, the rows found
 * are locked FOR KEY SHARE: a close that deleted one and has not committed
 * is waited for (the row is then gone), and a close that comes later waits
 * for this transaction.  Sort and binary search: O((n + m) log n), checking
 * for interrupts.
 */
void
hbuf_find_open(int64 *ids, int n, bool *open, bool lock)
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
	rc = SPI_execute_snapshot(session_plan(lock ? &query_hbuf_lock_open_ids : &query_hbuf_open_ids),
							  values, NULL, GetLatestSnapshot(), InvalidSnapshot,
							  !lock, false, 0);
	if (rc < 0)
		elog(ERROR, "SPI_execute_snapshot failed: %s", SPI_result_code_string(rc));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		int64		id = hbuf_spi_id(r);
		int64	   *hit = bsearch(&id, ids, n, sizeof(int64), hbuf_id_cmp);

		if ((r & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (hit != NULL)
			open[hit - ids] = true;
	}
	session_spi_finish(&spi);
	pfree(elems);
}

/* ---------------------------------------------------------------------------
 * Status counters
 * ---------------------------------------------------------------------------
 */

void
session_hbuf_count_table_path(int64 n)
{
	if (hbuf != NULL)
		pg_atomic_fetch_add_u64(&hbuf->table_path, (uint64) n);
}

/* A flush ended, having written rows rows. */
void
hbuf_count_flush(int64 rows)
{
	pg_atomic_fetch_add_u64(&hbuf->flushes, 1);
	pg_atomic_fetch_add_u64(&hbuf->flushed_rows, (uint64) rows);
	pg_atomic_write_u64(&hbuf->last_flush, (uint64) GetCurrentTimestamp());
}

/*
 * A flush pass that started at start completed: everything buffered before
 * start is written (but for entries being ended: their end writes them).
 */
void
hbuf_note_flush_pass(TimestampTz start)
{
	pg_atomic_write_u64(&hbuf->flushed_upto, (uint64) start);
}

/* Milliseconds since the start of the last completed flush pass; -1: none */
int64
hbuf_flush_age_ms(void)
{
	TimestampTz upto;

	if (hbuf == NULL || !OidIsValid(hbuf->database))
		return -1;
	upto = (TimestampTz) pg_atomic_read_u64(&hbuf->flushed_upto);
	if (upto == 0)
		return -1;
	return Max(GetCurrentTimestamp() - upto, 0) / 1000;
}

/*
 * Has the worker stopped flushing?  No completed flush pass for
 * HBUF_STALE_INTERVALS intervals, and for at least HBUF_STALE_MIN_MS: a
 * worker that is restarting (its restart delay is 5 s) or in a
 * long expiry pass is not stale yet.  Heartbeats then write their rows, so
 * that what a crash can lose stays bounded while the worker is away.
 */
#define HBUF_STALE_INTERVALS	5
#define HBUF_STALE_MIN_MS		10000

bool
hbuf_flush_stale(void)
{
	int64		age = hbuf_flush_age_ms();

	return age >= 0 &&
		age > Max((int64) HBUF_STALE_INTERVALS * session_heartbeat_flush_interval,
				  HBUF_STALE_MIN_MS);
}
