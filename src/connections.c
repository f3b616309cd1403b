/*-------------------------------------------------------------------------
 *
 * connections.c
 *	  A shared-memory slot per backend holding its user context and attached
 *	  session, so that session.connections can show every connection's.
 *	  Needs shared_preload_libraries = 'session'.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(session_backend_contexts);

/* 256 characters of up to 4 bytes each */
#define CONTEXT_BYTES (SESSION_MAX_NAME_LEN * 4 + 1)

typedef struct BackendContextSlot
{
	slock_t		mutex;
	int			pid;			/* 0: free */
	int64		session_id;		/* 0: none */
	char		user_context[CONTEXT_BYTES];
} BackendContextSlot;

typedef struct BackendContexts
{
	int			nslots;
	BackendContextSlot slots[FLEXIBLE_ARRAY_MEMBER];
} BackendContexts;

static BackendContexts *contexts = NULL;
static bool exit_callback_registered = false;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static Size
contexts_size(void)
{
	return add_size(offsetof(BackendContexts, slots),
					mul_size(MaxBackends, sizeof(BackendContextSlot)));
}

static void
contexts_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(contexts_size());
}

static void
contexts_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	contexts = ShmemInitStruct("session backend contexts", contexts_size(), &found);
	if (!found)
	{
		contexts->nslots = MaxBackends;
		for (int i = 0; i < MaxBackends; i++)
		{
			SpinLockInit(&contexts->slots[i].mutex);
			contexts->slots[i].pid = 0;
			contexts->slots[i].session_id = 0;
			contexts->slots[i].user_context[0] = '\0';
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

void
session_connections_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = contexts_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = contexts_shmem_startup;
}

static BackendContextSlot *
my_slot(void)
{
	int			slot = SESSION_MY_SLOT;

	if (contexts == NULL || slot < 0 || slot >= contexts->nslots)
		return NULL;
	return &contexts->slots[slot];
}

static void
clear_my_slot(int code, Datum arg)
{
	BackendContextSlot *slot = my_slot();

	if (slot == NULL)
		return;
	SpinLockAcquire(&slot->mutex);
	slot->pid = 0;
	slot->session_id = 0;
	slot->user_context[0] = '\0';
	SpinLockRelease(&slot->mutex);
}

static void
ensure_exit_callback(void)
{
	if (!exit_callback_registered)
	{
		on_shmem_exit(clear_my_slot, (Datum) 0);
		exit_callback_registered = true;
	}
}

/*
 * Record this backend's context.  Called from the settings' assign hooks,
 * so it must not fail.
 */
void
session_connections_publish(const char *user_context, int64 session_id)
{
	BackendContextSlot *slot = my_slot();

	if (slot == NULL)
		return;
	ensure_exit_callback();
	SpinLockAcquire(&slot->mutex);
	slot->pid = MyProcPid;
	slot->session_id = session_id;
	strlcpy(slot->user_context, user_context ? user_context : "", CONTEXT_BYTES);
	SpinLockRelease(&slot->mutex);
}

Datum
session_backend_contexts(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	if (contexts == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("session.connections needs the session library preloaded"),
				 errhint("Add session to shared_preload_libraries.")));

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < contexts->nslots; i++)
	{
		BackendContextSlot *slot = &contexts->slots[i];
		int			pid;
		int64		session_id;
		char		ctx[CONTEXT_BYTES];
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		SpinLockAcquire(&slot->mutex);
		pid = slot->pid;
		session_id = slot->session_id;
		memcpy(ctx, slot->user_context, CONTEXT_BYTES);
		SpinLockRelease(&slot->mutex);

		if (pid == 0 || (ctx[0] == '\0' && session_id == 0))
			continue;
		values[0] = Int32GetDatum(pid);
		values[1] = CStringGetTextDatum(ctx);
		nulls[1] = (ctx[0] == '\0');
		values[2] = Int64GetDatum(session_id);
		nulls[2] = (session_id == 0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
