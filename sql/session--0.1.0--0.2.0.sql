/* session: upgrade from 0.1.0 to 0.2.0 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "ALTER EXTENSION session UPDATE TO '0.2.0'" to load this file. \quit

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
-- trust: storage in schema session_storage, housekeeping without waiting,
-- application close reasons, concurrency buckets on clock boundaries,
-- session.connections.datname
-------------------------------------------------------------------------------

CREATE SCHEMA session_storage;

COMMENT ON SCHEMA session_storage IS
	'Storage of the session extension: tables and partitions that only the extension''s owner uses; read them through the views of schema session.';

-- the sequence (owned by sessions.id) and the indexes move with their tables;
-- partitions are tables of their own
ALTER TABLE session.sessions SET SCHEMA session_storage;
ALTER TABLE session.ended_sessions SET SCHEMA session_storage;
DO $move$
DECLARE
	part text;
BEGIN
	FOR part IN
		SELECT c.relname::text
		FROM pg_catalog.pg_inherits i
		JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'session_storage.ended_sessions'::pg_catalog.regclass
	LOOP
		EXECUTE pg_catalog.format('ALTER TABLE session.%I SET SCHEMA session_storage', part);
	END LOOP;
END
$move$;

COMMENT ON TABLE session_storage.sessions IS
	'Open sessions, one row each; rows move to session_storage.ended_sessions when a session ends. Written only through the session.* functions.';

DROP FUNCTION session.concurrency(timestamptz, timestamptz, interval, text);

CREATE FUNCTION session.concurrency(from_time timestamptz, to_time timestamptz,
									bucket interval DEFAULT '1 hour',
									project_regex text DEFAULT NULL,
									origin timestamptz DEFAULT NULL,
									include_empty boolean DEFAULT false)
RETURNS TABLE (bucket_start timestamptz, project text, peak_sessions integer, distinct_users integer)
AS 'MODULE_PATHNAME', 'session_concurrency'
LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION session.concurrency(timestamptz, timestamptz, interval, text, timestamptz, boolean) IS
	'Per bucket and project: the most sessions open at one moment (true overlap) and the distinct users, from open and ended sessions. Buckets are origin + n * bucket (origin: midnight of 2000-01-01 in the session time zone unless given), every bucket that overlaps from_time .. to_time, each counted over its whole width; include_empty => true adds zero rows for buckets without sessions.';

-- The body of session.concurrency, which validates the arguments, turns
-- project_regex into a whole-value pattern and numbers the buckets first.
-- Each session overlapping a bucket is clipped to it and becomes two
-- events, +1 at its start and -1 at its end; the peak is the largest running
-- sum.  Ends sort before starts at the same instant (a session is open on
-- [start_time, end_time)); open sessions count as open until now.
CREATE FUNCTION session_storage.concurrency(origin timestamptz, bucket interval,
											first_bucket bigint, last_bucket bigint,
											project_pattern text, include_empty boolean)
RETURNS TABLE (bucket_start timestamptz, project text, peak_sessions integer, distinct_users integer)
LANGUAGE sql STABLE PARALLEL RESTRICTED
AS $$
	WITH b AS (
		SELECT $1 OPERATOR(pg_catalog.+) (k::double precision OPERATOR(pg_catalog.*) $2) AS bs,
			   $1 OPERATOR(pg_catalog.+) ((k OPERATOR(pg_catalog.+) 1)::double precision OPERATOR(pg_catalog.*) $2) AS be
		FROM pg_catalog.generate_series($3, $4) AS k),
	r AS (SELECT pg_catalog.min(bs) AS lo, pg_catalog.max(be) AS hi FROM b),
	s AS (
		SELECT o.project, o.username, o.authenticated, o.start_time AS st,
			   pg_catalog.statement_timestamp() AS et
		FROM session_storage.sessions o, r
		WHERE o.start_time OPERATOR(pg_catalog.<) r.hi
		  AND ($5 IS NULL OR o.project OPERATOR(pg_catalog.~) $5)
		UNION ALL
		SELECT e.project, e.username, e.authenticated, e.start_time, e.end_time
		FROM session_storage.ended_sessions e, r
		WHERE e.end_time OPERATOR(pg_catalog.>) r.lo AND e.start_time OPERATOR(pg_catalog.<) r.hi
		  AND ($5 IS NULL OR e.project OPERATOR(pg_catalog.~) $5)),
	sb AS (
		SELECT b.bs, s.project, s.username, s.authenticated,
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
	users AS (
		SELECT bs, project, pg_catalog.count(DISTINCT username) FILTER (WHERE authenticated) AS u
		FROM sb WHERE cs OPERATOR(pg_catalog.<) ce GROUP BY bs, project),
	found AS (
		SELECT p.bs, p.project, p.peak::integer AS peak, u.u::integer AS users
		FROM peaks p JOIN users u ON u.bs OPERATOR(pg_catalog.=) p.bs
		 AND u.project IS NOT DISTINCT FROM p.project),
	-- include_empty: every bucket gets a row for every project found in the
	-- range (one row with a NULL project when none was)
	projects AS (SELECT DISTINCT project FROM found),
	wanted AS (
		SELECT b.bs, pr.project FROM b, projects pr WHERE $6
		UNION ALL
		SELECT b.bs, NULL::text FROM b WHERE $6 AND NOT EXISTS (SELECT FROM projects))
	SELECT bs, project, peak, users FROM found
	UNION ALL
	SELECT w.bs, w.project, 0, 0 FROM wanted w
	WHERE NOT EXISTS (SELECT FROM found f WHERE f.bs OPERATOR(pg_catalog.=) w.bs
					  AND f.project IS NOT DISTINCT FROM w.project)
	ORDER BY 1, 2
$$;

COMMENT ON FUNCTION session_storage.concurrency(timestamptz, interval, bigint, bigint, text, boolean) IS
	'The query of session.concurrency, which calls it with validated arguments';

-------------------------------------------------------------------------------
-- Partition maintenance and retention (called by the C functions and the
-- background worker as the extension's owner)
--
-- Housekeeping never makes the application wait: every lock is taken with
-- NOWAIT, and what cannot be locked now is left for the next pass.
-------------------------------------------------------------------------------

-- Creates the missing partitions of today and the next two days (UTC),
-- moving into each the rows of its day that went to the default partition.
CREATE FUNCTION session_storage.maintain_partitions()
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict error
DECLARE
	today date := (pg_catalog.transaction_timestamp() AT TIME ZONE 'UTC')::date;
	day date;
	part text;
	lo text;
	hi text;
BEGIN
	FOR i IN 0..2 LOOP
		day := today + i;
		part := 'ended_sessions_' || pg_catalog.to_char(day, 'YYYYMMDD');
		CONTINUE WHEN pg_catalog.to_regclass('session_storage.' || part) IS NOT NULL;
		lo := pg_catalog.to_char(day, 'YYYY-MM-DD') || ' 00:00:00+00';
		hi := pg_catalog.to_char(day + 1, 'YYYY-MM-DD') || ' 00:00:00+00';
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

		EXECUTE pg_catalog.format('CREATE TABLE session_storage.%I (LIKE session_storage.ended_sessions INCLUDING DEFAULTS INCLUDING STORAGE)', part);
		EXECUTE pg_catalog.format('WITH m AS (DELETE FROM session_storage.ended_sessions_default WHERE end_time >= %L AND end_time < %L RETURNING *) INSERT INTO session_storage.%I SELECT * FROM m', lo, hi, part);
		-- each partition has its own index (see ended_sessions_default_id_idx)
		EXECUTE pg_catalog.format('CREATE INDEX %I ON session_storage.%I (id)', part || '_id_idx', part);
		EXECUTE pg_catalog.format('ALTER TABLE session_storage.ended_sessions ATTACH PARTITION session_storage.%I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
		EXECUTE pg_catalog.format('COMMENT ON TABLE session_storage.%I IS %L', part,
								  'Sessions that ended on ' || pg_catalog.to_char(day, 'YYYY-MM-DD') || ' (UTC)');
	END LOOP;
END
$$;

COMMENT ON FUNCTION session_storage.maintain_partitions() IS
	'Creates the daily partitions of today and the next two days that are missing, without waiting for a lock';

-- Removes ended sessions older than cutoff and returns how many: whole days
-- are dropped with their partition; only the day that straddles the cutoff
-- and the default partition are deleted row by row.
CREATE FUNCTION session_storage.purge_history(cutoff timestamptz)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict error
DECLARE
	part record;
	removed bigint := 0;
	n bigint;
	parent_locked boolean := false;
	skipped text[] := '{}';
	straddle text := 'ended_sessions_' || pg_catalog.to_char(cutoff AT TIME ZONE 'UTC', 'YYYYMMDD');
BEGIN
	FOR part IN
		SELECT c.relname::text AS name,
			   pg_catalog.to_date(pg_catalog.substr(c.relname::text, 16), 'YYYYMMDD') AS day
		FROM pg_catalog.pg_inherits i
		JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'session_storage.ended_sessions'::pg_catalog.regclass
		  AND c.relname OPERATOR(pg_catalog.~) '^ended_sessions_[0-9]{8}$'
		ORDER BY c.relname
	LOOP
		-- the partition holds [day, day + 1) UTC: drop it when all of it is old
		CONTINUE WHEN ((part.day + 1)::timestamp AT TIME ZONE 'UTC') > cutoff;
		BEGIN
			-- dropping a partition locks its parent exclusively: a reader's
			-- open transaction on session.history would make it wait, and
			-- every session ending after it would queue behind it
			IF NOT parent_locked THEN
				LOCK TABLE ONLY session_storage.ended_sessions IN ACCESS EXCLUSIVE MODE NOWAIT;
				parent_locked := true;
			END IF;
			EXECUTE pg_catalog.format('LOCK TABLE session_storage.%I IN ACCESS EXCLUSIVE MODE NOWAIT', part.name);
		EXCEPTION WHEN lock_not_available THEN
			skipped := skipped OPERATOR(pg_catalog.||) pg_catalog.to_char(part.day, 'YYYY-MM-DD');
			CONTINUE;
		END;
		EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM session_storage.%I', part.name) INTO n;
		EXECUTE pg_catalog.format('DROP TABLE session_storage.%I', part.name);
		removed := removed + n;
	END LOOP;

	-- what is left row by row: the default partition and the straddling day
	FOR part IN
		SELECT c.relname::text AS name
		FROM pg_catalog.pg_inherits i
		JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'session_storage.ended_sessions'::pg_catalog.regclass
		  AND c.relname IN ('ended_sessions_default', straddle)
	LOOP
		BEGIN
			EXECUTE pg_catalog.format('LOCK TABLE session_storage.%I IN ROW EXCLUSIVE MODE NOWAIT', part.name);
			EXECUTE pg_catalog.format('DELETE FROM session_storage.%I WHERE end_time < $1', part.name)
				USING cutoff;
			GET DIAGNOSTICS n = ROW_COUNT;
			removed := removed + n;
		EXCEPTION WHEN lock_not_available THEN
			RAISE WARNING 'session history in % not purged: the partition is in use', part.name
				USING HINT = 'The next purge removes it.';
		END;
	END LOOP;

	IF pg_catalog.cardinality(skipped) > 0 THEN
		RAISE WARNING 'session history of % not purged: the history is in use',
			pg_catalog.array_to_string(skipped, ', ')
			USING DETAIL = 'Another transaction holds a lock on session_storage.ended_sessions (for example a long transaction that read session.history).',
				  HINT = 'The next purge removes it.';
	END IF;
	RETURN removed;
END
$$;

COMMENT ON FUNCTION session_storage.purge_history(timestamptz) IS
	'Removes ended sessions older than cutoff, dropping whole daily partitions, without waiting for a lock; returns how many it removed';

DROP VIEW session.connections;
DROP FUNCTION session.connection_list();

-- pg_stat_activity hides other roles' backends' details from unprivileged
-- roles, so readers list connections through this function
CREATE FUNCTION session.connection_list(OUT pid integer, OUT datname name, OUT usename name,
										OUT application_name text, OUT client_addr inet,
										OUT backend_start timestamptz, OUT state text,
										OUT user_context text, OUT session_id bigint)
RETURNS SETOF record
LANGUAGE sql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT a.pid, a.datname, a.usename, a.application_name, a.client_addr, a.backend_start,
		   a.state, c.user_context, c.session_id
	FROM pg_catalog.pg_stat_activity a
	LEFT JOIN session.backend_contexts() c ON c.pid = a.pid
	WHERE a.backend_type = 'client backend'
$$;

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
REVOKE ALL ON FUNCTION session.concurrency(timestamptz, timestamptz, interval, text, timestamptz, boolean) FROM PUBLIC;
REVOKE ALL ON session.connections FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA session_storage FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA session_storage FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA session_storage FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
	session.connection_list(),
	session.concurrency(timestamptz, timestamptz, interval, text, timestamptz, boolean)
TO session_reader;
GRANT SELECT ON session.connections TO session_reader;

-- a node restarting closes its own sessions without session_admin
REVOKE EXECUTE ON FUNCTION session.close_node_sessions(text, text) FROM session_admin;
GRANT EXECUTE ON FUNCTION session.close_node_sessions(text, text) TO session_app;

-------------------------------------------------------------------------------
-- hbuf: the heartbeat buffer's live values over the stored ones
-------------------------------------------------------------------------------

CREATE FUNCTION session.live_last_comm(session_id bigint, stored timestamptz)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'session_live_last_comm'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

COMMENT ON FUNCTION session.live_last_comm(bigint, timestamptz) IS
	'last_comm of an open session including heartbeats not yet written to its row (stored: the row''s value)';

CREATE FUNCTION session.live_recent_bytes(session_id bigint, stored bigint)
RETURNS bigint
AS 'MODULE_PATHNAME', 'session_live_recent_bytes'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

COMMENT ON FUNCTION session.live_recent_bytes(bigint, bigint) IS
	'recent_bytes_sent of an open session including heartbeats not yet written to its row (stored: the row''s value)';

CREATE FUNCTION session.live_total_bytes(session_id bigint, stored bigint)
RETURNS bigint
AS 'MODULE_PATHNAME', 'session_live_total_bytes'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

COMMENT ON FUNCTION session.live_total_bytes(bigint, bigint) IS
	'total_bytes_sent of an open session including heartbeats not yet written to its row (stored: the row''s value)';

CREATE FUNCTION session.heartbeat_buffer_status()
RETURNS TABLE (slots integer, used integer, flush_interval_ms integer, last_flush timestamptz,
			   flushes bigint, flushed_rows bigint, table_path_heartbeats bigint)
AS 'MODULE_PATHNAME', 'session_heartbeat_buffer_status'
LANGUAGE C VOLATILE PARALLEL RESTRICTED
ROWS 1;

COMMENT ON FUNCTION session.heartbeat_buffer_status() IS
	'The shared-memory heartbeat buffer: its slots, those in use, the flush interval, the last flush, flushes and rows written since the server started, and heartbeats that found no slot and wrote their row (zeros without preloading)';

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
	FROM session_storage.sessions s
	ORDER BY s.start_time, s.id;

REVOKE ALL ON FUNCTION
	session.live_last_comm(bigint, timestamptz),
	session.live_recent_bytes(bigint, bigint),
	session.live_total_bytes(bigint, bigint),
	session.heartbeat_buffer_status()
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	session.live_last_comm(bigint, timestamptz),
	session.live_recent_bytes(bigint, bigint),
	session.live_total_bytes(bigint, bigint),
	session.heartbeat_buffer_status()
TO session_reader;
-- Events: the event log replaces NOTIFY payloads
--
-- The event log: one row per open, close, expiry, termination, eviction and
-- user change, written in the transaction that made the change.  Readers
-- never see the table; they call session.events_since(), which returns
-- events in event_id order and never skips one that commits late (see
-- src/events.c).  The background worker removes events older than
-- session.event_retention.
-------------------------------------------------------------------------------

CREATE SEQUENCE session_storage.events_event_id_seq AS bigint;

CREATE TABLE session_storage.events (
	event_id			bigint NOT NULL DEFAULT pg_catalog.nextval('session_storage.events_event_id_seq'),
	event_time			timestamptz NOT NULL,
	event				text NOT NULL,
	id					bigint NOT NULL,
	uuid				uuid NOT NULL,
	username			text NOT NULL,
	project				text,
	node				text,
	scope				text NOT NULL,
	reason				text,
	CONSTRAINT events_pkey PRIMARY KEY (event_id)
);

ALTER SEQUENCE session_storage.events_event_id_seq OWNED BY session_storage.events.event_id;

-- a consumer's cursor (the last event_id it read) stays valid across a dump and restore
SELECT pg_catalog.pg_extension_config_dump('session_storage.events', '');
SELECT pg_catalog.pg_extension_config_dump('session_storage.events_event_id_seq', '');

COMMENT ON TABLE session_storage.events IS
	'The event log, read with session.events_since(); rows older than session.event_retention are removed by the background worker';
COMMENT ON SEQUENCE session_storage.events_event_id_seq IS 'Source of event ids; never reused.';
COMMENT ON COLUMN session_storage.events.event_id IS 'Position in the log: the cursor of events_since';
COMMENT ON COLUMN session_storage.events.event_time IS 'When the change happened (the start of its statement)';
COMMENT ON COLUMN session_storage.events.event IS 'open, close, expire, terminate, evict or user';
COMMENT ON COLUMN session_storage.events.id IS 'The session''s numerical identifier';
COMMENT ON COLUMN session_storage.events.uuid IS 'The session''s uuid';
COMMENT ON COLUMN session_storage.events.username IS 'The user after the change; ''Unauthenticated'' if nobody is logged in';
COMMENT ON COLUMN session_storage.events.project IS 'The session''s project';
COMMENT ON COLUMN session_storage.events.node IS 'The application node that owns the session';
COMMENT ON COLUMN session_storage.events.scope IS 'The session''s scope';
COMMENT ON COLUMN session_storage.events.reason IS 'The end reason (close, expire, terminate, evict); login or logout (user); NULL (open)';

CREATE FUNCTION session.events_since(after_event_id bigint DEFAULT 0, max_rows integer DEFAULT 1000)
RETURNS TABLE (event_id bigint, event_time timestamptz, event text, id bigint, uuid uuid,
			   username text, project text, node text, scope text, reason text)
AS 'MODULE_PATHNAME', 'session_events_since'
LANGUAGE C VOLATILE PARALLEL RESTRICTED
ROWS 1000;

COMMENT ON FUNCTION session.events_since(bigint, integer) IS
	'Events after after_event_id, at most max_rows, in event_id order; pass the last event_id read to get the next ones (needs shared_preload_libraries = ''session'')';

REVOKE ALL ON session_storage.events, session_storage.events_event_id_seq FROM PUBLIC;
REVOKE ALL ON FUNCTION session.events_since(bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION session.events_since(bigint, integer) TO session_reader;


-- ops: monitoring (session.stats(), open_session_counts, open_summary)
-------------------------------------------------------------------------------

CREATE FUNCTION session.stats(OUT name text, OUT labels jsonb, OUT value double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'session_stats'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

COMMENT ON FUNCTION session.stats() IS
	'Counters for monitoring, read from shared memory without a table scan: sessions ended since the server started by reason (counted at commit) in this database, and the background worker''s pass figures when it serves this database (needs shared_preload_libraries = ''session'')';

-- Monitoring reads these on every scrape: they aggregate the open sessions in
-- one pass each (no ORDER BY, no per-row computed columns, unlike
-- active_sessions), and the oldest start comes from the (start_time, id) index.
CREATE VIEW session.open_session_counts AS
	SELECT s.project, s.node, s.scope, count(*) AS sessions, min(s.start_time) AS oldest_start
	FROM session_storage.sessions s
	GROUP BY s.project, s.node, s.scope;

COMMENT ON VIEW session.open_session_counts IS
	'Open sessions per project, node and scope (for monitoring)';
COMMENT ON COLUMN session.open_session_counts.project IS 'The application project';
COMMENT ON COLUMN session.open_session_counts.node IS 'The application node that owns the sessions';
COMMENT ON COLUMN session.open_session_counts.scope IS 'browser, designer, ios, android, client or clientless';
COMMENT ON COLUMN session.open_session_counts.sessions IS 'Open sessions of this project, node and scope';
COMMENT ON COLUMN session.open_session_counts.oldest_start IS 'Start of the oldest of them';

CREATE VIEW session.open_summary AS
	SELECT COALESCE(pg_catalog.sum(u.sessions), 0)::bigint AS sessions,
		   count(*) FILTER (WHERE u.authenticated) AS users,
		   COALESCE(pg_catalog.sum(u.clientless), 0)::bigint AS clientless,
		   COALESCE(max(u.limited) FILTER (WHERE u.authenticated), 0) AS most_sessions_of_one_user,
		   (SELECT min(o.start_time) FROM session_storage.sessions o) AS oldest_start
	FROM (SELECT s.username, s.authenticated, count(*) AS sessions,
				 count(*) FILTER (WHERE s.scope = 'clientless') AS clientless,
				 count(*) FILTER (WHERE s.scope <> 'clientless') AS limited
		  FROM session_storage.sessions s
		  GROUP BY s.username, s.authenticated) u;

COMMENT ON VIEW session.open_summary IS
	'One row for monitoring: open sessions, distinct logged-in users, clientless sessions, the most sessions one user holds toward session.max_sessions_per_user, and the oldest start';
COMMENT ON COLUMN session.open_summary.sessions IS 'Open sessions';
COMMENT ON COLUMN session.open_summary.users IS 'Distinct logged-in users with an open session';
COMMENT ON COLUMN session.open_summary.clientless IS 'Open clientless sessions';
COMMENT ON COLUMN session.open_summary.most_sessions_of_one_user IS
	'The most open sessions one logged-in user holds, counted as session.max_sessions_per_user counts them (clientless sessions excluded)';
COMMENT ON COLUMN session.open_summary.oldest_start IS 'Start of the oldest open session (NULL when none is open)';

REVOKE ALL ON FUNCTION session.stats() FROM PUBLIC;
REVOKE ALL ON session.open_session_counts, session.open_summary FROM PUBLIC;
GRANT EXECUTE ON FUNCTION session.stats() TO session_reader;
GRANT SELECT ON session.open_session_counts, session.open_summary TO session_reader;
