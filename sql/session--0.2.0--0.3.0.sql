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

-------------------------------------------------------------------------------
-- Reporting and import (0.3.0): what changes in objects of 0.2.0
-------------------------------------------------------------------------------

-- history partitions get the reporting indexes (created below)
-- Creates the missing partitions of today and the next two days (UTC),
-- moving into each the rows of its day that went to the default partition.
CREATE OR REPLACE FUNCTION session_storage.maintain_partitions()
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict error
DECLARE
	today date := (pg_catalog.transaction_timestamp() AT TIME ZONE 'UTC')::date;
	day date;
	part text;
BEGIN
	FOR i IN 0..2 LOOP
		day := today + i;
		part := 'ended_sessions_' || pg_catalog.to_char(day, 'YYYYMMDD');
		CONTINUE WHEN pg_catalog.to_regclass('session_storage.' || part) IS NOT NULL;
		BEGIN
			-- A session ending right now may already have chosen the default
			-- partition for its row; attaching the partition that covers now
			-- would make that row violate the default partition's new
			-- constraint.  So for today no writer at all may be active;
			-- future days cannot receive current rows.
			IF i = 0 THEN
				LOCK TABLE ONLY session_storage.ended_sessions IN SHARE ROW EXCLUSIVE MODE NOWAIT;
			ELSE
				LOCK TABLE ONLY session_storage.ended_sessions IN SHARE UPDATE EXCLUSIVE MODE NOWAIT;
			END IF;
			LOCK TABLE session_storage.ended_sessions_default IN ACCESS EXCLUSIVE MODE NOWAIT;
		EXCEPTION WHEN lock_not_available THEN
			-- days ahead have later passes before they begin; today matters
			IF i = 0 THEN
				RAISE WARNING 'partition % of session history not created: the history is in use', part
					USING DETAIL = 'Sessions that end today go to the default partition until a later pass creates it.';
			END IF;
			CONTINUE;
		END;
		-- someone may have created it while we were getting the locks
		CONTINUE WHEN pg_catalog.to_regclass('session_storage.' || part) IS NOT NULL;

		PERFORM session_storage.create_history_partition(day);
	END LOOP;
END
$$;

COMMENT ON FUNCTION session_storage.maintain_partitions() IS
	'Creates the daily partitions of today and the next two days that are missing, without waiting for a lock';

CREATE OR REPLACE VIEW session.active_sessions AS
	SELECT s.id, s.uuid, s.username COLLATE "default" AS username, s.authenticated, s.project,
		   s.address, s.scope, s.scope = 'designer' AS is_designer, s.client_id,
		   s.user_agent, s.node, s.start_time,
		   session.live_last_comm(s.id, s.last_comm) AS last_comm,
		   GREATEST(session.elapsed_ms(s.start_time, pg_catalog.statement_timestamp()), 0) AS uptime_ms,
		   GREATEST(session.elapsed_ms(session.live_last_comm(s.id, s.last_comm),
									   pg_catalog.statement_timestamp()), 0) AS last_comm_ms,
		   pg_catalog.cardinality(s.page_ids) AS active_pages, s.page_ids,
		   session.live_recent_bytes(s.id, s.recent_bytes_sent) AS recent_bytes_sent,
		   session.live_total_bytes(s.id, s.total_bytes_sent) AS total_bytes_sent,
		   s.attributes, NULL::timestamptz AS end_time, NULL::text AS end_reason
	FROM session_storage.sessions s;

-- No ORDER BY: a view that sorts makes every aggregate over it pay for the
-- sort.  get_session_info() sorts; a query on the view adds ORDER BY
-- start_time, id when it needs that order (the (start_time, id) index
-- returns it without a sort).
COMMENT ON VIEW session.active_sessions IS
	'Open sessions: the rows of session.get_session_info() as a view (unordered; ORDER BY start_time, id for its order)';

-- concurrency gains group_by (and the node and scope columns): the old
-- calls, positional or named, mean what they meant
DROP FUNCTION session.concurrency(timestamptz, timestamptz, interval, text, timestamptz, boolean);
DROP FUNCTION session_storage.concurrency(timestamptz, interval, bigint, bigint, text, boolean);

CREATE FUNCTION session.concurrency(from_time timestamptz, to_time timestamptz,
									bucket interval DEFAULT '1 hour',
									project_regex text DEFAULT NULL,
									origin timestamptz DEFAULT NULL,
									include_empty boolean DEFAULT false,
									group_by text DEFAULT 'project')
RETURNS TABLE (bucket_start timestamptz, project text, peak_sessions integer, distinct_users integer,
			   node text, scope text)
AS 'MODULE_PATHNAME', 'session_concurrency'
LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION session.concurrency(timestamptz, timestamptz, interval, text, timestamptz, boolean, text) IS
	'Per bucket and group: the most sessions open at one moment (true overlap) and the distinct users logged in during the bucket (from the logins), from open and ended sessions. group_by is project (the default), node, scope or none (one row per bucket, the overall peak; project, node and scope NULL); the column of the group is filled, the others are NULL. Buckets are origin + n * bucket (origin: midnight of 2000-01-01 in the session time zone unless given), every bucket that overlaps from_time .. to_time, each counted over its whole width; include_empty => true adds zero rows for buckets without sessions.';

-- The body of session.concurrency, which validates the arguments, turns
-- project_regex into a whole-value pattern and numbers the buckets first.
-- Rows are grouped by g, the value of the group_by column (NULL for none):
-- peaks of groups cannot be added up, so the overall peak is its own sweep.
-- Each session overlapping a bucket is clipped to it and becomes two
-- events, +1 at its start and -1 at its end; the peak is the largest running
-- sum.  Ends sort before starts at the same instant (a session is open on
-- [start_time, end_time)); open sessions count as open until now.
CREATE FUNCTION session_storage.concurrency(origin timestamptz, bucket interval,
											first_bucket bigint, last_bucket bigint,
											project_pattern text, include_empty boolean,
											group_by text)
RETURNS TABLE (bucket_start timestamptz, project text, peak_sessions integer, distinct_users integer,
			   node text, scope text)
LANGUAGE sql STABLE PARALLEL RESTRICTED
AS $$
	WITH b AS (
		SELECT $1 OPERATOR(pg_catalog.+) (k::double precision OPERATOR(pg_catalog.*) $2) AS bs,
			   $1 OPERATOR(pg_catalog.+) ((k OPERATOR(pg_catalog.+) 1)::double precision OPERATOR(pg_catalog.*) $2) AS be
		FROM pg_catalog.generate_series($3, $4) AS k),
	r AS (SELECT pg_catalog.min(bs) AS lo, pg_catalog.max(be) AS hi FROM b),
	s AS (
		SELECT CASE WHEN $7 OPERATOR(pg_catalog.=) 'project' THEN o.project
					WHEN $7 OPERATOR(pg_catalog.=) 'node' THEN o.node
					WHEN $7 OPERATOR(pg_catalog.=) 'scope' THEN o.scope END AS project,
			   o.username, o.authenticated, o.login_times AS lt, o.login_users AS lu,
			   o.start_time AS st, pg_catalog.statement_timestamp() AS et
		FROM session_storage.sessions o, r
		WHERE o.start_time OPERATOR(pg_catalog.<) r.hi
		  AND ($5 IS NULL OR o.project OPERATOR(pg_catalog.~) $5)
		UNION ALL
		SELECT CASE WHEN $7 OPERATOR(pg_catalog.=) 'project' THEN e.project
					WHEN $7 OPERATOR(pg_catalog.=) 'node' THEN e.node
					WHEN $7 OPERATOR(pg_catalog.=) 'scope' THEN e.scope END,
			   e.username, e.authenticated, e.login_times, e.login_users, e.start_time, e.end_time
		FROM session_storage.ended_sessions e, r
		WHERE e.end_time OPERATOR(pg_catalog.>) r.lo AND e.start_time OPERATOR(pg_catalog.<) r.hi
		  AND ($5 IS NULL OR e.project OPERATOR(pg_catalog.~) $5)),
	sb AS (
		SELECT b.bs, s.project, s.username, s.authenticated, s.lt, s.lu, s.et,
			   GREATEST(s.st, b.bs) AS cs, LEAST(s.et, b.be) AS ce
		FROM s JOIN b ON s.st OPERATOR(pg_catalog.<) b.be AND s.et OPERATOR(pg_catalog.>) b.bs),
	ev AS (
		SELECT bs, project, cs AS t, 1 AS d FROM sb WHERE cs OPERATOR(pg_catalog.<) ce
		UNION ALL
		SELECT bs, project, ce, -1 FROM sb WHERE cs OPERATOR(pg_catalog.<) ce),
	run AS (
		SELECT bs, project,
			   pg_catalog.sum(d) OVER (PARTITION BY bs, project ORDER BY t, d ROWS UNBOUNDED PRECEDING) AS c
		FROM ev),
	peaks AS (SELECT bs, project, pg_catalog.max(c) AS peak FROM run GROUP BY bs, project),
	-- the users logged in during each session's part of the bucket, from
	-- its login intervals (a row without entries: its user throughout)
	lg AS (
		SELECT sb.bs, sb.project, l.u AS username
		FROM sb, ROWS FROM (pg_catalog.unnest(sb.lt), pg_catalog.unnest(sb.lu)) WITH ORDINALITY AS l(t, u, k)
		WHERE sb.cs OPERATOR(pg_catalog.<) sb.ce AND l.u IS NOT NULL AND l.t OPERATOR(pg_catalog.<) sb.ce
		  AND COALESCE(sb.lt[l.k OPERATOR(pg_catalog.+) 1], sb.et) OPERATOR(pg_catalog.>) sb.cs
		UNION ALL
		SELECT sb.bs, sb.project, sb.username FROM sb
		WHERE sb.cs OPERATOR(pg_catalog.<) sb.ce AND sb.authenticated
		  AND pg_catalog.cardinality(sb.lt) OPERATOR(pg_catalog.=) 0),
	users AS (
		SELECT bs, project, pg_catalog.count(DISTINCT username) AS u FROM lg GROUP BY bs, project),
	found AS (
		SELECT p.bs, p.project, p.peak::integer AS peak, COALESCE(u.u, 0)::integer AS users
		FROM peaks p LEFT JOIN users u ON u.bs OPERATOR(pg_catalog.=) p.bs
		 AND u.project IS NOT DISTINCT FROM p.project),
	-- include_empty: every bucket gets a row for every group found in the
	-- range (one row with a NULL group when none was)
	projects AS (SELECT DISTINCT project FROM found),
	wanted AS (
		SELECT b.bs, pr.project FROM b, projects pr WHERE $6
		UNION ALL
		SELECT b.bs, NULL::text FROM b WHERE $6 AND NOT EXISTS (SELECT FROM projects)),
	rows AS (
		SELECT bs, project AS g, peak, users FROM found
		UNION ALL
		SELECT w.bs, w.project, 0, 0 FROM wanted w
		WHERE NOT EXISTS (SELECT FROM found f WHERE f.bs OPERATOR(pg_catalog.=) w.bs
						  AND f.project IS NOT DISTINCT FROM w.project))
	SELECT bs, CASE WHEN $7 OPERATOR(pg_catalog.=) 'project' THEN g END, peak, users,
		   CASE WHEN $7 OPERATOR(pg_catalog.=) 'node' THEN g END,
		   CASE WHEN $7 OPERATOR(pg_catalog.=) 'scope' THEN g END
	FROM rows
	ORDER BY 1, g
$$;

COMMENT ON FUNCTION session_storage.concurrency(timestamptz, interval, bigint, bigint, text, boolean, text) IS
	'The query of session.concurrency, which calls it with validated arguments';

REVOKE ALL ON FUNCTION session.concurrency(timestamptz, timestamptz, interval, text, timestamptz, boolean, text),
	session_storage.concurrency(timestamptz, interval, bigint, bigint, text, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION session.concurrency(timestamptz, timestamptz, interval, text, timestamptz, boolean, text)
	TO session_reader;

-------------------------------------------------------------------------------
-- Reporting and import (0.3.0): login intervals, history indexes, import,
-- point-in-time listing
-------------------------------------------------------------------------------

-- Login intervals.  Every change of a session's user is kept with the
-- session: two arrays in its row, the times at which the user changed and
-- who it became (NULL: logged out).  set_session_user appends to them in the
-- UPDATE it already makes; that update changes the indexed username, so it
-- was never heap-only, while heartbeats never touch the arrays and stay
-- heap-only.  Ending a session moves the arrays to history with the row, so
-- they are kept exactly as long as history and dropped with its partitions.
-- A row without entries (inserted by hand, or from before 0.3.0 with
-- nothing to rebuild it from) counts its username as logged in for the
-- whole session.
ALTER TABLE session_storage.sessions
	ADD COLUMN login_times timestamptz[] NOT NULL DEFAULT '{}',
	ADD COLUMN login_users text[] NOT NULL DEFAULT '{}';
ALTER TABLE session_storage.ended_sessions
	ADD COLUMN login_times timestamptz[] NOT NULL DEFAULT '{}',
	ADD COLUMN login_users text[] NOT NULL DEFAULT '{}';

COMMENT ON COLUMN session_storage.sessions.login_times IS
	'When the user of the session changed, oldest first (pairs with login_users)';
COMMENT ON COLUMN session_storage.sessions.login_users IS
	'Who was logged in from the matching login_times entry on; NULL: logged out';
COMMENT ON COLUMN session_storage.ended_sessions.login_times IS
	'When the user of the session changed, oldest first (pairs with login_users)';
COMMENT ON COLUMN session_storage.ended_sessions.login_users IS
	'Who was logged in from the matching login_times entry on; NULL: logged out';

-- History's reporting indexes.  Each partition has its own (see
-- ended_sessions_default_id_idx), all b-trees, which a close writes cheaply
-- (sessions end in end_time order): (username, end_time) for per-user
-- drill-downs over a range of days, under the collation of
-- session.history's username so that the view's filters use it; and
-- (start_time, end_time) and (end_time, start_time) for the sessions open at
-- an instant t.  Partitions of the days after t hold only sessions that end
-- after t: start_time <= t reads exactly those open at t.  The partition of
-- t's day is read from whichever side reads less, the sessions that started
-- before t or those that ended after it, each filtered on the other column
-- inside the index.
CREATE FUNCTION session_storage.index_history_partition(part text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict error
BEGIN
	EXECUTE pg_catalog.format('CREATE INDEX %I ON session_storage.%I (username COLLATE "default", end_time)',
							  part || '_username_idx', part);
	EXECUTE pg_catalog.format('CREATE INDEX %I ON session_storage.%I (start_time, end_time)',
							  part || '_start_idx', part);
	EXECUTE pg_catalog.format('CREATE INDEX %I ON session_storage.%I (end_time, start_time)',
							  part || '_end_idx', part);
END
$$;

COMMENT ON FUNCTION session_storage.index_history_partition(text) IS
	'Creates the reporting indexes of a history partition: (username, end_time), (start_time, end_time) and (end_time, start_time)';

-- the partitions that exist already: the default one (and on upgrade the
-- daily ones)
DO $indexes$
DECLARE
	part text;
BEGIN
	FOR part IN
		SELECT c.relname::text FROM pg_catalog.pg_inherits i
		JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'session_storage.ended_sessions'::pg_catalog.regclass
		ORDER BY 1
	LOOP
		PERFORM session_storage.index_history_partition(part);
	END LOOP;
END
$indexes$;

-- Creates the partition of one UTC day, moving into it the rows of that day
-- that went to the default partition.  The caller holds the locks (see
-- maintain_partitions and import_sessions).
CREATE FUNCTION session_storage.create_history_partition(day date)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict error
DECLARE
	part text := 'ended_sessions_' || pg_catalog.to_char(day, 'YYYYMMDD');
	lo text := pg_catalog.to_char(day, 'YYYY-MM-DD') || ' 00:00:00+00';
	hi text := pg_catalog.to_char(day + 1, 'YYYY-MM-DD') || ' 00:00:00+00';
BEGIN
	EXECUTE pg_catalog.format('CREATE TABLE session_storage.%I (LIKE session_storage.ended_sessions INCLUDING DEFAULTS INCLUDING STORAGE)', part);
	EXECUTE pg_catalog.format('WITH m AS (DELETE FROM session_storage.ended_sessions_default WHERE end_time >= %L AND end_time < %L RETURNING *) INSERT INTO session_storage.%I SELECT * FROM m', lo, hi, part);
	-- each partition has its own indexes (see ended_sessions_default_id_idx)
	EXECUTE pg_catalog.format('CREATE INDEX %I ON session_storage.%I (id)', part || '_id_idx', part);
	PERFORM session_storage.index_history_partition(part);
	EXECUTE pg_catalog.format('ALTER TABLE session_storage.ended_sessions ATTACH PARTITION session_storage.%I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
	EXECUTE pg_catalog.format('COMMENT ON TABLE session_storage.%I IS %L', part,
							  'Sessions that ended on ' || pg_catalog.to_char(day, 'YYYY-MM-DD') || ' (UTC)');
END
$$;

COMMENT ON FUNCTION session_storage.create_history_partition(date) IS
	'Creates and attaches the history partition of one UTC day with its indexes; the caller holds the locks';

-- The view of the logins: one row per interval in which a user was logged in
CREATE VIEW session.logins AS
	SELECT s.id AS session_id, l.u COLLATE "default" AS username, l.t AS login_time,
		   s.login_times[l.k OPERATOR(pg_catalog.+) 1] AS logout_time,
		   NULL::timestamptz AS session_end_time
	FROM session_storage.sessions s,
		 ROWS FROM (pg_catalog.unnest(s.login_times), pg_catalog.unnest(s.login_users)) WITH ORDINALITY AS l(t, u, k)
	WHERE l.u IS NOT NULL
	UNION ALL
	SELECT s.id, s.username COLLATE "default", s.start_time, NULL, NULL
	FROM session_storage.sessions s
	WHERE s.authenticated AND pg_catalog.cardinality(s.login_times) OPERATOR(pg_catalog.=) 0
	UNION ALL
	SELECT e.id, l.u COLLATE "default", l.t,
		   COALESCE(e.login_times[l.k OPERATOR(pg_catalog.+) 1], e.end_time), e.end_time
	FROM session_storage.ended_sessions e,
		 ROWS FROM (pg_catalog.unnest(e.login_times), pg_catalog.unnest(e.login_users)) WITH ORDINALITY AS l(t, u, k)
	WHERE l.u IS NOT NULL
	UNION ALL
	SELECT e.id, e.username COLLATE "default", e.start_time, e.end_time, e.end_time
	FROM session_storage.ended_sessions e
	WHERE e.authenticated AND pg_catalog.cardinality(e.login_times) OPERATOR(pg_catalog.=) 0;

COMMENT ON VIEW session.logins IS
	'Every login within a session, open or ended, kept as long as its session''s history; filter on session_end_time to read only the days of history you need';
COMMENT ON COLUMN session.logins.session_id IS 'The session (id of session.active_sessions or session.history)';
COMMENT ON COLUMN session.logins.username IS 'The user who logged in';
COMMENT ON COLUMN session.logins.login_time IS 'When the user logged in (or the session opened with the user)';
COMMENT ON COLUMN session.logins.logout_time IS
	'When the user logged out, another user logged in or the session ended; NULL while logged in';
COMMENT ON COLUMN session.logins.session_end_time IS
	'When the session ended (the partition key of history); NULL while it is open';

-- Import: the input as typed rows, numbered from first_index.  A value that
-- does not convert (a time, an address) fails the statement; import_sessions
-- then converts the elements one at a time to name it.  Logins stay jsonb
-- (import_login_rows converts them).
CREATE FUNCTION session_storage.import_rows(sessions jsonb, first_index bigint)
RETURNS TABLE (i bigint, username text, project text, address inet, scope text, client_id text,
			   user_agent text, node text, start_time timestamptz, last_comm timestamptz,
			   end_time timestamptz, end_reason text, recent_bytes_sent bigint,
			   total_bytes_sent bigint, page_ids text[], attributes jsonb, logins jsonb)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT r.i OPERATOR(pg_catalog.+) first_index OPERATOR(pg_catalog.-) 1,
		   r.username, r.project, r.address::inet, COALESCE(r.scope, 'browser'), r.client_id,
		   r.user_agent, r.node, r.start_time::timestamptz, r.last_comm::timestamptz,
		   r.end_time::timestamptz, r.end_reason,
		   COALESCE(r.recent_bytes_sent::numeric::bigint, 0), COALESCE(r.total_bytes_sent::numeric::bigint, 0),
		   CASE WHEN r.page_ids IS NULL THEN '{}'::text[]
				ELSE ARRAY(SELECT pg_catalog.jsonb_array_elements_text(r.page_ids)) END,
		   r.attributes, r.logins
	FROM ROWS FROM (pg_catalog.jsonb_to_recordset(sessions) AS (username text, project text,
		address text, scope text, client_id text, user_agent text, node text, start_time text,
		last_comm text, end_time text, end_reason text, recent_bytes_sent text, total_bytes_sent text,
		page_ids jsonb, attributes jsonb, logins jsonb)) WITH ORDINALITY
		AS r(username, project, address, scope, client_id, user_agent, node, start_time, last_comm, end_time, end_reason, recent_bytes_sent, total_bytes_sent, page_ids, attributes, logins, i)
$$;

COMMENT ON FUNCTION session_storage.import_rows(jsonb, bigint) IS
	'The elements of the input of session.import_sessions as typed rows, numbered from first_index';

-- Import: the logins of one session as typed rows (k: 1-based position)
CREATE FUNCTION session_storage.import_login_rows(logins jsonb)
RETURNS TABLE (k bigint, username text, login_time timestamptz, logout_time timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT l.k, l.username, l.login_time::timestamptz, l.logout_time::timestamptz
	FROM ROWS FROM (pg_catalog.jsonb_to_recordset(logins) AS (username text, login_time text, logout_time text)) WITH ORDINALITY
		AS l(username, login_time, logout_time, k)
$$;

COMMENT ON FUNCTION session_storage.import_login_rows(jsonb) IS
	'The logins of one session of the input of session.import_sessions as typed rows';

-- The body of session.import_sessions (see there).  All or nothing: every
-- element is checked before anything is written, and a bad one fails the
-- call with its position (from 1) in the message.  Set-based, in stages:
-- shape, then values as given (strings, limits), then conversion, then
-- times; each stage names the first bad row it finds.
CREATE FUNCTION session_storage.import_sessions(sessions jsonb, include_open boolean)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict error
DECLARE
	known CONSTANT text[] := ARRAY['username', 'project', 'address', 'scope', 'client_id', 'user_agent', 'node', 'start_time', 'last_comm', 'end_time', 'end_reason', 'recent_bytes_sent', 'total_bytes_sent', 'page_ids', 'attributes', 'logins'];
	now_ts timestamptz := statement_timestamp();
	today date := (statement_timestamp() AT TIME ZONE 'UTC')::date;
	detail CONSTANT text := 'Rows are numbered from 1 in the order of the array; nothing was imported.';
	bad record;
	el record;
	one record;
	st text;
	msg text;
	day date;
	part text;
	n bigint;
	m bigint;
BEGIN
	IF jsonb_typeof(sessions) <> 'array' THEN
		RAISE EXCEPTION 'sessions must be a JSON array of objects' USING ERRCODE = '22023';
	END IF;

	-- shape: objects with known keys
	SELECT e.i, CASE WHEN jsonb_typeof(e.v) <> 'object' THEN 'is not a JSON object'
					 ELSE 'unknown key "' || (SELECT min(k) FROM jsonb_object_keys(e.v - known) k) || '"' END AS msg
	INTO bad
	FROM jsonb_array_elements(sessions) WITH ORDINALITY AS e(v, i)
	WHERE jsonb_typeof(e.v) <> 'object' OR (e.v - known) <> '{}'::jsonb
	ORDER BY e.i LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'row %: %', bad.i, bad.msg USING ERRCODE = '22023', DETAIL = detail;
	END IF;

	-- values as given: types, required values, limits, scope, reason
	SELECT r.i, p.problem INTO bad
	FROM ROWS FROM (jsonb_to_recordset(sessions) AS (username jsonb, project jsonb, address jsonb, scope jsonb,
		client_id jsonb, user_agent jsonb, node jsonb, start_time jsonb, last_comm jsonb, end_time jsonb,
		end_reason jsonb, recent_bytes_sent jsonb, total_bytes_sent jsonb, page_ids jsonb, attributes jsonb,
		logins jsonb)) WITH ORDINALITY
		AS r(username, project, address, scope, client_id, user_agent, node, start_time, last_comm, end_time, end_reason, recent_bytes_sent, total_bytes_sent, page_ids, attributes, logins, i),
		 LATERAL (SELECT CASE
			WHEN jsonb_typeof(r.username) <> 'string' THEN ARRAY['22023', 'username must be a string']
			WHEN jsonb_typeof(r.project) <> 'string' THEN ARRAY['22023', 'project must be a string']
			WHEN jsonb_typeof(r.address) <> 'string' THEN ARRAY['22023', 'address must be a string']
			WHEN jsonb_typeof(r.scope) <> 'string' THEN ARRAY['22023', 'scope must be a string']
			WHEN jsonb_typeof(r.client_id) <> 'string' THEN ARRAY['22023', 'client_id must be a string']
			WHEN jsonb_typeof(r.user_agent) <> 'string' THEN ARRAY['22023', 'user_agent must be a string']
			WHEN jsonb_typeof(r.node) <> 'string' THEN ARRAY['22023', 'node must be a string']
			WHEN jsonb_typeof(r.start_time) <> 'string' THEN ARRAY['22023', 'start_time must be a string']
			WHEN jsonb_typeof(r.last_comm) <> 'string' THEN ARRAY['22023', 'last_comm must be a string']
			WHEN jsonb_typeof(r.end_time) <> 'string' THEN ARRAY['22023', 'end_time must be a string']
			WHEN jsonb_typeof(r.end_reason) <> 'string' THEN ARRAY['22023', 'end_reason must be a string']
			WHEN r.project IS NULL THEN ARRAY['22004', 'project must not be null']
			WHEN r.start_time IS NULL THEN ARRAY['22004', 'start_time must not be null']
			WHEN r.end_time IS NULL AND NOT include_open
				THEN ARRAY['22004', 'end_time must not be null (include_open => true imports open sessions)']
			WHEN r.end_time IS NULL AND r.end_reason IS NOT NULL THEN ARRAY['22023', 'end_reason is given but end_time is not']
			WHEN (r.username #>> '{}') = '' THEN ARRAY['22023', 'username must not be empty']
			WHEN (r.project #>> '{}') = '' THEN ARRAY['22023', 'project must not be empty']
			WHEN (r.scope #>> '{}') = '' THEN ARRAY['22023', 'scope must not be empty']
			WHEN (r.node #>> '{}') = '' THEN ARRAY['22023', 'node must not be empty']
			WHEN (r.end_reason #>> '{}') = '' THEN ARRAY['22023', 'end_reason must not be empty']
			WHEN char_length((r.username #>> '{}')) > 256 THEN ARRAY['22001', 'username is too long (the limit is 256 characters)']
			WHEN char_length((r.project #>> '{}')) > 256 THEN ARRAY['22001', 'project is too long (the limit is 256 characters)']
			WHEN char_length((r.scope #>> '{}')) > 256 THEN ARRAY['22001', 'scope is too long (the limit is 256 characters)']
			WHEN char_length((r.client_id #>> '{}')) > 256 THEN ARRAY['22001', 'client_id is too long (the limit is 256 characters)']
			WHEN char_length((r.node #>> '{}')) > 256 THEN ARRAY['22001', 'node is too long (the limit is 256 characters)']
			WHEN char_length((r.end_reason #>> '{}')) > 256 THEN ARRAY['22001', 'end_reason is too long (the limit is 256 characters)']
			WHEN char_length(r.user_agent #>> '{}') > 1024
				THEN ARRAY['22001', 'user_agent is too long (the limit is 1024 characters)']
			WHEN (r.scope #>> '{}') NOT IN ('browser', 'designer', 'ios', 'android', 'client', 'clientless')
				THEN ARRAY['22023', 'unknown scope "' || (r.scope #>> '{}') || '": the scope is one of browser, designer, ios, android, client or clientless']
			-- a reserved reason is accepted as it is (history has timeouts);
			-- a lookalike of one is refused, as close_session refuses it
			WHEN (r.end_reason #>> '{}') NOT IN ('timeout', 'max_lifetime', 'terminated', 'evicted', 'node_shutdown', 'closed')
				 AND lower(btrim(regexp_replace(r.end_reason #>> '{}',
					'[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]', '', 'g')))
					 IN ('timeout', 'max_lifetime', 'terminated', 'evicted', 'node_shutdown', 'closed')
				THEN ARRAY['22023', 'reason "' || (r.end_reason #>> '{}') || '" is too close to a reason reserved for the session registry itself']
			WHEN jsonb_typeof(r.recent_bytes_sent) <> 'number'
				THEN ARRAY['22023', 'recent_bytes_sent must be a whole number of bytes, not negative']
			WHEN (r.recent_bytes_sent #>> '{}')::numeric < 0 OR (r.recent_bytes_sent #>> '{}')::numeric > 9223372036854775807
				 OR (r.recent_bytes_sent #>> '{}')::numeric <> trunc((r.recent_bytes_sent #>> '{}')::numeric)
				THEN ARRAY['22023', 'recent_bytes_sent must be a whole number of bytes, not negative']
			WHEN jsonb_typeof(r.total_bytes_sent) <> 'number'
				THEN ARRAY['22023', 'total_bytes_sent must be a whole number of bytes, not negative']
			WHEN (r.total_bytes_sent #>> '{}')::numeric < 0 OR (r.total_bytes_sent #>> '{}')::numeric > 9223372036854775807
				 OR (r.total_bytes_sent #>> '{}')::numeric <> trunc((r.total_bytes_sent #>> '{}')::numeric)
				THEN ARRAY['22023', 'total_bytes_sent must be a whole number of bytes, not negative']
			WHEN jsonb_typeof(r.page_ids) <> 'array' THEN ARRAY['22023', 'page_ids must be an array of strings']
			WHEN jsonb_array_length(r.page_ids) > 1000 THEN ARRAY['22001', 'page_ids has too many entries (the limit is 1000)']
			WHEN r.page_ids IS NOT NULL
				 AND EXISTS (SELECT FROM jsonb_array_elements(r.page_ids) pg WHERE jsonb_typeof(pg) <> 'string')
				THEN ARRAY['22023', 'page_ids must be an array of strings']
			WHEN r.page_ids IS NOT NULL
				 AND EXISTS (SELECT FROM jsonb_array_elements_text(r.page_ids) pg WHERE char_length(pg) > 256)
				THEN ARRAY['22001', 'a page id is too long (the limit is 256 characters)']
			WHEN jsonb_typeof(r.attributes) <> 'object' THEN ARRAY['22023', 'attributes must be a JSON object']
			WHEN pg_column_size(r.attributes) > 65536 THEN ARRAY['22001', 'attributes are too large (the limit is 65536 bytes)']
			WHEN jsonb_typeof(r.logins) <> 'array' THEN ARRAY['22023', 'logins must be an array of objects']
			WHEN r.logins IS NOT NULL AND r.username IS NOT NULL
				THEN ARRAY['22023', 'username and logins are both given (the user of a session with logins is the one logged in at its end)']
			END AS problem) p
	WHERE p.problem IS NOT NULL
	ORDER BY r.i LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'row %: %', bad.i, bad.problem[2] USING ERRCODE = bad.problem[1], DETAIL = detail;
	END IF;

	-- the logins as given
	SELECT r.i, l.k, CASE
			WHEN jsonb_typeof(l.v) <> 'object' THEN ARRAY['22023', 'is not a JSON object']
			WHEN (l.v - ARRAY['username', 'login_time', 'logout_time']) <> '{}'::jsonb
				THEN ARRAY['22023', 'has a key other than username, login_time and logout_time']
			WHEN COALESCE(jsonb_typeof(l.v -> 'username'), 'null') <> 'string'
				 OR COALESCE(jsonb_typeof(l.v -> 'login_time'), 'null') <> 'string'
				THEN ARRAY['22004', 'username and login_time must be strings, not null']
			WHEN jsonb_typeof(l.v -> 'logout_time') NOT IN ('string', 'null')
				THEN ARRAY['22023', 'logout_time must be a string']
			WHEN (l.v ->> 'username') IN ('', 'Unauthenticated')
				THEN ARRAY['22023', 'username must not be empty or Unauthenticated']
			WHEN char_length(l.v ->> 'username') > 256
				THEN ARRAY['22001', 'username is too long (the limit is 256 characters)']
			END AS problem
	INTO bad
	FROM ROWS FROM (jsonb_to_recordset(sessions) AS (logins jsonb)) WITH ORDINALITY
		AS r(logins, i),
		 jsonb_array_elements(r.logins) WITH ORDINALITY AS l(v, k)
	WHERE r.logins IS NOT NULL
	  AND (jsonb_typeof(l.v) <> 'object'
		   OR (l.v - ARRAY['username', 'login_time', 'logout_time']) <> '{}'::jsonb
		   OR COALESCE(jsonb_typeof(l.v -> 'username'), 'null') <> 'string'
		   OR COALESCE(jsonb_typeof(l.v -> 'login_time'), 'null') <> 'string'
		   OR jsonb_typeof(l.v -> 'logout_time') NOT IN ('string', 'null')
		   OR (l.v ->> 'username') IN ('', 'Unauthenticated')
		   OR char_length(l.v ->> 'username') > 256)
	ORDER BY r.i, l.k LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'row %: login %: %', bad.i, bad.k, bad.problem[2] USING ERRCODE = bad.problem[1], DETAIL = detail;
	END IF;

	-- conversion (a temporary table: an error of another element of this
	-- transaction's may have left one)
	IF to_regclass('pg_temp.session_import') IS NOT NULL THEN
		DROP TABLE pg_temp.session_import;
	END IF;
	IF to_regclass('pg_temp.session_import_logins') IS NOT NULL THEN
		DROP TABLE pg_temp.session_import_logins;
	END IF;
	BEGIN
		CREATE TEMP TABLE session_import ON COMMIT DROP AS
			SELECT * FROM session_storage.import_rows(sessions, 1);
		CREATE TEMP TABLE session_import_logins ON COMMIT DROP AS
			SELECT t.i, l.*, lead(l.login_time) OVER (PARTITION BY t.i ORDER BY l.k) AS next_login,
				   lag(l.logout_time) OVER (PARTITION BY t.i ORDER BY l.k) AS prev_logout,
				   lag(l.k) OVER (PARTITION BY t.i ORDER BY l.k) AS prev_k
			FROM pg_temp.session_import t, session_storage.import_login_rows(t.logins) l
			WHERE t.logins IS NOT NULL;
	EXCEPTION WHEN data_exception THEN
		FOR el IN SELECT e.v, e.i FROM jsonb_array_elements(sessions) WITH ORDINALITY AS e(v, i) ORDER BY e.i LOOP
			BEGIN
				SELECT * INTO one FROM session_storage.import_rows(jsonb_build_array(el.v), el.i);
				SELECT * INTO one FROM session_storage.import_login_rows(el.v -> 'logins');
			EXCEPTION WHEN data_exception THEN
				GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
				RAISE EXCEPTION 'row %: %', el.i, msg USING ERRCODE = st, DETAIL = detail;
			END;
		END LOOP;
		RAISE;
	END;

	-- times: finite, not in the future, in order
	SELECT t.i, CASE
			WHEN NOT isfinite(t.start_time) OR NOT isfinite(t.last_comm) OR NOT isfinite(t.end_time)
				THEN ARRAY['22008', 'times must be finite']
			WHEN t.start_time > now_ts OR t.last_comm > now_ts OR t.end_time > now_ts
				THEN ARRAY['22008', 'a time is in the future']
			WHEN t.end_time < t.start_time THEN ARRAY['22023', 'end_time is before start_time']
			WHEN t.last_comm < t.start_time THEN ARRAY['22023', 'last_comm is before start_time']
			WHEN t.last_comm > t.end_time THEN ARRAY['22023', 'last_comm is after end_time']
			END AS problem
	INTO bad
	FROM pg_temp.session_import t
	WHERE NOT isfinite(t.start_time) OR NOT isfinite(t.last_comm) OR NOT isfinite(t.end_time)
	   OR t.start_time > now_ts OR t.last_comm > now_ts OR t.end_time > now_ts
	   OR t.end_time < t.start_time OR t.last_comm < t.start_time OR t.last_comm > t.end_time
	ORDER BY t.i LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'row %: %', bad.i, bad.problem[2] USING ERRCODE = bad.problem[1], DETAIL = detail;
	END IF;

	-- logins: inside the session, in order, not overlapping
	SELECT l.i, CASE
			WHEN NOT isfinite(l.login_time) OR NOT isfinite(l.logout_time)
				THEN ARRAY['22008', 'login ' || l.k || ': times must be finite']
			WHEN l.login_time < t.start_time THEN ARRAY['22023', 'login ' || l.k || ' is before start_time']
			WHEN l.logout_time < l.login_time
				THEN ARRAY['22023', 'login ' || l.k || ': logout_time is before login_time']
			WHEN COALESCE(l.logout_time, l.login_time) > COALESCE(t.end_time, now_ts)
				THEN ARRAY['22023', 'login ' || l.k || ' is after the end of the session']
			WHEN l.prev_k IS NOT NULL AND l.prev_logout IS NULL
				THEN ARRAY['22023', 'login ' || l.prev_k || ' has no logout_time but is not the last']
			WHEN l.login_time < l.prev_logout
				THEN ARRAY['22023', 'login ' || l.k || ' begins before the previous one ends']
			END AS problem
	INTO bad
	FROM pg_temp.session_import_logins l JOIN pg_temp.session_import t USING (i)
	WHERE NOT isfinite(l.login_time) OR NOT isfinite(l.logout_time)
	   OR l.login_time < t.start_time OR l.logout_time < l.login_time
	   OR COALESCE(l.logout_time, l.login_time) > COALESCE(t.end_time, now_ts)
	   OR (l.prev_k IS NOT NULL AND l.prev_logout IS NULL) OR l.login_time < l.prev_logout
	ORDER BY l.i, l.k LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'row %: %', bad.i, bad.problem[2] USING ERRCODE = bad.problem[1], DETAIL = detail;
	END IF;

	-- the partitions of the days before today that are missing (today's and
	-- later ones are the background worker's: a session ending now may be
	-- choosing the default partition)
	FOR day IN
		SELECT DISTINCT (t.end_time AT TIME ZONE 'UTC')::date AS d FROM pg_temp.session_import t
		WHERE t.end_time IS NOT NULL AND (t.end_time AT TIME ZONE 'UTC')::date < today
		ORDER BY d
	LOOP
		part := 'ended_sessions_' || to_char(day, 'YYYYMMDD');
		CONTINUE WHEN to_regclass('session_storage.' || part) IS NOT NULL;
		LOCK TABLE ONLY session_storage.ended_sessions IN SHARE UPDATE EXCLUSIVE MODE;
		LOCK TABLE session_storage.ended_sessions_default IN ACCESS EXCLUSIVE MODE;
		CONTINUE WHEN to_regclass('session_storage.' || part) IS NOT NULL;
		PERFORM session_storage.create_history_partition(day);
	END LOOP;

	-- the rows: new ids and uuids; the user changes as set_session_user
	-- records them (a logout that another login or the end follows at once
	-- is not an entry of its own)
	WITH e AS (
		SELECT l.i, l.k, 0 AS o, l.login_time AS at, l.username AS who FROM pg_temp.session_import_logins l
		UNION ALL
		SELECT l.i, l.k, 1, l.logout_time, NULL
		FROM pg_temp.session_import_logins l JOIN pg_temp.session_import t USING (i)
		WHERE l.logout_time < COALESCE(l.next_login, t.end_time, 'infinity')
		UNION ALL
		SELECT t.i, 1, 0, t.start_time, t.username FROM pg_temp.session_import t
		WHERE t.username <> 'Unauthenticated'),
	a AS (
		SELECT e.i, array_agg(e.at ORDER BY e.k, e.o) AS at, array_agg(e.who ORDER BY e.k, e.o) AS who
		FROM e GROUP BY e.i),
	u AS (
		SELECT t.*, COALESCE(t.last_comm, t.end_time, t.start_time) AS lc,
			   COALESCE(a.at, '{}') AS at, COALESCE(a.who, '{}') AS who,
			   a.who[cardinality(a.who)] AS last_user
		FROM pg_temp.session_import t LEFT JOIN a USING (i)),
	h AS (
		INSERT INTO session_storage.ended_sessions (id, uuid, username, authenticated, project, address,
			scope, client_id, user_agent, node, start_time, last_comm, page_ids, recent_bytes_sent,
			total_bytes_sent, attributes, end_time, end_reason, login_times, login_users)
		SELECT nextval('session_storage.sessions_id_seq'), gen_random_uuid(),
			   COALESCE(u.last_user, 'Unauthenticated'), u.last_user IS NOT NULL, u.project, u.address,
			   u.scope, u.client_id, u.user_agent, u.node, u.start_time, u.lc, u.page_ids,
			   u.recent_bytes_sent, u.total_bytes_sent, u.attributes, u.end_time,
			   COALESCE(u.end_reason, 'logout'), u.at, u.who
		FROM u WHERE u.end_time IS NOT NULL ORDER BY u.i
		RETURNING 1),
	o AS (
		INSERT INTO session_storage.sessions (id, uuid, username, authenticated, project, address,
			scope, client_id, user_agent, node, start_time, last_comm, page_ids, recent_bytes_sent,
			total_bytes_sent, attributes, login_times, login_users)
		SELECT nextval('session_storage.sessions_id_seq'), gen_random_uuid(),
			   COALESCE(u.last_user, 'Unauthenticated'), u.last_user IS NOT NULL, u.project, u.address,
			   u.scope, u.client_id, u.user_agent, u.node, u.start_time, u.lc, u.page_ids,
			   u.recent_bytes_sent, u.total_bytes_sent, u.attributes, u.at, u.who
		FROM u WHERE u.end_time IS NULL ORDER BY u.i
		RETURNING 1)
	SELECT (SELECT count(*) FROM h), (SELECT count(*) FROM o) INTO n, m;

	DROP TABLE pg_temp.session_import_logins;
	DROP TABLE pg_temp.session_import;
	RETURN n + m;
END
$$;

COMMENT ON FUNCTION session_storage.import_sessions(jsonb, boolean) IS
	'The body of session.import_sessions, which calls it as the extension''s owner';

CREATE FUNCTION session.import_sessions(sessions jsonb, include_open boolean DEFAULT false)
RETURNS bigint
AS 'MODULE_PATHNAME', 'session_import_sessions'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION session.import_sessions(jsonb, boolean) IS
	'Records sessions that happened elsewhere or earlier, with their own times: a JSON array of objects (start_time, end_time, end_reason, username or logins, project, node, address, scope, ...). All or nothing; new ids and uuids; no events. include_open => true also imports sessions without end_time as open ones. Returns how many it imported.';

CREATE FUNCTION session.get_session_info_at(at timestamptz, username_regex text DEFAULT NULL,
											project_regex text DEFAULT NULL)
RETURNS SETOF session.session_info
AS 'MODULE_PATHNAME', 'session_get_session_info_at'
LANGUAGE C VOLATILE PARALLEL RESTRICTED
ROWS 100;

COMMENT ON FUNCTION session.get_session_info_at(timestamptz, text, text) IS
	'Sessions open at an instant, open now or ended since, with the user logged in at that instant (Unauthenticated if nobody) and uptime_ms up to it; the other columns as recorded. Regular expressions as for get_session_info; rows in start_time, id order.';

REVOKE ALL ON FUNCTION session.import_sessions(jsonb, boolean),
	session.get_session_info_at(timestamptz, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION session_storage.index_history_partition(text),
	session_storage.create_history_partition(date),
	session_storage.import_rows(jsonb, bigint),
	session_storage.import_login_rows(jsonb),
	session_storage.import_sessions(jsonb, boolean) FROM PUBLIC;
REVOKE ALL ON session.logins FROM PUBLIC;
GRANT SELECT ON session.logins TO session_reader;
GRANT EXECUTE ON FUNCTION session.get_session_info_at(timestamptz, text, text) TO session_reader;
GRANT EXECUTE ON FUNCTION session.import_sessions(jsonb, boolean) TO session_admin;


-- Login data of the sessions recorded before 0.3.0.  Open sessions: their
-- current user, from their last login event (the event log may still hold
-- it) or else from their start.  Ended sessions: rebuilt from the event log
-- where it still has every change up to the user they ended with; the others
-- keep no entries, so their user counts as logged in for the whole session.
-- Entries go in time order, as get_session_info_at searches them.
UPDATE session_storage.sessions s
SET login_times = ARRAY[COALESCE(
		(SELECT pg_catalog.max(e.event_time) FROM session_storage.events e
		 WHERE e.id OPERATOR(pg_catalog.=) s.id AND e.event OPERATOR(pg_catalog.=) 'user'
		   AND e.reason OPERATOR(pg_catalog.=) 'login' AND e.username OPERATOR(pg_catalog.=) s.username),
		s.start_time)],
	login_users = ARRAY[s.username::text]
WHERE s.authenticated;

WITH ev AS (
	SELECT e.id,
		   pg_catalog.array_agg(e.event_time ORDER BY e.event_time, e.event_id) AS at,
		   pg_catalog.array_agg(CASE WHEN e.event OPERATOR(pg_catalog.=) 'user' AND e.reason OPERATOR(pg_catalog.=) 'logout'
								THEN NULL ELSE e.username END ORDER BY e.event_time, e.event_id) AS who,
		   pg_catalog.bool_or(e.event OPERATOR(pg_catalog.=) 'open') AS has_open
	FROM session_storage.events e
	WHERE (e.event OPERATOR(pg_catalog.=) 'open' AND e.username OPERATOR(pg_catalog.<>) 'Unauthenticated')
	   OR e.event OPERATOR(pg_catalog.=) 'user'
	GROUP BY e.id)
UPDATE session_storage.ended_sessions h
SET login_times = ev.at, login_users = ev.who
FROM ev
WHERE h.id OPERATOR(pg_catalog.=) ev.id
  AND ev.who[pg_catalog.cardinality(ev.who)] IS NOT DISTINCT FROM
	  CASE WHEN h.authenticated THEN h.username::text END
  AND (ev.has_open OR EXISTS (SELECT FROM session_storage.events o
							  WHERE o.id OPERATOR(pg_catalog.=) h.id AND o.event OPERATOR(pg_catalog.=) 'open'));
-- Worker: heartbeat_buffer_status() reports the age of the worker's last flush
-- and whether heartbeats write through because that flush is overdue (new
-- columns: the function is made again, with its comment and grants)
-------------------------------------------------------------------------------

DROP FUNCTION session.heartbeat_buffer_status();

CREATE FUNCTION session.heartbeat_buffer_status()
RETURNS TABLE (slots integer, used integer, flush_interval_ms integer, last_flush timestamptz,
			   flushes bigint, flushed_rows bigint, table_path_heartbeats bigint,
			   flush_age_ms bigint, flush_overdue boolean)
AS 'MODULE_PATHNAME', 'session_heartbeat_buffer_status'
LANGUAGE C VOLATILE PARALLEL RESTRICTED
ROWS 1;

COMMENT ON FUNCTION session.heartbeat_buffer_status() IS
	'The shared-memory heartbeat buffer: its slots, those in use, the flush interval, the last flush that wrote rows, flushes and rows written since the server started, heartbeats that found no slot and wrote their row (zeros without preloading), the milliseconds since the background worker last completed a flush (NULL while no worker serves the buffer), and whether that is overdue (5 intervals, at least 10 s), so that heartbeats write their rows';

REVOKE ALL ON FUNCTION session.heartbeat_buffer_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION session.heartbeat_buffer_status() TO session_reader;
