/*-------------------------------------------------------------------------
 *
 * reaper.c
 *	  The background worker that applies the timeouts and the history
 *	  retention every session.reaper_interval, in session.database.
 *
 *	  It also writes the heartbeats buffered in shared memory every
 *	  session.heartbeat_flush_interval (heartbeat_buffer.c), and once more
 *	  when it is asked to stop, so a clean shutdown loses none.
 *
 *	  One worker per cluster, registered when the library is preloaded.  It
 *	  sleeps on its latch and reloads its settings on SIGHUP.  An error in a
 *	  step is logged and the next step goes on.
 *
 *	  Running for months.  Every pass runs in a memory context reset at its
 *	  end; a commit leaves TopMemoryContext current, so each step returns to
 *	  the pass context after it (run_guarded), and the flush does the same
 *	  after each of its batches.
 *
 *	  Stopping.  The worker always exits with code 1, so that the postmaster
 *	  starts it again after bgw_restart_time, whatever stopped it
 *	  (pg_terminate_backend, an error outside a step, a crash); at server
 *	  shutdown the postmaster starts nothing, and the worker just stops.  On
 *	  SIGTERM it also cancels what it is doing, as a query cancel would:
 *	  a statement or lock wait ends with an error, and a commit waiting for
 *	  a synchronous standby stops waiting (SyncRepWaitForLSN ends the wait on
 *	  a cancel; the transaction is already durable here).  Commits made after
 *	  the request do not wait for a standby at all (synchronous_commit =
 *	  local, set at PRE_COMMIT), nor does the last flush, which also gives up
 *	  on a lock after a second: a shutdown never waits for a standby that is
 *	  gone, nor for the worker.  Meanwhile heartbeats write their rows once
 *	  no flush has completed for a while (heartbeat_buffer.c).
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"
#include "heartbeat_buffer.h"

#include "access/xact.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "replication/syncrep.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

PGDLLEXPORT void session_reaper_main(Datum main_arg);

void
session_reaper_init(void)
{
	BackgroundWorker worker;

	if (!process_shared_preload_libraries_in_progress || IsBinaryUpgrade)
		return;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "session");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "session_reaper_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "session reaper");
	snprintf(worker.bgw_type, BGW_MAXLEN, "session reaper");
	RegisterBackgroundWorker(&worker);
}

/* Is the extension installed in this database? */
static bool
extension_installed(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	bool		installed;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	installed = OidIsValid(get_extension_oid("session", true));
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
	return installed;
}

/*
 * Run one step in its own transaction.  Each step switches to the
 * extension's owner itself (identity.c), as the functions do.
 */
static void
run_in_transaction(void (*step) (void))
{
	MemoryContext cxt = CurrentMemoryContext;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	step();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
}

static void
purge_step(void)
{
	TimestampTz cutoff = GetCurrentTransactionStartTimestamp() -
		(TimestampTz) session_history_retention * USECS_PER_SEC;
	int64		n = session_purge_older_than(cutoff);

	if (n > 0)
		ereport(LOG,
				(errcode(ERRCODE_SUCCESSFUL_COMPLETION),
				 errmsg("session reaper purged " INT64_FORMAT " ended sessions", n)));
}

static void
reaper_pass(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	int64		expired;

	pgstat_report_activity(STATE_RUNNING, "session reaper pass");
	session_stats_pass_begin();
	run_in_transaction(session_maintain_partitions);
	if (ShutdownRequestPending)
		return;
	expired = session_expire_now(true);
	MemoryContextSwitchTo(cxt);
	if (expired > 0)
		ereport(DEBUG1,
				(errcode(ERRCODE_SUCCESSFUL_COMPLETION),
				 errmsg("session reaper expired " INT64_FORMAT " sessions", expired)));
	if (session_history_retention > 0 && !ShutdownRequestPending)
		run_in_transaction(purge_step);
	if (session_event_retention > 0 && !ShutdownRequestPending)
		run_in_transaction(session_events_apply_retention);
	session_stats_pass_end(expired);
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * Run one step in the caller's memory context, and leave that context
 * current (a commit or an abort leaves TopMemoryContext current).  An error
 * is logged, counted, and the next step goes on; one raised by the cancel
 * of a stop request (reaper_sigterm) is only noted.
 */
static void
run_guarded(void (*step) (void))
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		step();
	}
	PG_CATCH();
	{
		/* log it, clean up, and try again at the next pass */
		HOLD_INTERRUPTS();
		MemoryContextSwitchTo(cxt);
		if (ShutdownRequestPending && geterrcode() == ERRCODE_QUERY_CANCELED)
			ereport(LOG,
					(errcode(ERRCODE_ADMIN_SHUTDOWN),
					 errmsg("session reaper interrupted its pass to stop")));
		else
		{
			session_stats_pass_failed();
			EmitErrorReport();
		}
		AbortOutOfAnyTransaction();
		FlushErrorState();
		pgstat_report_activity(STATE_IDLE, NULL);
		RESUME_INTERRUPTS();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
}

static void
checked_pass(void)
{
	if (extension_installed())
		reaper_pass();
}

/*
 * Attach the heartbeat buffer (every loop) and write it (when due).  Also
 * without the extension: the buffer then forgets the entries of a dropped
 * sessions table, and a flush with nothing to write still counts as one
 * (the flush age of heartbeat_buffer_status).
 */
static bool flush_due = false;

static void
flush_step(void)
{
	pgstat_report_activity(STATE_RUNNING, "session heartbeat flush");
	session_hbuf_flush(flush_due);
	pgstat_report_activity(STATE_IDLE, NULL);
}

static void
interrupts_step(void)
{
	CHECK_FOR_INTERRUPTS();
}

/*
 * SIGTERM: stop, after cancelling what is under way (see the top of the
 * file).  SIGINT (pg_cancel_backend) keeps PostgreSQL's handler: it cancels
 * the step under way, and the worker goes on.
 */
static void
reaper_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	ShutdownRequestPending = true;
	QueryCancelPending = true;
	InterruptPending = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

/* Once a stop is requested, commits do not wait for a synchronous standby. */
static void
reaper_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_PRE_COMMIT && ShutdownRequestPending &&
		synchronous_commit > SYNCHRONOUS_COMMIT_LOCAL_FLUSH)
		SetConfigOption("synchronous_commit", "local", PGC_SUSET, PGC_S_OVERRIDE);
}

/*
 * The last flush, when asked to stop: what it writes is durable here, and
 * a lock it cannot get within a second is left to the next worker.
 */
static void
final_flush(void)
{
	/* the cancel of the request was for what ran then */
	QueryCancelPending = false;
	SetConfigOption("synchronous_commit", "local", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("lock_timeout", "1s", PGC_SUSET, PGC_S_OVERRIDE);
	flush_due = true;
	run_guarded(flush_step);
}

/* Name the setting when the worker cannot connect to its database. */
static void
connect_error_context(void *arg)
{
	errcontext("session reaper connecting to session.database = \"%s\"",
			   session_database ? session_database : "");
}

void
session_reaper_main(Datum main_arg)
{
	MemoryContext pass_context;
	ErrorContextCallback errcallback;
	TimestampTz last_pass = 0;
	TimestampTz last_flush = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, reaper_sigterm);
	BackgroundWorkerUnblockSignals();

	errcallback.callback = connect_error_context;
	errcallback.arg = NULL;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;
	BackgroundWorkerInitializeConnection(session_database, NULL, 0);
	error_context_stack = errcallback.previous;
	ereport(LOG,
			(errcode(ERRCODE_SUCCESSFUL_COMPLETION),
			 errmsg("session reaper started in database \"%s\"", session_database)));
	session_hbuf_worker_attach();
	RegisterXactCallback(reaper_xact_callback, NULL);

	pass_context = AllocSetContextCreate(TopMemoryContext, "session reaper pass",
										 ALLOCSET_DEFAULT_SIZES);

	while (!ShutdownRequestPending)
	{
		TimestampTz now;
		TimestampTz flush_interval;
		TimestampTz next_pass;
		long		wait_ms;

		/* guarded: a cancel that comes between two steps ends no more than a step */
		run_guarded(interrupts_step);
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		MemoryContextSwitchTo(pass_context);

		/*
		 * With the buffer off (interval 0), what is left is still written,
		 * once a second; and all of it when asked to stop.
		 */
		now = GetCurrentTimestamp();
		flush_interval = (TimestampTz) (session_heartbeat_flush_interval > 0 ?
										session_heartbeat_flush_interval : 1000) * 1000;
		flush_due = now >= last_flush + flush_interval;
		run_guarded(flush_step);
		if (ShutdownRequestPending)
			break;
		if (flush_due)
			last_flush = now;
		/* from the last pass, so that a reload to a shorter interval counts at once */
		if (now >= last_pass + (TimestampTz) session_reaper_interval * USECS_PER_SEC)
		{
			run_guarded(checked_pass);
			last_pass = now;
		}
		next_pass = last_pass + (TimestampTz) session_reaper_interval * USECS_PER_SEC;
		MemoryContextSwitchTo(TopMemoryContext);
		MemoryContextReset(pass_context);

		/*
		 * Wake for the next pass or flush, and at least every second: the
		 * buffer attaches to the sessions table within a second of CREATE
		 * EXTENSION.
		 */
		wait_ms = (long) ((Min(next_pass, last_flush + flush_interval) - GetCurrentTimestamp()) / 1000);
		if (wait_ms > 1000)
			wait_ms = 1000;
		if (wait_ms < 1)
			wait_ms = 1;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 wait_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}

	MemoryContextSwitchTo(pass_context);
	final_flush();
	ereport(LOG,
			(errcode(ERRCODE_ADMIN_SHUTDOWN),
			 errmsg("session reaper stopping"),
			 errdetail("The postmaster starts it again unless the server is shutting down.")));
	/* 1, not 0: exit code 0 would tell the postmaster not to start it again */
	proc_exit(1);
}
