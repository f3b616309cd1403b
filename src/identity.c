/*-------------------------------------------------------------------------
 *
 * identity.c
 *	  The owner switch: every internal statement of the extension runs as
 *	  the extension's owner with pinned settings, whoever calls.
 *
 *	  Callers are granted EXECUTE on the functions, never any right on the
 *	  storage in schema session_storage; the functions reach it as the owner
 *	  of the extension (pg_extension.extowner), the identity the background
 *	  worker uses too, so every table and partition has one owner.
 *
 *	  What a statement does must not depend on the caller's settings.  The
 *	  settings that could change it are pinned for the duration of the
 *	  switch with PostgreSQL's GUC nesting, as fmgr_security_definer does for
 *	  a function's SET clause: search_path (only pg_catalog, then pg_temp, so
 *	  no object of the caller's is ever found first), the tablespaces a table
 *	  or a temporary file goes to, the access method of a new table, the
 *	  replication role (which decides whether triggers fire) and the string
 *	  literal syntax.  A setting that already has the pinned value is not
 *	  touched, so the common case costs a comparison.
 *
 *	  Errors need no cleanup code: aborting the (sub)transaction restores
 *	  the user id (saved at subtransaction start) and pops the GUC nesting
 *	  levels above the (sub)transaction's, exactly as for SECURITY DEFINER.
 *
 *	  The identity lookup also checks, once per backend, that the loaded
 *	  library and the installed SQL objects are the same version: a library
 *	  newer than the SQL would otherwise run statements against tables that
 *	  do not exist yet; and that the schemas the statements name are the
 *	  extension's own, which no other role can create in (schemas.c).
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_extension.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#ifndef SESSION_VERSION
#error "SESSION_VERSION must be defined (the Makefile passes the control file's default_version)"
#endif

typedef struct PinnedSetting
{
	const char *name;
	const char *value;
} PinnedSetting;

static const PinnedSetting pinned_settings[] = {
	{"search_path", "pg_catalog, pg_temp"},
	{"default_tablespace", ""},
	{"temp_tablespaces", ""},
	{"default_table_access_method", "heap"},
	{"session_replication_role", "origin"},
	{"standard_conforming_strings", "on"},
};

/* The extension's owner, looked up once and forgotten when it may change */
static Oid	extension_owner = InvalidOid;
static bool invalidation_registered = false;

/*
 * pg_extension has no syscache, so no invalidation of its own.  DROP and
 * CREATE EXTENSION create and drop schema session_storage, and REASSIGN
 * OWNED changes the owner of both the extension and that schema: a change
 * of any schema is the signal to look the owner up again.
 */
static void
forget_owner(Datum arg, int cacheid, uint32 hashvalue)
{
	extension_owner = InvalidOid;
}

/*
 * Look up the extension's owner, check the installed version and that the
 * extension's schemas are its own (schemas.c).
 */
static Oid
lookup_extension_owner(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Datum		datum;
	bool		isnull;
	Oid			owner;
	Oid			extoid;
	Oid			extnamespace;
	char	   *version;

	if (!invalidation_registered)
	{
		CacheRegisterSyscacheCallback(NAMESPACEOID, forget_owner, (Datum) 0);
		invalidation_registered = true;
	}

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum("session"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"session\" is not installed in this database")));
	owner = ((Form_pg_extension) GETSTRUCT(tup))->extowner;
	extoid = ((Form_pg_extension) GETSTRUCT(tup))->oid;
	extnamespace = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
	datum = heap_getattr(tup, Anum_pg_extension_extversion, RelationGetDescr(rel), &isnull);
	version = isnull ? pstrdup("") : TextDatumGetCString(datum);
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	if (strcmp(version, SESSION_VERSION) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the session library is version %s but the extension installed in this database is version %s",
						SESSION_VERSION, version),
				 errhint("Run ALTER EXTENSION session UPDATE to bring the database to version %s.",
						 SESSION_VERSION)));
	session_check_schemas(extoid, extnamespace, owner);
	return owner;
}

/*
 * Check, as session_spi_connect does, that the installed SQL is this
 * library's version, for the paths that run no statement (a heartbeat kept
 * in shared memory).  Cached like the owner.
 */
void
session_check_installed(void)
{
	if (!OidIsValid(extension_owner))
		extension_owner = lookup_extension_owner();
}

/*
 * Switch to the extension's owner with pinned settings and connect to SPI.
 * session_spi_finish undoes it; an error undoes it by aborting.
 */
void
session_spi_connect(SessionSpi *st)
{
	GucContext	context;

	if (!OidIsValid(extension_owner))
		extension_owner = lookup_extension_owner();

	GetUserIdAndSecContext(&st->save_userid, &st->save_sec_context);
	SetUserIdAndSecContext(extension_owner,
						   st->save_sec_context | SECURITY_LOCAL_USERID_CHANGE);

	st->save_nestlevel = NewGUCNestLevel();
	context = superuser() ? PGC_SUSET : PGC_USERSET;
	for (size_t i = 0; i < lengthof(pinned_settings); i++)
	{
		const char *current = GetConfigOption(pinned_settings[i].name, true, false);

		if (current == NULL || strcmp(current, pinned_settings[i].value) != 0)
			(void) set_config_option(pinned_settings[i].name, pinned_settings[i].value,
									 context, PGC_S_SESSION, GUC_ACTION_SAVE,
									 true, 0, false);
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

void
session_spi_finish(SessionSpi *st)
{
	SPI_finish();
	AtEOXact_GUC(true, st->save_nestlevel);
	SetUserIdAndSecContext(st->save_userid, st->save_sec_context);
}
