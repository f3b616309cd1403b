/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  Counters for monitoring, kept in shared memory so that reading them
 *	  costs no table scan: sessions ended since the server started, by
 *	  reason and by database, and the background worker's pass figures.
 *	  Read with session.stats().  Needs shared_preload_libraries = 'session'.
 *
 *	  An ending is counted only if its transaction commits: the writer notes
 *	  it in a backend-local pending count, tagged with the subtransaction that
 *	  made it; a rolled-back subtransaction drops its part, a committed one
 *	  hands it to its parent, and the top-level commit (or PREPARE
 *	  TRANSACTION, since a prepared transaction almost always commits later)
 *	  adds the total to the shared counters.  The shared counters are atomic
 *	  integers, so neither writers nor readers ever wait on a lock except
 *	  when a database takes its slot for the first time.
 *
 *	  The counters start at zero when the server starts (a crash restart
 *	  too), as PostgreSQL's own cumulative statistics may; Prometheus treats
 *	  a drop as a counter reset.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(session_stats);

/* Databases whose endings are counted separately; more share one slot */
#define STATS_DATABASES		64

/* The reasons counted by name; every other word counts as "other" */
static const char *const reason_names[] = {
	"logout", "timeout", "max_lifetime", "terminated", "evicted",
	"node_shutdown", "closed", "other"
};

#define NREASONS		((int) lengthof(reason_names))
#define REASON_OTHER	(NREASONS - 1)

typedef struct DatabaseCounters
{
	pg_atomic_uint32 dboid;		/* InvalidOid: free (or, last slot: overflow) */
	pg_atomic_uint64 ended[NREASONS];
} DatabaseCounters;

/* Written only by the worker, under the mutex */
typedef struct WorkerFigures
{
	Oid			dboid;			/* the worker's database; InvalidOid: never ran */
	int			pid;			/* the worker process that ran the last pass */
	TimestampTz started;		/* first pass of that process */
	TimestampTz pass_start;		/* start of the pass under way or last */
	TimestampTz last_pass_end;	/* end of the last completed pass */
	double		last_pass_seconds;
	int64		last_pass_expired;
	int64		expired_total;
	int64		passes_total;	/* completed passes */
	int64		errors_total;	/* passes that ended in an error */
	TimestampTz last_error;
} WorkerFigures;

typedef struct SessionStats
{
	slock_t		mutex;			/* slot allocation and worker figures */
	TimestampTz reset_time;		/* when the counters started from zero */
	WorkerFigures worker;
	DatabaseCounters dbs[STATS_DATABASES];
} SessionStats;

static SessionStats *stats = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* Endings of the current transaction not yet counted, per subtransaction */
typedef struct PendingFrame
{
	SubTransactionId subid;
	uint64		ended[NREASONS];
} PendingFrame;

static PendingFrame *pending = NULL;
static int	npending = 0;
static int	maxpending = 0;
static bool callbacks_registered = false;
static DatabaseCounters *my_counters = NULL;

static void
stats_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(sizeof(SessionStats));
}

static void
stats_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	stats = ShmemInitStruct("session stats", sizeof(SessionStats), &found);
	if (!found)
	{
		SpinLockInit(&stats->mutex);
		stats->reset_time = GetCurrentTimestamp();
		memset(&stats->worker, 0, sizeof(WorkerFigures));
		stats->worker.dboid = InvalidOid;
		for (int i = 0; i < STATS_DATABASES; i++)
		{
			pg_atomic_init_u32(&stats->dbs[i].dboid, InvalidOid);
			for (int r = 0; r < NREASONS; r++)
				pg_atomic_init_u64(&stats->dbs[i].ended[r], 0);
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

void
session_stats_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = stats_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = stats_shmem_startup;
}

/*
 * The counters of a database, or NULL when it has none and create is false.
 * A database takes a free slot, else the slot of a database that was dropped
 * (create needs a transaction for that catalog lookup); when every slot
 * belongs to a live database, the last slot is shared by the others.
 */
static DatabaseCounters *
database_counters(Oid dboid, bool create)
{
	DatabaseCounters *found = NULL;

	for (int i = 0; i < STATS_DATABASES - 1; i++)
		if (pg_atomic_read_u32(&stats->dbs[i].dboid) == dboid)
			return &stats->dbs[i];
	if (!create)
		return pg_atomic_read_u32(&stats->dbs[STATS_DATABASES - 2].dboid) == InvalidOid ?
			NULL : &stats->dbs[STATS_DATABASES - 1];

	SpinLockAcquire(&stats->mutex);
	for (int i = 0; i < STATS_DATABASES - 1 && found == NULL; i++)
	{
		uint32		slot_db = pg_atomic_read_u32(&stats->dbs[i].dboid);

		if (slot_db == dboid)
			found = &stats->dbs[i];
		else if (slot_db == InvalidOid)
		{
			pg_atomic_write_u32(&stats->dbs[i].dboid, dboid);
			found = &stats->dbs[i];
		}
	}
	SpinLockRelease(&stats->mutex);

	/* no free slot: take over one of a dropped database (no catalog access under a spinlock) */
	for (int i = 0; i < STATS_DATABASES - 1 && found == NULL; i++)
	{
		uint32		slot_db = pg_atomic_read_u32(&stats->dbs[i].dboid);

		if (SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum(slot_db)))
			continue;
		if (pg_atomic_compare_exchange_u32(&stats->dbs[i].dboid, &slot_db, dboid))
		{
			for (int r = 0; r < NREASONS; r++)
				pg_atomic_write_u64(&stats->dbs[i].ended[r], 0);
			found = &stats->dbs[i];
		}
	}
	return found ? found : &stats->dbs[STATS_DATABASES - 1];
}

static int
reason_index(const char *reason, size_t len)
{
	for (int r = 0; r < REASON_OTHER; r++)
		if (strlen(reason_names[r]) == len && memcmp(reason_names[r], reason, len) == 0)
			return r;
	return REASON_OTHER;
}

/* Add the pending counts (at top-level commit or prepare) or drop them. */
static void
stats_xact_callback(XactEvent event, void *arg)
{
	if (npending == 0)
		return;
	if ((event == XACT_EVENT_COMMIT || event == XACT_EVENT_PREPARE) && my_counters != NULL)
	{
		for (int f = 0; f < npending; f++)
			for (int r = 0; r < NREASONS; r++)
				if (pending[f].ended[r] > 0)
					pg_atomic_fetch_add_u64(&my_counters->ended[r], pending[f].ended[r]);
	}
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PREPARE ||
		event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PARALLEL_ABORT)
		npending = 0;
}

/* A committed subtransaction hands its counts to its parent; an aborted one drops them. */
static void
stats_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	PendingFrame *top;

	if (npending == 0 || pending[npending - 1].subid != mySubid)
		return;
	top = &pending[npending - 1];
	if (event == SUBXACT_EVENT_ABORT_SUB)
		npending--;
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		if (npending > 1 && pending[npending - 2].subid == parentSubid)
		{
			for (int r = 0; r < NREASONS; r++)
				pending[npending - 2].ended[r] += top->ended[r];
			npending--;
		}
		else
			top->subid = parentSubid;
	}
}

/* The pending frame of the current subtransaction, pushed when missing. */
static PendingFrame *
current_frame(void)
{
	SubTransactionId subid = GetCurrentSubTransactionId();

	if (npending > 0 && pending[npending - 1].subid == subid)
		return &pending[npending - 1];
	if (npending == maxpending)
	{
		int			newmax = maxpending == 0 ? 4 : maxpending * 2;

		pending = pending == NULL ?
			MemoryContextAlloc(TopMemoryContext, sizeof(PendingFrame) * newmax) :
			repalloc(pending, sizeof(PendingFrame) * newmax);
		maxpending = newmax;
	}
	pending[npending].subid = subid;
	memset(pending[npending].ended, 0, sizeof(pending[npending].ended));
	return &pending[npending++];
}

/*
 * Count the sessions ended by the statement just run: one per row of the
 * current SPI result, by its end_reason column.
 */
void
session_stats_count_ended(void)
{
	SPITupleTable *tt = SPI_tuptable;
	PendingFrame *frame;
	int			col;

	if (stats == NULL || tt == NULL || SPI_processed == 0)
		return;
	col = SPI_fnumber(tt->tupdesc, "end_reason");
	if (col <= 0)
		elog(ERROR, "ending statement returns no end_reason column");

	/* in the transaction: finding a slot may read the catalog */
	if (my_counters == NULL)
		my_counters = database_counters(MyDatabaseId, true);
	if (!callbacks_registered)
	{
		RegisterXactCallback(stats_xact_callback, NULL);
		RegisterSubXactCallback(stats_subxact_callback, NULL);
		callbacks_registered = true;
	}
	frame = current_frame();
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(tt->vals[i], tt->tupdesc, col, &isnull);
		text	   *reason;

		if (isnull)
			continue;
		reason = DatumGetTextPP(d);
		frame->ended[reason_index(VARDATA_ANY(reason), VARSIZE_ANY_EXHDR(reason))]++;
	}
}

/* The worker starts a pass. */
void
session_stats_pass_begin(void)
{
	TimestampTz now = GetCurrentTimestamp();

	if (stats == NULL)
		return;
	SpinLockAcquire(&stats->mutex);
	if (stats->worker.pid != MyProcPid)
	{
		stats->worker.pid = MyProcPid;
		stats->worker.dboid = MyDatabaseId;
		stats->worker.started = now;
	}
	stats->worker.pass_start = now;
	SpinLockRelease(&stats->mutex);
}

/* The worker completed a pass that expired this many sessions. */
void
session_stats_pass_end(int64 expired)
{
	TimestampTz now = GetCurrentTimestamp();

	if (stats == NULL)
		return;
	SpinLockAcquire(&stats->mutex);
	stats->worker.last_pass_end = now;
	stats->worker.last_pass_seconds = (now - stats->worker.pass_start) / (double) USECS_PER_SEC;
	stats->worker.last_pass_expired = expired;
	stats->worker.expired_total += expired;
	stats->worker.passes_total++;
	SpinLockRelease(&stats->mutex);
}

/* A pass of the worker ended in an error. */
void
session_stats_pass_failed(void)
{
	if (stats == NULL)
		return;
	SpinLockAcquire(&stats->mutex);
	stats->worker.errors_total++;
	stats->worker.last_error = GetCurrentTimestamp();
	SpinLockRelease(&stats->mutex);
}

static double
epoch_seconds(TimestampTz ts)
{
	return (double) (ts - SetEpochTimestamp()) / USECS_PER_SEC;
}

static void
put_stat(ReturnSetInfo *rsinfo, const char *name, const char *label_key,
		 const char *label_value, double value)
{
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	JsonbParseState *state = NULL;
	JsonbValue *labels;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	if (label_key != NULL)
	{
		JsonbValue	k,
					v;

		k.type = jbvString;
		k.val.string.val = (char *) label_key;
		k.val.string.len = strlen(label_key);
		v.type = jbvString;
		v.val.string.val = (char *) label_value;
		v.val.string.len = strlen(label_value);
		pushJsonbValue(&state, WJB_KEY, &k);
		pushJsonbValue(&state, WJB_VALUE, &v);
	}
	labels = pushJsonbValue(&state, WJB_END_OBJECT, NULL);

	values[0] = CStringGetTextDatum(name);
	values[1] = JsonbPGetDatum(JsonbValueToJsonb(labels));
	values[2] = Float8GetDatum(value);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * session.stats(): the counters of the current database, and the worker's
 * figures when the worker serves this database.
 */
Datum
session_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DatabaseCounters *counters;
	WorkerFigures worker;
	TimestampTz reset_time;

	if (stats == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("session.stats() needs the session library preloaded"),
				 errhint("Add session to shared_preload_libraries.")));

	InitMaterializedSRF(fcinfo, 0);

	SpinLockAcquire(&stats->mutex);
	worker = stats->worker;
	reset_time = stats->reset_time;
	SpinLockRelease(&stats->mutex);

	put_stat(rsinfo, "stats_reset_timestamp_seconds", NULL, NULL, epoch_seconds(reset_time));

	counters = database_counters(MyDatabaseId, false);
	for (int r = 0; r < NREASONS; r++)
		put_stat(rsinfo, "ended_sessions_total", "reason", reason_names[r],
				 counters ? (double) pg_atomic_read_u64(&counters->ended[r]) : 0.0);

	/* the worker's pid is recorded at its first pass, so this needs no pg_stat_activity rights */
	put_stat(rsinfo, "worker_running", NULL, NULL,
			 worker.dboid == MyDatabaseId && worker.pid != 0 &&
			 BackendPidGetProc(worker.pid) != NULL ? 1.0 : 0.0);
	if (worker.dboid != MyDatabaseId)
		return (Datum) 0;
	put_stat(rsinfo, "worker_started_timestamp_seconds", NULL, NULL, epoch_seconds(worker.started));
	put_stat(rsinfo, "worker_passes_total", NULL, NULL, (double) worker.passes_total);
	put_stat(rsinfo, "worker_errors_total", NULL, NULL, (double) worker.errors_total);
	put_stat(rsinfo, "worker_expired_total", NULL, NULL, (double) worker.expired_total);
	if (worker.passes_total > 0)
	{
		put_stat(rsinfo, "worker_last_pass_timestamp_seconds", NULL, NULL,
				 epoch_seconds(worker.last_pass_end));
		put_stat(rsinfo, "worker_last_pass_duration_seconds", NULL, NULL,
				 worker.last_pass_seconds);
		put_stat(rsinfo, "worker_last_pass_expired", NULL, NULL,
				 (double) worker.last_pass_expired);
	}
	if (worker.errors_total > 0)
		put_stat(rsinfo, "worker_last_error_timestamp_seconds", NULL, NULL,
				 epoch_seconds(worker.last_error));
	return (Datum) 0;
}
