/*-------------------------------------------------------------------------
 *
 * reaper.c
 *	  The background worker that applies the timeouts and the history
 *	  retention every session.reaper_interval, in session.database.
 *
 *	  One worker per cluster, registered when the library is preloaded.  It
 *	  sleeps on its latch, reloads its settings on SIGHUP, exits on SIGTERM,
 *	  and is restarted by the postmaster if it dies.  An error in a pass is
 *	  logged and the next pass goes on.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"

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
	run_in_transaction(session_maintain_partitions);
	expired = session_expire_now(true);
	if (expired > 0)
		ereport(DEBUG1,
				(errcode(ERRCODE_SUCCESSFUL_COMPLETION),
				 errmsg("session reaper expired " INT64_FORMAT " sessions", expired)));
	if (session_history_retention > 0)
		run_in_transaction(purge_step);
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

void
session_reaper_main(Datum main_arg)
{
	MemoryContext pass_context;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(session_database, NULL, 0);
	ereport(LOG,
			(errcode(ERRCODE_SUCCESSFUL_COMPLETION),
			 errmsg("session reaper started in database \"%s\"", session_database)));

	pass_context = AllocSetContextCreate(TopMemoryContext, "session reaper pass",
										 ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		MemoryContextSwitchTo(pass_context);
		PG_TRY();
		{
			if (extension_installed())
				reaper_pass();
		}
		PG_CATCH();
		{
			/* log it, clean up, and try again at the next pass */
			HOLD_INTERRUPTS();
			EmitErrorReport();
			AbortOutOfAnyTransaction();
			FlushErrorState();
			pgstat_report_activity(STATE_IDLE, NULL);
			RESUME_INTERRUPTS();
		}
		PG_END_TRY();
		MemoryContextSwitchTo(TopMemoryContext);
		MemoryContextReset(pass_context);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 (long) session_reaper_interval * 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
