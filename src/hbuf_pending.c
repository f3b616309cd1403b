/*-------------------------------------------------------------------------
 *
 * hbuf_pending.c
 *	  What a transaction will publish to the heartbeat buffer at commit.
 *
 *	  Publish at commit.  A heartbeat only appends to a list kept by its
 *	  backend; a transaction callback applies the list to shared memory at
 *	  commit and drops it at abort (or drops the part of a subtransaction
 *	  that rolls back).  A rolled-back heartbeat therefore has no effect.
 *
 *	  The list holds ops (a heartbeat, a session opened, a session ended),
 *	  recorded by the entry points of heartbeat_buffer.c while their
 *	  transaction holds the stripe of the session, and applied to the
 *	  entries of hbuf_table.c.  The transaction's own reads see its ops
 *	  through hbuf_pending_find (hbuf_live.c).  The same callback also
 *	  finishes the worker's flush (hbuf_flush.c), which must act at
 *	  PRE_COMMIT and undo at abort.
 *
 *	  CommitTransaction runs the commit callbacks before it releases locks:
 *	  that is what lets a close that waits for a stripe see every heartbeat
 *	  of that stripe published or rolled back (heartbeat_buffer.c).
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
	int			level;			/* subtransaction nesting level */
	HbufOpKind	kind;
	TimestampTz ts;
	int64		bytes;
} HbufOp;

static MemoryContext pending_cxt = NULL;
static HbufOp *ops = NULL;
static int	nops = 0;
static int	maxops = 0;
static HTAB *pending = NULL;
static bool callbacks_registered = false;

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
	hbuf_live_invalidate();
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

/* How many ops this transaction recorded (the live cache is valid for it) */
int
hbuf_pending_count(void)
{
	return nops;
}

/* Apply one op to shared memory (at commit: must not fail). */
static void
publish(HbufOp *op)
{
	uint32		hashcode;
	HbufEntry  *e;

	switch (op->kind)
	{
		case OP_END:
			hbuf_entry_remove(op->id);
			break;
		case OP_CREATE:
			(void) hbuf_entry_create(op->id);
			break;
		case OP_BEAT:
			/* the entry was made (or found) while this transaction held its stripe */
			e = hbuf_entry_lock(op->id, LW_EXCLUSIVE, &hashcode);
			if (e != NULL)
			{
				if (op->ts > e->last_comm)
					e->last_comm = op->ts;
				e->recent = op->bytes;
				e->has_recent = true;
				e->recent_dirty = true;
				e->add = hbuf_add_saturating(e->add, op->bytes);
			}
			hbuf_entry_unlock(hashcode);
			break;
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
			hbuf_flush_pre_commit();
			break;
		case XACT_EVENT_COMMIT:
			if (hbuf != NULL)
			{
				for (int i = 0; i < nops; i++)
					publish(&ops[i]);
			}
			pending_reset();
			hbuf_flush_end(false);
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			hbuf_flush_end(true);
			pending_reset();
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
		hbuf_live_invalidate();
	}
}

void
hbuf_ensure_callbacks(void)
{
	if (callbacks_registered)
		return;
	pending_cxt = AllocSetContextCreate(TopMemoryContext, "session heartbeat buffer",
										ALLOCSET_DEFAULT_SIZES);
	RegisterXactCallback(hbuf_xact_callback, NULL);
	RegisterSubXactCallback(hbuf_subxact_callback, NULL);
	callbacks_registered = true;
}

/* Note an op of this transaction, to publish at its commit. */
void
hbuf_record_op(int64 id, HbufOpKind kind, int64 bytes)
{
	HbufOp	   *op;

	hbuf_ensure_callbacks();
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
	hbuf_live_invalidate();
}
