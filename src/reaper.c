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
 *	  sleeps on its latch, reloads its settings on SIGHUP, exits on SIGTERM,
 *	  and is restarted by the postmaster if it dies.  An error in a pass is
 *	  logged and the next pass goes on.
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
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
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
	bool		installed;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	installed = OidIsValid(get_extension_oid("session", true));
	CommitTransactionCommand();
	return installed;
}

/*
 * Run one step in its own transaction.  Each step switches to the
 * extension's owner itself (identity.c), as the functions do.
 */
static void
run_in_transaction(void (*step) (void))
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	step();
	PopActiveSnapshot();
	CommitTransactionCommand();
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
	int64		expired;

	pgstat_report_activity(STATE_RUNNING, "session reaper pass");
	session_stats_pass_begin();
	run_in_transaction(session_maintain_partitions);
	expired = session_expire_now(true);
	if (expired > 0)
		ereport(DEBUG1,
				(errcode(ERRCODE_SUCCESSFUL_COMPLETION),
				 errmsg("session reaper expired " INT64_FORMAT " sessions", expired)));
	if (session_history_retention > 0)
		run_in_transaction(purge_step);
	if (session_event_retention > 0)
		run_in_transaction(session_events_apply_retention);
	session_stats_pass_end(expired);
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* Run one step; an error is logged and the next step goes on. */
static void
run_guarded(void (*step) (void))
{
	PG_TRY();
	{
		step();
	}
	PG_CATCH();
	{
		/* log it, clean up, and try again at the next pass */
		HOLD_INTERRUPTS();
		session_stats_pass_failed();
		EmitErrorReport();
		AbortOutOfAnyTransaction();
		FlushErrorState();
		pgstat_report_activity(STATE_IDLE, NULL);
		RESUME_INTERRUPTS();
	}
	PG_END_TRY();
}

static void
checked_pass(void)
{
	if (extension_installed())
		reaper_pass();
}

/* Attach the heartbeat buffer (every loop) and write it (when due) */
static bool flush_due = false;

static void
flush_step(void)
{
	if (!extension_installed())
		return;
	pgstat_report_activity(STATE_RUNNING, "session heartbeat flush");
	session_hbuf_flush(flush_due);
	pgstat_report_activity(STATE_IDLE, NULL);
}

void
session_reaper_main(Datum main_arg)
{
	MemoryContext pass_context;
	TimestampTz last_pass = 0;
	TimestampTz last_flush = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	/* stop between steps, after writing the buffered heartbeats */
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(session_database, NULL, 0);
	ereport(LOG,
			(errcode(ERRCODE_SUCCESSFUL_COMPLETION),
			 errmsg("session reaper started in database \"%s\"", session_database)));
	session_hbuf_worker_attach();

	pass_context = AllocSetContextCreate(TopMemoryContext, "session reaper pass",
										 ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		TimestampTz now;
		TimestampTz flush_interval;
		TimestampTz next_pass;
		long		wait_ms;

		CHECK_FOR_INTERRUPTS();
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
		flush_due = now >= last_flush + flush_interval || ShutdownRequestPending;
		run_guarded(flush_step);
		if (ShutdownRequestPending)
			proc_exit(0);
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
}
