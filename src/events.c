/*-------------------------------------------------------------------------
 *
 * events.c
 *	  The event log: every open, close, expiry, termination, eviction and
 *	  user change is a row of session_storage.events, written by the very
 *	  statement that makes the change (the *_logged statements of
 *	  queries.c, run between session_events_prepare and
 *	  session_events_written), so it commits or rolls back with the change;
 *	  read by session_reader with session.events_since(after_event_id).
 *	  NOTIFY session_events carries no data: it only wakes readers up, so a
 *	  role that may not read the log learns nothing from it, and a forged
 *	  notification only makes a reader find nothing new.
 *
 *	  Event ids come from a sequence, so they are handed out in call order,
 *	  not commit order: event 11 may commit while event 10 is still in
 *	  progress.  A reader that moved its cursor past 11 would never see 10.
 *	  So events_since returns only ids below every id that a transaction in
 *	  progress may still commit:
 *
 *	  - before its first event a transaction publishes a floor in shared
 *		memory, a number no greater than any id it will get (one more than
 *		the sequence's last value), and clears it once its commit is visible
 *		(or it aborted);
 *	  - a reader reads the sequence's last value (M), then every floor (F)
 *		published in its database, then takes its snapshot, and returns what
 *		it sees of (after, min(M, F - 1)].
 *
 *	  An id at or below that bound is either visible in the snapshot, or
 *	  belongs to a transaction that aborted: a transaction whose floor the
 *	  reader did not see either had committed before the snapshot, or got
 *	  its ids after the reader read M.  The price is that a transaction
 *	  that writes an event and stays open holds later events back until it
 *	  ends.  This needs the shared memory of a preloaded library.
 *
 *	  NOTIFY makes the commits of every notifying transaction of a database
 *	  wait for each other, so it is sent only while a member of
 *	  session_reader listens: the LISTEN hook counts them, and refuses
 *	  LISTEN session_events to every other role.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"
#include "queries.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

PG_FUNCTION_INFO_V1(session_events_since);

#define SESSION_EVENT_CHANNEL	"session_events"
#define SESSION_READER_ROLE		"session_reader"
#define EVENTS_MAX_ROWS			1000000
#define EVENTS_PURGE_BATCH		10000

typedef struct EventFloor
{
	Oid			dbid;			/* database of the backend, set before floor */
	pg_atomic_uint64 floor;		/* lowest id it may still commit; 0: none */
} EventFloor;

typedef struct EventShared
{
	pg_atomic_uint32 reader_listeners;	/* backends of session_reader that LISTEN */
	int			nslots;
	EventFloor	floors[FLEXIBLE_ARRAY_MEMBER];	/* one per backend */
} EventShared;

static EventShared *events_shared = NULL;
static bool floor_published = false;
static bool listener_counted = false;
static bool exit_registered = false;

static ProcessUtility_hook_type prev_process_utility = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* ---------------------------------------------------------------------
 * Shared memory
 * ---------------------------------------------------------------------
 */

static Size
events_shmem_size(void)
{
	return add_size(offsetof(EventShared, floors),
					mul_size(MaxBackends, sizeof(EventFloor)));
}

static void
events_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(events_shmem_size());
}

static void
events_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	events_shared = ShmemInitStruct("session events", events_shmem_size(), &found);
	if (!found)
	{
		pg_atomic_init_u32(&events_shared->reader_listeners, 0);
		events_shared->nslots = MaxBackends;
		for (int i = 0; i < MaxBackends; i++)
		{
			events_shared->floors[i].dbid = InvalidOid;
			pg_atomic_init_u64(&events_shared->floors[i].floor, 0);
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

static EventFloor *
my_floor(void)
{
	int			slot = SESSION_MY_SLOT;

	if (events_shared == NULL || slot < 0 || slot >= events_shared->nslots)
		return NULL;
	return &events_shared->floors[slot];
}

static void
clear_floor(void)
{
	EventFloor *floor = my_floor();

	if (floor_published && floor != NULL)
		pg_atomic_write_u64(&floor->floor, 0);
	floor_published = false;
}

/* Runs after the commit is visible to new snapshots, or after an abort. */
static void
events_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			clear_floor();
			break;
		case XACT_EVENT_PRE_PREPARE:
			/* a prepared transaction would hold its floor with nobody to clear it */
			if (floor_published)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot prepare a transaction that has written session events")));
			break;
		default:
			break;
	}
}

static void
events_backend_exit(int code, Datum arg)
{
	clear_floor();
	if (listener_counted && events_shared != NULL)
		pg_atomic_fetch_sub_u32(&events_shared->reader_listeners, 1);
	listener_counted = false;
}

static void
ensure_exit_callback(void)
{
	if (!exit_registered)
	{
		on_shmem_exit(events_backend_exit, (Datum) 0);
		exit_registered = true;
	}
}

/*
 * The last id the event sequence handed out (0 if none), read without
 * taking one: ids come from the sequence of this database, so this is the
 * bound a floor and a reader start from.
 */
static uint64
last_event_id(void)
{
	Oid			nsp = get_namespace_oid("session_storage", false);
	Oid			seq = get_relname_relid("events_event_id_seq", nsp);
	LOCAL_FCINFO(fcinfo, 1);
	Datum		last;

	if (!OidIsValid(seq))
		elog(ERROR, "sequence session_storage.events_event_id_seq is missing");
	InitFunctionCallInfoData(*fcinfo, NULL, 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = ObjectIdGetDatum(seq);
	fcinfo->args[0].isnull = false;
	last = pg_sequence_last_value(fcinfo);
	return fcinfo->isnull ? 0 : (uint64) DatumGetInt64(last);
}

/* ---------------------------------------------------------------------
 * LISTEN
 * ---------------------------------------------------------------------
 */

static void
events_process_utility(PlannedStmt *pstmt, const char *queryString,
					   bool readOnlyTree, ProcessUtilityContext context,
					   ParamListInfo params, QueryEnvironment *queryEnv,
					   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;

	if (IsA(stmt, ListenStmt) &&
		strcmp(((ListenStmt *) stmt)->conditionname, SESSION_EVENT_CHANNEL) == 0)
	{
		Oid			reader = get_role_oid(SESSION_READER_ROLE, true);

		if (!OidIsValid(reader) || !has_privs_of_role(GetUserId(), reader))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to listen on channel \"%s\"", SESSION_EVENT_CHANNEL),
					 errdetail("Only members of %s receive session events.", SESSION_READER_ROLE)));
		/* counted until the backend exits: a stale count only costs a wake-up */
		if (!listener_counted && events_shared != NULL)
		{
			ensure_exit_callback();
			pg_atomic_fetch_add_u32(&events_shared->reader_listeners, 1);
			listener_counted = true;
		}
	}

	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context,
							 params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

void
session_events_init(void)
{
	RegisterXactCallback(events_xact_callback, NULL);
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = events_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = events_shmem_startup;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = events_process_utility;
}

/* ---------------------------------------------------------------------
 * Writing events
 * ---------------------------------------------------------------------
 */

/*
 * Call before a statement that may append events (it must not have taken an
 * id yet): returns whether the event log is on, and if so publishes this
 * transaction's floor before its first event gets an id.  A floor published
 * for a statement that then logs nothing only holds readers back until this
 * transaction ends.
 */
bool
session_events_prepare(void)
{
	EventFloor *floor;

	/*
	 * Without the shared memory of a preloaded library nobody could read
	 * them; with session.notify off nothing is logged.
	 */
	if (!session_notify || events_shared == NULL)
		return false;
	floor = my_floor();
	if (floor != NULL && !floor_published)
	{
		ensure_exit_callback();
		floor->dbid = MyDatabaseId;
		pg_write_barrier();
		pg_atomic_write_u64(&floor->floor, last_event_id() + 1);
		floor_published = true;
		pg_memory_barrier();
	}
	return true;
}

/*
 * After a statement prepared with session_events_prepare appended n events:
 * wake the readers that listen (the notification is queued until commit,
 * dropped on rollback and merged with its duplicates).
 */
void
session_events_written(uint64 n)
{
	if (n > 0 && events_shared != NULL &&
		pg_atomic_read_u32(&events_shared->reader_listeners) > 0)
		Async_Notify(SESSION_EVENT_CHANNEL, "");
}

/* ---------------------------------------------------------------------
 * Reading and retention
 * ---------------------------------------------------------------------
 */

/*
 * The highest event id a reader may return now (see the header comment).
 * The caller has an SPI connection and takes its snapshot afterwards.
 */
static int64
event_horizon(void)
{
	uint64		upper = last_event_id();

	pg_memory_barrier();
	for (int i = 0; i < events_shared->nslots; i++)
	{
		EventFloor *slot = &events_shared->floors[i];
		uint64		floor = pg_atomic_read_u64(&slot->floor);

		pg_read_barrier();
		if (floor != 0 && slot->dbid == MyDatabaseId && floor <= upper)
			upper = floor - 1;
	}
	pg_memory_barrier();
	return (int64) upper;
}

Datum
session_events_since(PG_FUNCTION_ARGS)
{
	SessionSpi	spi;
	int64		after;
	int32		max_rows;
	int64		upper;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	session_require_arg(fcinfo, 0, "after_event_id");
	session_require_arg(fcinfo, 1, "max_rows");
	after = PG_GETARG_INT64(0);
	max_rows = PG_GETARG_INT32(1);
	if (max_rows < 1 || max_rows > EVENTS_MAX_ROWS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_rows must be between 1 and %d", EVENTS_MAX_ROWS)));
	if (events_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("session.events_since needs the session library preloaded"),
				 errhint("Add session to shared_preload_libraries.")));

	InitMaterializedSRF(fcinfo, 0);
	session_spi_connect(&spi);
	upper = event_horizon();
	if (upper > after)
	{
		values[0] = Int64GetDatum(after);
		values[1] = Int64GetDatum(upper);
		values[2] = Int32GetDatum(max_rows);
		/* a snapshot taken after the horizon, whatever the isolation level */
		PushActiveSnapshot(GetLatestSnapshot());
		session_exec_into_result(fcinfo, &query_events_since, values, nulls);
		PopActiveSnapshot();
	}
	session_spi_finish(&spi);
	return (Datum) 0;
}

/*
 * Delete the events older than session.event_retention (the background
 * worker calls it in a transaction of its own).
 */
void
session_events_apply_retention(void)
{
	SessionSpi	spi;
	Datum		values[2];
	int64		removed = 0;
	int			n;

	if (session_event_retention <= 0)
		return;
	session_spi_connect(&spi);
	values[0] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp() -
									(TimestampTz) session_event_retention * USECS_PER_SEC);
	values[1] = Int32GetDatum(EVENTS_PURGE_BATCH);
	do
	{
		CHECK_FOR_INTERRUPTS();
		n = session_exec(&query_events_purge, values, NULL, false, 0);
		removed += n;
	} while (n == EVENTS_PURGE_BATCH);
	session_spi_finish(&spi);

	if (removed > 0)
		ereport(DEBUG1,
				(errcode(ERRCODE_SUCCESSFUL_COMPLETION),
				 errmsg("session reaper removed " INT64_FORMAT " events", removed)));
}
