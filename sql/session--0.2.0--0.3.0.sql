/* session: upgrade from 0.2.0 to 0.3.0 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "ALTER EXTENSION session UPDATE TO '0.3.0'" to load this file. \quit

-------------------------------------------------------------------------------
-- Schemas that only the extension's owner controls
--
-- The extension's owner runs statements that name objects of schemas
-- session and session_storage, and so does this script.  An install whose
-- schema another role owns, or may create in, or holds objects of another
-- role (a schema created before CREATE EXTENSION by a role with CREATE on
-- the database) is refused before anything runs: the updated library would
-- refuse it too (src/schemas.c).
-------------------------------------------------------------------------------

DO $owned$
DECLARE
	ext record;
	nsp record;
	problem text;
	-- roles that may own what the extension's owner runs: itself and superusers
	trusted oid[];
BEGIN
	SELECT e.oid, e.extowner, e.extnamespace INTO ext
	FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'session';
	trusted := ARRAY(SELECT r.oid FROM pg_catalog.pg_roles r
					 WHERE r.rolsuper OR r.oid OPERATOR(pg_catalog.=) ext.extowner);
	FOR nsp IN
		SELECT w.name, n.oid, n.nspowner, n.nspacl,
			   n.nspowner OPERATOR(pg_catalog.=) ANY (trusted) AS trusted_owner,
			   CASE WHEN w.name OPERATOR(pg_catalog.=) 'session' THEN n.oid OPERATOR(pg_catalog.=) ext.extnamespace
					ELSE EXISTS (SELECT FROM pg_catalog.pg_depend d
								 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass
								 AND d.objid OPERATOR(pg_catalog.=) n.oid
								 AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
								 AND d.refobjid OPERATOR(pg_catalog.=) ext.oid
								 AND d.deptype OPERATOR(pg_catalog.=) 'e') END AS own
		FROM (VALUES ('session'), ('session_storage')) AS w(name)
		LEFT JOIN pg_catalog.pg_namespace n ON n.nspname OPERATOR(pg_catalog.=) w.name
		WHERE w.name OPERATOR(pg_catalog.=) 'session' OR pg_catalog.to_regnamespace('session_storage') IS NOT NULL
	LOOP
		problem := CASE
			WHEN nsp.oid IS NULL OR NOT nsp.own THEN
				'is not the extension''s schema'
			WHEN NOT nsp.trusted_owner THEN
				pg_catalog.format('is owned by role %s', nsp.nspowner::pg_catalog.regrole)
			WHEN EXISTS (SELECT FROM pg_catalog.aclexplode(nsp.nspacl) a
						 WHERE a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'
						 AND a.grantee OPERATOR(pg_catalog.<>) nsp.nspowner) THEN
				'lets other roles create objects in it'
			WHEN EXISTS (SELECT FROM pg_catalog.pg_class c
						 WHERE c.relnamespace OPERATOR(pg_catalog.=) nsp.oid
						 AND c.relowner OPERATOR(pg_catalog.<>) ALL (trusted))
				 OR EXISTS (SELECT FROM pg_catalog.pg_proc p
							WHERE p.pronamespace OPERATOR(pg_catalog.=) nsp.oid
							AND p.proowner OPERATOR(pg_catalog.<>) ALL (trusted))
				 OR EXISTS (SELECT FROM pg_catalog.pg_type t
							WHERE t.typnamespace OPERATOR(pg_catalog.=) nsp.oid
							AND t.typowner OPERATOR(pg_catalog.<>) ALL (trusted))
				 OR EXISTS (SELECT FROM pg_catalog.pg_operator o
							WHERE o.oprnamespace OPERATOR(pg_catalog.=) nsp.oid
							AND o.oprowner OPERATOR(pg_catalog.<>) ALL (trusted)) THEN
				'holds objects of another role'
		END;
		IF problem IS NOT NULL THEN
			RAISE EXCEPTION 'cannot update extension "session": schema "%" %', nsp.name, problem
				USING ERRCODE = 'object_not_in_prerequisite_state',
					  DETAIL = 'The extension''s owner runs statements that name objects of schemas session and session_storage; no other role may own them, create in them or own objects in them.',
					  HINT = 'Check what the schema holds: move out or drop what is not the extension''s, give it to the extension''s owner with ALTER SCHEMA ... OWNER TO, revoke CREATE from other roles, then update again.';
		END IF;
	END LOOP;
END
$owned$;

-------------------------------------------------------------------------------
-- Functions that read the heartbeat buffer in shared memory are VOLATILE:
-- the buffer changes while a statement runs.  connection_list's body is
-- parsed once, at creation (BEGIN ATOMIC), so it never looks a name up again
-- as the extension's owner.
-------------------------------------------------------------------------------

ALTER FUNCTION session.live_last_comm(bigint, timestamptz) VOLATILE;
ALTER FUNCTION session.live_recent_bytes(bigint, bigint) VOLATILE;
ALTER FUNCTION session.live_total_bytes(bigint, bigint) VOLATILE;
ALTER FUNCTION session.get_session_info(text, text) VOLATILE;
ALTER FUNCTION session.get_session_info(bigint) VOLATILE;

DROP VIEW session.connections;
DROP FUNCTION session.connection_list();

-- pg_stat_activity hides other roles' backends' details from unprivileged
-- roles, so readers list connections through this function.  Its body is
-- parsed once, here (BEGIN ATOMIC): it refers to backend_contexts() by OID
-- and never looks the name up again as the extension's owner.
CREATE FUNCTION session.connection_list(OUT pid integer, OUT datname name, OUT usename name,
										OUT application_name text, OUT client_addr inet,
										OUT backend_start timestamptz, OUT state text,
										OUT user_context text, OUT session_id bigint)
RETURNS SETOF record
LANGUAGE sql VOLATILE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT a.pid, a.datname, a.usename, a.application_name, a.client_addr, a.backend_start,
		   a.state, c.user_context, c.session_id
	FROM pg_catalog.pg_stat_activity a
	LEFT JOIN session.backend_contexts() c ON c.pid OPERATOR(pg_catalog.=) a.pid
	WHERE a.backend_type OPERATOR(pg_catalog.=) 'client backend';
END;

COMMENT ON FUNCTION session.connection_list() IS
	'Every client backend with its user context and attached session (the rows of session.connections)';

CREATE VIEW session.connections AS
	SELECT * FROM session.connection_list();

COMMENT ON VIEW session.connections IS
	'Every client backend with the user context and session it acts for (needs shared_preload_libraries = ''session'')';
COMMENT ON COLUMN session.connections.pid IS 'Backend process id';
COMMENT ON COLUMN session.connections.datname IS 'Database of the connection (a session_id is an id of that database''s registry)';
COMMENT ON COLUMN session.connections.usename IS 'Database role of the connection';
COMMENT ON COLUMN session.connections.application_name IS 'application_name of the connection';
COMMENT ON COLUMN session.connections.client_addr IS 'Address of the database client';
COMMENT ON COLUMN session.connections.backend_start IS 'When the connection started';
COMMENT ON COLUMN session.connections.state IS 'active, idle, idle in transaction, ...';
COMMENT ON COLUMN session.connections.user_context IS 'The application user the connection acts for (session.get_user_context() there)';
COMMENT ON COLUMN session.connections.session_id IS 'The session attached with attach_session (session.current_session_id() there)';

REVOKE ALL ON FUNCTION session.connection_list() FROM PUBLIC;
REVOKE ALL ON session.connections FROM PUBLIC;
GRANT EXECUTE ON FUNCTION session.connection_list() TO session_reader;
GRANT SELECT ON session.connections TO session_reader;

-------------------------------------------------------------------------------
-- session.history describes ended rows: last_comm_ms runs to end_time (as
-- uptime_ms does), and the column comments speak of the end, not of now
-------------------------------------------------------------------------------

CREATE OR REPLACE VIEW session.history AS
	SELECT e.id, e.uuid, e.username COLLATE "default" AS username, e.authenticated, e.project,
		   e.address, e.scope, e.scope = 'designer' AS is_designer, e.client_id,
		   e.user_agent, e.node, e.start_time, e.last_comm,
		   GREATEST(session.elapsed_ms(e.start_time, e.end_time), 0) AS uptime_ms,
		   GREATEST(session.elapsed_ms(e.last_comm, e.end_time), 0) AS last_comm_ms,
		   pg_catalog.cardinality(e.page_ids) AS active_pages, e.page_ids,
		   e.recent_bytes_sent, e.total_bytes_sent, e.attributes, e.end_time,
		   e.end_reason, e.end_time - e.start_time AS duration
	FROM session_storage.ended_sessions e;

COMMENT ON COLUMN session.session_info.last_comm_ms IS 'Milliseconds since last_comm (to end_time once ended)';
COMMENT ON COLUMN session.active_sessions.last_comm_ms IS 'Milliseconds since last_comm (to end_time once ended)';
COMMENT ON COLUMN session.session_info.page_ids IS 'Pages open now (when it ended, for an ended session)';
COMMENT ON COLUMN session.active_sessions.page_ids IS 'Pages open now (when it ended, for an ended session)';

COMMENT ON COLUMN session.history.username IS 'The user when the session ended; ''Unauthenticated'' if nobody was logged in';
COMMENT ON COLUMN session.history.authenticated IS 'False if nobody was logged in when the session ended';
COMMENT ON COLUMN session.history.node IS 'The application node that owned the session';
COMMENT ON COLUMN session.history.last_comm IS 'Last communication before the end';
COMMENT ON COLUMN session.history.uptime_ms IS 'Milliseconds from start_time to end_time';
COMMENT ON COLUMN session.history.last_comm_ms IS 'Milliseconds from last_comm to end_time';
COMMENT ON COLUMN session.history.active_pages IS 'Number of page_ids open when the session ended';
COMMENT ON COLUMN session.history.page_ids IS 'Pages open when the session ended';
COMMENT ON COLUMN session.history.recent_bytes_sent IS 'Bytes reported by the last heartbeat';
COMMENT ON COLUMN session.history.end_time IS 'When the session ended';
COMMENT ON COLUMN session.history.end_reason IS 'logout, timeout, max_lifetime, terminated, node_shutdown, closed, evicted, or the caller''s own word';
