/*-------------------------------------------------------------------------
 *
 * hbuf_internal.h
 *	  What the pieces of the heartbeat buffer share (heartbeat_buffer.c
 *	  and the hbuf_*.c files; the top of heartbeat_buffer.c says which does
 *	  what), and nothing the rest of the extension uses: that is
 *	  heartbeat_buffer.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef HBUF_INTERNAL_H
#define HBUF_INTERNAL_H

#include "heartbeat_buffer.h"

#include "access/xact.h"
#include "common/int.h"
#include "executor/spi.h"
#include "port/atomics.h"
#include "storage/lock.h"
#include "storage/lwlock.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

/* The partitions of the hash table (a power of two), and that of a hash code */
#define HBUF_PARTITIONS		64
#define HBUF_PARTITION_OF(hashcode)	((hashcode) % HBUF_PARTITIONS)

/*
 * Flushes of one entry whose commit some snapshot may not see yet: a reader
 * adds back the bytes of each one its snapshot does not see (hbuf_live.c).
 * An entry with that many is not flushed again until the oldest is visible
 * to every snapshot (hbuf_flush.c).
 */
#define HBUF_FLUSH_HISTORY	4

/*
 * Transactions that can own one entry at once: heartbeats of one session
 * from that many transactions share it; one more waits for one of them.
 */
#define HBUF_OWNERS			4

/* One session's buffered heartbeats, in shared memory */
typedef struct HbufEntry
{
	int64		id;				/* hash key */

	/*
	 * The transactions that own the entry (heartbeat_buffer.c), their
	 * virtual ids packed by hbuf_vxid_pack, 0: a free place.  Transactions
	 * that heartbeat the session share it; one that ends the session, or
	 * that made the entry for a row it has still to find, owns it alone.
	 * Next to the key: a claim reads one cache line.
	 */
	pg_atomic_uint64 owners[HBUF_OWNERS];
	bool		alone;			/* its one owner does not share it */
	bool		flushing;		/* the worker's flush is writing it */
	TimestampTz last_comm;		/* newest buffered last_comm, 0: none */
	TimestampTz flushed_last_comm;	/* newest last_comm written */
	int64		recent;			/* bytes of the latest buffered heartbeat */
	bool		has_recent;		/* recent is newer than the row's */
	bool		recent_dirty;	/* recent not written yet */
	int64		add;			/* bytes not yet in total_bytes_sent */
	/* flushes that subtracted bytes from add, invalid xid: a free place */
	TransactionId flush_xid[HBUF_FLUSH_HISTORY];
	int64		flush_sub[HBUF_FLUSH_HISTORY];
} HbufEntry;

typedef struct HbufShared
{
	Oid			database;		/* the worker's database; invalid until it runs */
	Oid			relid;			/* its sessions table: entries belong to it */
	pg_atomic_uint32 used;		/* entries in the table */
	pg_atomic_uint64 flushes;
	pg_atomic_uint64 flushed_rows;
	pg_atomic_uint64 table_path;
	pg_atomic_uint64 last_flush;	/* TimestampTz, 0: never */
	VirtualTransactionId flusher;	/* the transaction of the flush batch */
	pg_atomic_uint64 flushed_upto;	/* TimestampTz: start of the worker's last
									 * completed flush pass (or its attach), 0:
									 * never */
	int			slots;
	LWLockPadded *locks;
} HbufShared;

/* What a transaction does to a session, published at its commit */
typedef enum HbufOpKind
{
	OP_BEAT,					/* a heartbeat */
	OP_CREATE,					/* a session opened: make its entry */
	OP_END,						/* a session ended: drop its entry */
	OP_WROTE					/* a heartbeat wrote its row (write-through) */
} HbufOpKind;

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

static inline int64
hbuf_add_saturating(int64 a, int64 b)
{
	int64		r;

	if (pg_add_s64_overflow(a, b, &r))
		return b > 0 ? PG_INT64_MAX : PG_INT64_MIN;
	return r;
}

/*
 * A virtual transaction id in 64 bits, so that a claim can set an entry's
 * owner with one compare-and-swap; 0 stands for none (a valid id has a
 * local transaction id other than 0).
 */
static inline uint64
hbuf_vxid_pack(VirtualTransactionId v)
{
	if (!VirtualTransactionIdIsValid(v))
		return 0;
	return ((uint64) (uint32) SESSION_VXID_PROC(v) << 32) | (uint64) v.localTransactionId;
}

static inline VirtualTransactionId
hbuf_vxid_unpack(uint64 x)
{
	VirtualTransactionId v;

	SESSION_VXID_PROC(v) = (int32) (x >> 32);
	v.localTransactionId = (LocalTransactionId) (x & PG_UINT32_MAX);
	return v;
}

/* qsort and bsearch order of session ids */
static inline int
hbuf_id_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/* The session id in the first column of row r of SPI_tuptable */
static inline int64
hbuf_spi_id(uint64 r)
{
	bool		isnull;

	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r],
									   SPI_tuptable->tupdesc, 1, &isnull));
}

/* How a transaction asks for an entry (hbuf_entry_claim) */
typedef enum HbufClaimKind
{
	CLAIM_BEAT,					/* heartbeats: wait for the owner */
	CLAIM_BEAT_CREATE,			/* the same, making the entry when there is none */
	CLAIM_END,					/* ending the session: wait for the owner and the flush */
	CLAIM_END_NOWAIT			/* the same, but give up if either is there */
} HbufClaimKind;

/* What hbuf_entry_claim did */
typedef enum HbufClaim
{
	CLAIMED,					/* the entry is ours now */
	CLAIMED_ALREADY,			/* it already was */
	CLAIM_CREATED,				/* we made it; it is ours */
	CLAIM_ABSENT,				/* no entry (and none made: no slot, or not asked) */
	CLAIM_BUSY					/* CLAIM_END_NOWAIT: someone else has it */
} HbufClaim;

/*
 * Layers: each file calls only the files above it in this list, never one
 * below (no callbacks through pointers either).
 */

/* hbuf_table.c: NULL without shared_preload_libraries or with no slots */
extern HbufShared *hbuf;
extern HTAB *hbuf_table;

extern void hbuf_install_shmem_hooks(void);
extern bool hbuf_here(void);
extern uint32 hbuf_hash(int64 id);
extern void hbuf_partition_lock(uint32 hashcode, LWLockMode mode);
extern HbufEntry *hbuf_entry_lock(int64 id, LWLockMode mode, uint32 *hashcode);
extern void hbuf_entry_unlock(uint32 hashcode);
extern HbufEntry *hbuf_entry_find_locked(int64 id, uint32 hashcode);
extern void hbuf_entry_remove_locked(int64 id, uint32 hashcode);
extern bool hbuf_entry_create_locked(int64 id, uint32 hashcode);
extern HbufClaim hbuf_entry_claim(int64 id, HbufClaimKind kind);
extern void hbuf_entry_release_locked(int64 id, uint32 hashcode, bool remove);
extern void hbuf_entry_release(int64 id, bool remove);
extern bool hbuf_owned_by_me(HbufEntry *e);
extern bool hbuf_entry_owned(HbufEntry *e);
extern void hbuf_lock_partitions(LWLockMode mode);
extern void hbuf_unlock_partitions(void);
extern void hbuf_attach_table(void);
extern void hbuf_count_flush(int64 rows);
extern void hbuf_find_open(int64 *ids, int n, bool *open, bool lock);
extern void hbuf_note_flush_pass(TimestampTz start);
extern int64 hbuf_flush_age_ms(void);
extern bool hbuf_flush_stale(void);

/* hbuf_pending.c */
extern void hbuf_record_op(int64 id, HbufOpKind kind, int64 bytes);
extern void hbuf_note_owned(int64 id, bool created);
extern HbufPending *hbuf_pending_find(int64 id);
extern int	hbuf_pending_count(void);
extern uint64 hbuf_pending_generation(void);
extern void hbuf_pending_commit(void);
extern void hbuf_pending_abort(void);
extern void hbuf_pending_subxact(SubXactEvent event);

/* hbuf_flush.c: the worker's part of the transaction callback */
extern void hbuf_flush_pre_commit(void);
extern void hbuf_flush_end(bool aborted);

#endif							/* HBUF_INTERNAL_H */
