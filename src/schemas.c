/*-------------------------------------------------------------------------
 *
 * schemas.c
 *	  The extension's schemas are its own: checked before its owner runs
 *	  anything.
 *
 *	  The internal statements (queries.c) and the SQL functions of schema
 *	  session_storage name their objects as session.x and session_storage.x,
 *	  and PostgreSQL resolves those names again whenever a backend prepares
 *	  a statement or replans it.  They run as the extension's owner, so a
 *	  schema of that name that another role owns, or may create in, would
 *	  let that role plant a function or view that the owner runs.  The
 *	  install script refuses such a schema; this check makes sure nothing
 *	  changed since: the name session still denotes the extension's schema
 *	  (pg_extension.extnamespace) and session_storage a schema that belongs
 *	  to the extension (pg_depend), both owned by the extension's owner (or
 *	  a superuser, as after a pg_restore run by another superuser), and no
 *	  other role holds CREATE on either.
 *
 *	  identity.c runs it with its owner lookup: once per backend, and again
 *	  after any change of any schema (a rename, a new owner, a GRANT), which
 *	  is also what makes PostgreSQL resolve the statements' names again.
 *
 *-------------------------------------------------------------------------
 */
#include "session.h"

#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

/*
 * Check the schema called name: it is expected_oid, or (expected_oid
 * invalid) a member of extension extoid; owned by owner or a superuser (a
 * role that could run anything anyway); CREATE for nobody else.
 */
static void
check_schema(const char *name, Oid expected_oid, Oid extoid, Oid owner)
{
	Oid			nsp = get_namespace_oid(name, true);
	HeapTuple	tup;
	Oid			nspowner;
	Datum		acldatum;
	bool		isnull;

	if (!OidIsValid(nsp) ||
		(OidIsValid(expected_oid) ? nsp != expected_oid :
		 getExtensionOfObject(NamespaceRelationId, nsp) != extoid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("schema \"%s\" is not a schema of extension \"session\"", name),
				 errdetail("The extension runs statements that name objects of schema %s as its owner.", name),
				 errhint("Give the extension's schema its name back, or drop and create the extension again.")));

	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for schema %u", nsp);

	nspowner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
	if (nspowner != owner && !superuser_arg(nspowner))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("schema \"%s\" is not owned by the owner of extension \"session\"", name),
				 errdetail("Its owner could create objects there that the extension's owner would run."),
				 errhint("Check what schema %s holds, then make %s its owner with ALTER SCHEMA.",
						 name, GetUserNameFromId(owner, false))));

	acldatum = SysCacheGetAttr(NAMESPACEOID, tup, Anum_pg_namespace_nspacl, &isnull);
	if (!isnull)
	{
		Datum	   *items;
		int			n;
		int16		typlen;
		bool		typbyval;
		char		typalign;

		/* (ACL_DAT trips -Wsign-compare in PostgreSQL's own header) */
		get_typlenbyvalalign(ACLITEMOID, &typlen, &typbyval, &typalign);
		deconstruct_array(DatumGetAclP(acldatum), ACLITEMOID, typlen, typbyval,
						  typalign, &items, NULL, &n);
		for (int i = 0; i < n; i++)
		{
			AclItem    *item = (AclItem *) DatumGetPointer(items[i]);
			Oid			grantee = item->ai_grantee;

			if ((ACLITEM_GET_PRIVS(*item) & ACL_CREATE) == 0 ||
				grantee == owner || grantee == nspowner)
				continue;
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("%s may create objects in schema \"%s\"",
							grantee == ACL_ID_PUBLIC ? "PUBLIC" :
							GetUserNameFromId(grantee, false), name),
					 errdetail("Objects created there could be run by the extension's owner."),
					 errhint("Revoke CREATE on schema %s from %s.", name,
							 grantee == ACL_ID_PUBLIC ? "PUBLIC" :
							 GetUserNameFromId(grantee, false))));
		}
	}
	ReleaseSysCache(tup);
}

/*
 * Raise an error unless session and session_storage are the schemas of
 * extension extoid (installed in extnamespace, owned by owner).
 */
void
session_check_schemas(Oid extoid, Oid extnamespace, Oid owner)
{
	check_schema("session", extnamespace, extoid, owner);
	check_schema("session_storage", InvalidOid, extoid, owner);
}
