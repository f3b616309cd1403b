/*-------------------------------------------------------------------------
 *
 * spi_util.c
 *	  Statements prepared once per backend and run with parameters (the
 *	  statements themselves are in queries.c; the identity they run as is
 *	  set by identity.c).
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"

#include "access/tupconvert.h"
#include "executor/executor.h"
#include "executor/tstoreReceiver.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

/* Prepare sp->sql on first use and keep the plan for the life of the backend. */
SPIPlanPtr
session_plan(SessionPlan *sp)
{
	if (sp->plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(sp->sql, sp->nargs, sp->argtypes);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s",
				 sp->sql, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		sp->plan = plan;
	}
	return sp->plan;
}

/* Run a prepared statement; returns SPI_processed. */
int
session_exec(SessionPlan *sp, Datum *values, const char *nulls,
			 bool read_only, long tcount)
{
	int			rc = SPI_execute_plan(session_plan(sp), values, nulls,
									  read_only, tcount);

	if (rc < 0)
		elog(ERROR, "SPI_execute_plan failed for \"%s\": %s",
			 sp->sql, SPI_result_code_string(rc));
	return (int) SPI_processed;
}

/*
 * Run a prepared statement with a snapshot taken now, whatever the
 * isolation level: it sees every transaction committed so far (and this
 * one's own writes), where a REPEATABLE READ snapshot would not.
 */
int
session_exec_latest(SessionPlan *sp, Datum *values, const char *nulls)
{
	int			rc = SPI_execute_snapshot(session_plan(sp), values, nulls,
										  GetLatestSnapshot(), InvalidSnapshot,
										  false, true, 0);

	if (rc < 0)
		elog(ERROR, "SPI_execute_snapshot failed for \"%s\": %s",
			 sp->sql, SPI_result_code_string(rc));
	return (int) SPI_processed;
}

/*
 * Run a write statement that joins a short list of ids (an array, or a
 * locked batch) to session.sessions as a nested loop over the id index.
 *
 * Two reasons.  Rows are then locked in the order of the list, so two
 * batches that share ids lock them in the same order and cannot deadlock,
 * whatever plan the cache holds.  And the planner, which cannot see a
 * parameter's array length or LIMIT, otherwise likes to hash the whole open
 * table for every batch.
 */
int
session_exec_nestloop(SessionPlan *sp, Datum *values, const char *nulls)
{
	int			nestlevel = NewGUCNestLevel();
	int			n;

	(void) set_config_option("enable_hashjoin", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("enable_mergejoin", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	n = session_exec(sp, values, nulls, false, 0);
	AtEOXact_GUC(true, nestlevel);
	return n;
}

/* Run a prepared read-only statement with its rows sent to dest. */
void
session_exec_into(SessionPlan *sp, Datum *values, const bool *nulls, DestReceiver *dest)
{
	SPIExecuteOptions options;
	ParamListInfo params = makeParamList(sp->nargs);
	int			rc;

	for (int i = 0; i < sp->nargs; i++)
	{
		params->params[i].value = values[i];
		params->params[i].isnull = nulls[i];
		params->params[i].pflags = PARAM_FLAG_CONST;
		params->params[i].ptype = sp->argtypes[i];
	}
	params->numParams = sp->nargs;

	memset(&options, 0, sizeof(options));
	options.params = params;
	options.read_only = true;
	options.dest = dest;

	rc = SPI_execute_plan_extended(session_plan(sp), &options);
	if (rc < 0)
		elog(ERROR, "SPI_execute_plan_extended failed for \"%s\": %s",
			 sp->sql, SPI_result_code_string(rc));
}

#define RESULT_TYPE_MISMATCH gettext_noop("internal statement does not return the function's result type")

/*
 * Run a prepared read-only statement and send its rows to the result
 * tuplestore of a set-returning function (set up by InitMaterializedSRF).
 * The rows are converted to the function's result type by position; a
 * statement whose columns do not match it fails with a clean error instead
 * of storing mistyped rows.
 */
void
session_exec_into_result(FunctionCallInfo fcinfo, SessionPlan *sp,
						 Datum *values, const bool *nulls)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DestReceiver *dest = CreateDestReceiver(DestTuplestore);

	SetTuplestoreDestReceiverParams(dest, rsinfo->setResult,
									rsinfo->econtext->ecxt_per_query_memory,
									true, rsinfo->setDesc, RESULT_TYPE_MISMATCH);
	session_exec_into(sp, values, nulls, dest);
	dest->rDestroy(dest);
}

/* ---------------------------------------------------------------------------
 * Rows in start_time, id order
 *
 * A session_info listing comes in start_time, id order.  Sorting its wide
 * rows in the statement costs more than the rest of a large listing
 * (tuplesort copies every row twice); this receiver keeps each row once,
 * sorts pointers by the two keys, and stores the rows in that order.
 * The statements give in the username column the user logged in (NULL:
 * nobody) and NULL for authenticated; the receiver makes the two columns of
 * it (Unauthenticated and false, or the user and true), so that the
 * statement computes the user once a row.
 * ---------------------------------------------------------------------------
 */

typedef struct OrderedRow
{
	int64		start;			/* start_time (a TimestampTz) */
	int64		id;
	MinimalTuple tuple;
} OrderedRow;

typedef struct OrderedReceiver
{
	DestReceiver pub;
	ReturnSetInfo *rsinfo;
	int			start_att;		/* 1-based, in the result type */
	int			id_att;
	int			user_att;
	int			auth_att;
	Datum		unauthenticated;	/* the username of nobody logged in */
	Datum	   *values;			/* a row, as the result type's */
	bool	   *nulls;
	TupleConversionMap *map;	/* NULL: rows already have the result type */
	TupleTableSlot *converted;
	MemoryContext cxt;			/* per-query memory */
	MemoryContext rowcxt;		/* the rows' and their store's (result_memory) */
	OrderedRow *rows;
	int64		nrows;
	int64		maxrows;
	Size		bytes;			/* what a result store charges for the rows */
} OrderedReceiver;

/*
 * The memory of the rows and of the result store that holds them, kept by
 * the backend from one call to the next: a large listing writes megabytes,
 * and memory new to the process costs a page fault for every 4 kB written
 * (measured: ~1,100 faults and ~15% of a call of 9,400 rows).  Its first
 * block (RESULT_MEMORY_KEPT) survives a reset; it is reset when a call
 * starts and no result of an earlier call is still being read, so what a
 * query that failed left in it goes then.  Results are counted out when
 * the memory of the query that reads them goes (a reset callback), however
 * that query ended.
 */
#define RESULT_MEMORY_KEPT (8 * 1024 * 1024)

static MemoryContext result_cxt = NULL;
static int	results_read = 0;

static void
result_released(void *arg)
{
	results_read--;
}

static MemoryContext
result_memory(MemoryContext per_query)
{
	MemoryContextCallback *cb;

	if (result_cxt == NULL)
		result_cxt = AllocSetContextCreate(TopMemoryContext, "session ordered results",
										   RESULT_MEMORY_KEPT, ALLOCSET_DEFAULT_INITSIZE,
										   ALLOCSET_DEFAULT_MAXSIZE);
	else if (results_read == 0)
		MemoryContextReset(result_cxt);
	cb = MemoryContextAlloc(per_query, sizeof(MemoryContextCallback));
	cb->func = result_released;
	cb->arg = NULL;
	MemoryContextRegisterResetCallback(per_query, cb);
	results_read++;
	return result_cxt;
}

static inline int
ordered_row_cmp(const OrderedRow *x, const OrderedRow *y)
{
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

/* ordered_rows_sort: a quicksort with the comparison inlined */
#define ST_SORT ordered_rows_sort
#define ST_ELEMENT_TYPE OrderedRow
#define ST_COMPARE(a, b) ordered_row_cmp(a, b)
#define ST_CHECK_FOR_INTERRUPTS
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * The rows are read in sorted order, which is not the order they lie in
 * memory: each would wait for its first cache line without a hint.
 */
#if defined(__GNUC__) || defined(__clang__)
#define ROW_PREFETCH(p) __builtin_prefetch(p)
#else
#define ROW_PREFETCH(p) ((void) (p))
#endif
#define ROW_PREFETCH_AHEAD 8

static void
ordered_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	OrderedReceiver *r = (OrderedReceiver *) self;
	MemoryContext old = MemoryContextSwitchTo(r->cxt);

	/* each statement's columns must match the result type */
	if (r->map != NULL)
		free_conversion_map(r->map);
	r->map = convert_tuples_by_position(typeinfo, r->rsinfo->setDesc, RESULT_TYPE_MISMATCH);
	if (r->map != NULL && r->converted == NULL)
		r->converted = MakeSingleTupleTableSlot(r->rsinfo->setDesc, &TTSOpsVirtual);
	MemoryContextSwitchTo(old);
}

static bool
ordered_receive(TupleTableSlot *slot, DestReceiver *self)
{
	OrderedReceiver *r = (OrderedReceiver *) self;
	MemoryContext old = MemoryContextSwitchTo(r->rowcxt);
	OrderedRow *row;
	bool		isnull;

	if (r->map != NULL)
		slot = execute_attr_map_slot(r->map->attrMap, slot, r->converted);
	if (r->nrows == r->maxrows)
	{
		r->maxrows = Max(r->maxrows * 2, 1024);
		r->rows = r->rows == NULL ? palloc_extended(sizeof(OrderedRow) * r->maxrows, MCXT_ALLOC_HUGE)
			: repalloc_huge(r->rows, sizeof(OrderedRow) * r->maxrows);
	}
	row = &r->rows[r->nrows++];
	/* neither key is ever NULL in a listing; NULL would sort as 0 */
	row->start = DatumGetInt64(slot_getattr(slot, r->start_att, &isnull));
	if (isnull)
		row->start = 0;
	row->id = DatumGetInt64(slot_getattr(slot, r->id_att, &isnull));
	if (isnull)
		row->id = 0;
	/* the user logged in (NULL: nobody) makes username and authenticated */
	slot_getallattrs(slot);
	memcpy(r->values, slot->tts_values, sizeof(Datum) * slot->tts_tupleDescriptor->natts);
	memcpy(r->nulls, slot->tts_isnull, sizeof(bool) * slot->tts_tupleDescriptor->natts);
	r->values[r->auth_att - 1] = BoolGetDatum(!r->nulls[r->user_att - 1]);
	r->nulls[r->auth_att - 1] = false;
	if (r->nulls[r->user_att - 1])
	{
		r->values[r->user_att - 1] = r->unauthenticated;
		r->nulls[r->user_att - 1] = false;
	}
	row->tuple = session_form_minimal_tuple(r->rsinfo->setDesc, r->values, r->nulls);
	/* as a store counts a row: its chunk, and two places in its array */
	r->bytes += GetMemoryChunkSpace(row->tuple) + 2 * sizeof(void *);
	MemoryContextSwitchTo(old);
	return true;
}

/* A statement ended: its rows wait for the others' (ordered_finish). */
static void
ordered_shutdown(DestReceiver *self)
{
}

/* Every statement ended: store the rows in order. */
static void
ordered_finish(OrderedReceiver *r)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(r->rsinfo->setDesc, &TTSOpsMinimalTuple);
	Size		kbytes = r->bytes / 1024 + 1;

	/*
	 * The rows are in memory already: a result store that holds them in
	 * memory too (each row is freed once stored, and the store takes its
	 * chunk) needs no more memory at its peak than they do, and does not
	 * write them to a temporary file and read them back, as one limited to
	 * work_mem would.
	 */
	if (kbytes < (Size) MAX_KILOBYTES - (Size) work_mem)
	{
		MemoryContext old = MemoryContextSwitchTo(r->rowcxt);
		Tuplestorestate *store =
			tuplestore_begin_heap((r->rsinfo->allowedModes & SFRM_Materialize_Random) != 0,
								  false, work_mem + (int) kbytes);

		MemoryContextSwitchTo(old);
		tuplestore_end(r->rsinfo->setResult);
		r->rsinfo->setResult = store;
	}
	ordered_rows_sort(r->rows, r->nrows);
	for (int64 i = 0; i < r->nrows; i++)
	{
		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (i + ROW_PREFETCH_AHEAD < r->nrows)
			ROW_PREFETCH(r->rows[i + ROW_PREFETCH_AHEAD].tuple);
		ExecStoreMinimalTuple(r->rows[i].tuple, slot, true);
		tuplestore_puttupleslot(r->rsinfo->setResult, slot);
		ExecClearTuple(slot);	/* frees the row: the store has its copy */
	}
	ExecDropSingleTupleTableSlot(slot);
	if (r->rows != NULL)
		pfree(r->rows);
	r->rows = NULL;
	r->nrows = r->maxrows = 0;
}

static void
ordered_destroy(DestReceiver *self)
{
	OrderedReceiver *r = (OrderedReceiver *) self;

	if (r->converted != NULL)
		ExecDropSingleTupleTableSlot(r->converted);
	pfree(self);
}

/* The 1-based number of the column name of the function's result type */
static int
result_att(TupleDesc desc, const char *name)
{
	for (int i = 0; i < desc->natts; i++)
	{
		if (!TupleDescAttr(desc, i)->attisdropped &&
			strcmp(NameStr(TupleDescAttr(desc, i)->attname), name) == 0)
			return i + 1;
	}
	elog(ERROR, "result type has no column \"%s\"", name);
	return 0;					/* keep the compiler quiet */
}

/*
 * session_exec_into_result for statements that return session_info rows in
 * no particular order: session_ordered_result makes the receiver, each
 * session_exec_into sends one statement's rows to it, and
 * session_ordered_result_finish stores the rows of all of them in
 * start_time, id order.
 */
DestReceiver *
session_ordered_result(FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OrderedReceiver *r = palloc0(sizeof(OrderedReceiver));

	r->pub.receiveSlot = ordered_receive;
	r->pub.rStartup = ordered_startup;
	r->pub.rShutdown = ordered_shutdown;
	r->pub.rDestroy = ordered_destroy;
	r->pub.mydest = DestNone;
	r->rsinfo = rsinfo;
	r->start_att = result_att(rsinfo->setDesc, "start_time");
	r->id_att = result_att(rsinfo->setDesc, "id");
	r->user_att = result_att(rsinfo->setDesc, "username");
	r->auth_att = result_att(rsinfo->setDesc, "authenticated");
	r->cxt = rsinfo->econtext->ecxt_per_query_memory;
	r->rowcxt = result_memory(r->cxt);
	r->unauthenticated = PointerGetDatum(cstring_to_text(SESSION_UNAUTHENTICATED));
	r->values = palloc(sizeof(Datum) * rsinfo->setDesc->natts);
	r->nulls = palloc(sizeof(bool) * rsinfo->setDesc->natts);
	return &r->pub;
}

void
session_ordered_result_finish(DestReceiver *dest)
{
	Assert(dest->receiveSlot == ordered_receive);
	ordered_finish((OrderedReceiver *) dest);
	dest->rDestroy(dest);
}
