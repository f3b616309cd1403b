/*-------------------------------------------------------------------------
 *
 * hbuf_pending.c
 *	  What a transaction will publish to the heartbeat buffer at commit.
 *
 *	  Publish at commit.  A heartbeat only appends to a list kept by its
 *	  backend; the transaction callback (heartbeat_buffer.c) has the list
 *	  applied to shared memory at commit (hbuf_pending_commit) and dropped at
 *	  abort (hbuf_pending_abort), or drops the part of a subtransaction that
 *	  rolls back.  A rolled-back heartbeat therefore has no effect.
 *
 *	  The list holds ops (a heartbeat, a session opened, a session ended),
 *	  recorded by the entry points of heartbeat_buffer.c while their
 *	  transaction owns the entry of the session, and applied to the entries
 *	  of hbuf_table.c.  Beside it, the ids whose entries the transaction
 *	  claimed: they are released at commit, after the ops are published, and
 *	  at abort, also at the abort of the subtransaction that claimed them
 *	  (an id is noted once, at the level that first claimed it, so an outer
 *	  level never loses a claim it needs).  An entry that a heartbeat made
 *	  for a row still to be checked is removed at abort.  The transaction's
 *	  own reads see its ops through
 *	  hbuf_pending_find (hbuf_live.c), whose cache follows
 *	  hbuf_pending_generation.
 *
 *	  CommitTransaction runs the commit callbacks before it releases locks
 *	  (its virtual transaction id among them): that is what lets a close
 *	  that waits for the owner of an entry find every heartbeat of that
 *	  owner published or rolled back (hbuf_table.c).
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"
#include "hbuf_internal.h"

#include "access/xact.h"
#include "utils/memutils.h"

typedef struct HbufOp
{
	int64		id;
	uint32		hashcode;		/* of id in the shared table */
	int			level;			/* subtransaction nesting level */
	HbufOpKind	kind;
	TimestampTz ts;
	int64		bytes;
	int			next;			/* at commit: the next op of its partition */
} HbufOp;

static MemoryContext pending_cxt = NULL;
static HbufOp *ops = NULL;
static int	nops = 0;
static int	maxops = 0;
static HTAB *pending = NULL;
static uint64 generation = 0;

/* the entries this transaction claimed (hbuf_entry_claim) */
typedef struct HbufOwned
{
	int64		id;
	uint32		hashcode;		/* of id in the shared table */
	int			level;			/* subtransaction nesting level */
	bool		created;		/* made by the claim: removed at abort */
	int			next;			/* at the end: the next one of its partition */
} HbufOwned;

static HbufOwned *owned = NULL;
static int	nowned = 0;
static int	maxowned = 0;

/* Few ops (a single heartbeat's transaction): sums by a scan, no hash table */
#define PENDING_SCAN_MAX	16

static void
pending_reset(void)
{
	if (pending_cxt != NULL)
		MemoryContextReset(pending_cxt);
	ops = NULL;
	nops = maxops = 0;
	pending = NULL;
	owned = NULL;
	nowned = maxowned = 0;
	generation++;
}

/* Add one op to the sums of its id. */
static void
pending_apply(HbufPending *p, HbufOp *op)
{
	if (op->kind == OP_CREATE)
		p->created = true;
	if (op->kind == OP_END)
		p->ended = true;
	if (op->kind == OP_WROTE)
	{
		/* its row holds the bytes; only recent is newer than the entry's */
		p->recent = op->bytes;
		p->has_recent = true;
		return;
	}
	if (op->kind != OP_BEAT)
		return;
	if (op->ts > p->last_comm)
		p->last_comm = op->ts;
	p->recent = op->bytes;
	p->has_recent = true;
	p->add = hbuf_add_saturating(p->add, op->bytes);
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

/* This transaction's sums for id, NULL when it did nothing to id */
HbufPending *
hbuf_pending_find(int64 id)
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

/* How many ops this transaction recorded */
int
hbuf_pending_count(void)
{
	return nops;
}

/* Changes whenever the sums of hbuf_pending_find may have changed */
uint64
hbuf_pending_generation(void)
{
	return generation;
}

/* Apply one op to shared memory, its partition locked (at commit: must not fail). */
static void
publish_locked(HbufOp *op)
{
	HbufEntry  *e;

	switch (op->kind)
	{
		case OP_END:
			hbuf_entry_remove_locked(op->id, op->hashcode);
			break;
		case OP_CREATE:
			(void) hbuf_entry_create_locked(op->id, op->hashcode);
			break;
		case OP_BEAT:
			/* the entry was made (or found) while this transaction owned it */
			e = hbuf_entry_find_locked(op->id, op->hashcode);
			if (e != NULL)
			{
				if (op->ts > e->last_comm)
					e->last_comm = op->ts;
				e->recent = op->bytes;
				e->has_recent = true;
				e->recent_dirty = true;
				e->add = hbuf_add_saturating(e->add, op->bytes);
			}
			break;
		case OP_WROTE:
			/* the row now has the latest recent bytes: the entry's are older */
			e = hbuf_entry_find_locked(op->id, op->hashcode);
			if (e != NULL)
			{
				e->has_recent = false;
				e->recent_dirty = false;
			}
			break;
	}
}

/*
 * The transaction ends (must not fail): publish its ops if it commits,
 * then release every entry it claimed; at abort an entry that a heartbeat
 * made is removed (the row it was made for may not exist).  Grouped by
 * partition, each partition locked once: a batch of a thousand heartbeats
 * takes at most HBUF_PARTITIONS locks here, not two thousand.  The ops of
 * one id stay in their order, and its release comes after them under the
 * same lock, so whoever waited for this transaction finds its heartbeats
 * published.
 */
static void
publish_and_release(bool commit)
{
	int			op_head[HBUF_PARTITIONS];
	int			op_tail[HBUF_PARTITIONS];
	int			own_head[HBUF_PARTITIONS];
	int			own_tail[HBUF_PARTITIONS];
	uint64		used = 0;
	int			nop = commit ? nops : 0;

	if (hbuf == NULL)
		return;
	for (int p = 0; p < HBUF_PARTITIONS; p++)
		op_head[p] = own_head[p] = -1;
	/* each partition's ops and claims, in their order (a linked list each) */
	for (int i = 0; i < nop; i++)
	{
		int			p = HBUF_PARTITION_OF(ops[i].hashcode);

		ops[i].next = -1;
		if (op_head[p] < 0)
			op_head[p] = i;
		else
			ops[op_tail[p]].next = i;
		op_tail[p] = i;
		used |= UINT64CONST(1) << p;
	}
	for (int i = 0; i < nowned; i++)
	{
		int			p = HBUF_PARTITION_OF(owned[i].hashcode);

		owned[i].next = -1;
		if (own_head[p] < 0)
			own_head[p] = i;
		else
			owned[own_tail[p]].next = i;
		own_tail[p] = i;
		used |= UINT64CONST(1) << p;
	}
	for (int p = 0; p < HBUF_PARTITIONS; p++)
	{
		uint32		hashcode;

		if ((used & (UINT64CONST(1) << p)) == 0)
			continue;
		hashcode = op_head[p] >= 0 ? ops[op_head[p]].hashcode : owned[own_head[p]].hashcode;
		hbuf_partition_lock(hashcode, LW_EXCLUSIVE);
		for (int i = op_head[p]; i >= 0; i = ops[i].next)
			publish_locked(&ops[i]);
		for (int i = own_head[p]; i >= 0; i = owned[i].next)
			hbuf_entry_release_locked(owned[i].id, owned[i].hashcode,
									  !commit && owned[i].created);
		hbuf_entry_unlock(hashcode);
	}
}

/* The transaction commits: publish its ops, then release its entries. */
void
hbuf_pending_commit(void)
{
	if (nops == 0 && nowned == 0)
		return;
	publish_and_release(true);
	pending_reset();
}

/* The transaction aborts (or is prepared): drop its ops, release its entries. */
void
hbuf_pending_abort(void)
{
	if (nops == 0 && nowned == 0)
		return;
	publish_and_release(false);
	pending_reset();
}

/* A subtransaction ends: its ops become its parent's, or are dropped. */
void
hbuf_pending_subxact(SubXactEvent event)
{
	int			level = GetCurrentTransactionNestLevel();

	if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		for (int i = nowned - 1; i >= 0 && owned[i].level >= level; i--)
			owned[i].level = level - 1;
	}
	else if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		while (nowned > 0 && owned[nowned - 1].level >= level)
		{
			nowned--;
			if (hbuf != NULL)
				hbuf_entry_release(owned[nowned].id, owned[nowned].created);
		}
	}

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
		generation++;
	}
}

static void
ensure_context(void)
{
	if (pending_cxt == NULL)
		pending_cxt = AllocSetContextCreate(TopMemoryContext, "session heartbeat buffer",
											ALLOCSET_DEFAULT_SIZES);
}

/*
 * An array of n elements of size, with room for one more: arr itself, or
 * arr made larger (*max is its capacity).
 */
static void *
room_for_one(void *arr, int n, int *max, Size size)
{
	ensure_context();
	if (n < *max)
		return arr;
	*max = *max == 0 ? 64 : *max * 2;
	if (arr == NULL)
		return MemoryContextAllocHuge(pending_cxt, size * *max);
	return repalloc_huge(arr, size * *max);
}

/* This transaction claimed the entry of id: release it when it ends. */
void
hbuf_note_owned(int64 id, bool created)
{
	owned = room_for_one(owned, nowned, &maxowned, sizeof(HbufOwned));
	owned[nowned].id = id;
	owned[nowned].hashcode = hbuf_hash(id);
	owned[nowned].level = GetCurrentTransactionNestLevel();
	owned[nowned++].created = created;
}

/* Note an op of this transaction, to publish at its commit. */
void
hbuf_record_op(int64 id, HbufOpKind kind, int64 bytes)
{
	HbufOp	   *op;

	ops = room_for_one(ops, nops, &maxops, sizeof(HbufOp));
	op = &ops[nops++];
	op->id = id;
	op->hashcode = hbuf != NULL ? hbuf_hash(id) : 0;
	op->level = GetCurrentTransactionNestLevel();
	op->kind = kind;
	op->ts = GetCurrentStatementStartTimestamp();
	op->bytes = bytes;
	pending_add_to(op);
	generation++;
}
