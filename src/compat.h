/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  What differs between the PostgreSQL versions the extension supports:
 *	  15, 17 and 18.  The rest of the sources use only the names defined
 *	  here, never PG_VERSION_NUM.
 *
 * 16 is refused rather than built untested: make matrix builds and tests
 * 15, 17 and 18, and each condition below is written on a boundary one of
 * those versions crosses.  Some changes the conditions stand for happened
 * in 16 (the regex library's allocator), so a build for 16 would take the
 * wrong branch; the #error keeps it from compiling at all.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SESSION_COMPAT_H
#define SESSION_COMPAT_H

#include "postgres.h"

#include "storage/proc.h"

#if PG_VERSION_NUM < 150000 || (PG_VERSION_NUM >= 160000 && PG_VERSION_NUM < 170000)
#error "session supports PostgreSQL 15, 17 and 18"
#endif

#if PG_VERSION_NUM >= 170000
#include "storage/procnumber.h"
#else
#include "storage/backendid.h"
#endif

/*
 * This backend's slot in per-backend shared arrays (0-based; -1: none).
 * 17 numbers backends from 0 (MyProcNumber); 15 from 1 (MyBackendId).
 */
#if PG_VERSION_NUM >= 170000
#define SESSION_MY_SLOT ((int) MyProcNumber)
#else
#define SESSION_MY_SLOT ((int) MyBackendId - 1)
#endif

/*
 * This backend's local transaction id: 17 moved it into the virtual
 * transaction id of PGPROC.
 */
#if PG_VERSION_NUM >= 170000
#define SESSION_MY_LXID (MyProc->vxid.lxid)
#else
#define SESSION_MY_LXID (MyProc->lxid)
#endif

/* The backend of a virtual transaction id (renamed in 17) */
#if PG_VERSION_NUM >= 170000
#define SESSION_VXID_PROC(vxid) ((vxid).procNumber)
#else
#define SESSION_VXID_PROC(vxid) ((vxid).backendId)
#endif

/*
 * Releases the prefix pg_regprefix() returned.  The regex library allocates
 * with malloc in 15 and in the current memory context (palloc) later.
 */
#if PG_VERSION_NUM >= 170000
#define session_regprefix_free(p) pfree(p)
#else
#define session_regprefix_free(p) free(p)
#endif

/*
 * A minimal tuple formed from values and nulls: 18 added an argument for
 * extra space to allocate after the tuple (none here).
 */
#if PG_VERSION_NUM >= 180000
#define session_form_minimal_tuple(desc, values, nulls) \
	heap_form_minimal_tuple(desc, values, nulls, 0)
#else
#define session_form_minimal_tuple(desc, values, nulls) \
	heap_form_minimal_tuple(desc, values, nulls)
#endif

#endif							/* SESSION_COMPAT_H */
