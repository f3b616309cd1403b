/* session: a session registry for multi-node applications */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION session" to load this file. \quit

-------------------------------------------------------------------------------
-- Roles (cluster-wide; created only when missing, never dropped by the
-- extension because other databases may use them)
-------------------------------------------------------------------------------

-- Two databases may run CREATE EXTENSION at the same moment: whichever
-- creates a role (or the membership) first wins, the other accepts it.
DO $roles$
DECLARE
	r text;
BEGIN
	FOREACH r IN ARRAY ARRAY['session_reader', 'session_app', 'session_admin'] LOOP
		IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) THEN
			BEGIN
				EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
			EXCEPTION WHEN duplicate_object OR unique_violation THEN
				NULL;
			END;
		END IF;
	END LOOP;
	BEGIN
		GRANT session_reader, session_app TO session_admin;
	EXCEPTION WHEN duplicate_object OR unique_violation THEN
		NULL;
	END;
END
$roles$;

-------------------------------------------------------------------------------
-- Storage
--
-- Open sessions and ended sessions live in different tables.  The open table
-- stays as small as the number of sessions open now, so listing never reads
-- history.  Its only indexes are on id and username, columns a heartbeat
-- never changes, so heartbeats are heap-only (HOT) updates; fillfactor leaves
-- room on each page for them.  Ended sessions move to a table partitioned by
-- end_time, one partition per day, so old history is dropped a day at a time.
-- The (start_time, id) index returns open sessions in listing order without
-- a sort.  The functions validate every value (scope included) before
-- writing; a CHECK constraint would re-read its expression at every
-- statement start, which costs the write path about 9%.
-------------------------------------------------------------------------------

CREATE SEQUENCE session.sessions_id_seq AS bigint;

CREATE TABLE session.sessions (
	id					bigint NOT NULL DEFAULT pg_catalog.nextval('session.sessions_id_seq'),
	uuid				uuid NOT NULL,
	username			text COLLATE "C" NOT NULL,
	authenticated		boolean NOT NULL,
	project				text,
	address				inet,
	scope				text NOT NULL,
	client_id			text,
	user_agent			text,
	node				text,
	start_time			timestamptz NOT NULL,
	last_comm			timestamptz NOT NULL,
	page_ids			text[] NOT NULL DEFAULT '{}',
	recent_bytes_sent	bigint NOT NULL DEFAULT 0,
	total_bytes_sent	bigint NOT NULL DEFAULT 0,
	attributes			jsonb,
	CONSTRAINT sessions_pkey PRIMARY KEY (id)
) WITH (fillfactor = 70);

ALTER SEQUENCE session.sessions_id_seq OWNED BY session.sessions.id;

CREATE INDEX sessions_username_idx ON session.sessions (username);
CREATE INDEX sessions_start_time_idx ON session.sessions (start_time, id);

COMMENT ON COLUMN session.sessions.id IS 'The numerical session identifier';
COMMENT ON COLUMN session.sessions.uuid IS 'Unique id of the record, never reused';
COMMENT ON COLUMN session.sessions.username IS 'The user; ''Unauthenticated'' while nobody is logged in';
COMMENT ON COLUMN session.sessions.authenticated IS 'False while nobody is logged in';
COMMENT ON COLUMN session.sessions.project IS 'The application project';
COMMENT ON COLUMN session.sessions.address IS 'The client''s address';
COMMENT ON COLUMN session.sessions.scope IS 'browser, designer, ios, android, client or clientless';
COMMENT ON COLUMN session.sessions.client_id IS 'The client''s own identifier';
COMMENT ON COLUMN session.sessions.user_agent IS 'The client''s user agent';
COMMENT ON COLUMN session.sessions.node IS 'The application node that owns the session';
COMMENT ON COLUMN session.sessions.start_time IS 'When the session was opened';
COMMENT ON COLUMN session.sessions.last_comm IS 'Last communication; never moves backwards';
COMMENT ON COLUMN session.sessions.page_ids IS 'Pages open now';
COMMENT ON COLUMN session.sessions.recent_bytes_sent IS 'Bytes reported by the latest heartbeat';
COMMENT ON COLUMN session.sessions.total_bytes_sent IS 'Sum of all bytes reported';
COMMENT ON COLUMN session.sessions.attributes IS 'Free-form application data (a JSON object)';

-- the same columns (collation, NOT NULL, defaults, comments) as session.sessions
CREATE TABLE session.ended_sessions (
	LIKE session.sessions INCLUDING COMMENTS INCLUDING DEFAULTS,
	end_time			timestamptz NOT NULL,
	end_reason			text NOT NULL
) PARTITION BY RANGE (end_time);

CREATE TABLE session.ended_sessions_default PARTITION OF session.ended_sessions DEFAULT;

-- Each partition has its own index on id (created with the partition), not
-- a partitioned index: pg_restore recreates the extension's objects first,
-- and an index on the parent would collide with the dumped partition indexes.
CREATE INDEX ended_sessions_default_id_idx ON session.ended_sessions_default (id);

-- pg_dump keeps the rows of these tables (daily partitions created later are
-- ordinary tables and are dumped like any other)
SELECT pg_catalog.pg_extension_config_dump('session.sessions', '');
SELECT pg_catalog.pg_extension_config_dump('session.sessions_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('session.ended_sessions_default', '');

COMMENT ON TABLE session.sessions IS
	'Open sessions, one row each; rows move to session.ended_sessions when a session ends. Written only through the session.* functions.';
COMMENT ON TABLE session.ended_sessions IS
	'Ended sessions, range-partitioned by end_time into one partition per day (plus a default partition); purge_history drops whole days.';
COMMENT ON TABLE session.ended_sessions_default IS
	'Catch-all partition for ended sessions whose day has no partition yet (partitions are created ahead by expire_sessions and the background worker).';
COMMENT ON SEQUENCE session.sessions_id_seq IS 'Source of session ids; never reused.';


COMMENT ON COLUMN session.ended_sessions.username IS 'The user when the session ended; ''Unauthenticated'' if nobody was logged in';
COMMENT ON COLUMN session.ended_sessions.authenticated IS 'False if nobody was logged in when the session ended';
COMMENT ON COLUMN session.ended_sessions.node IS 'The application node that owned the session';
COMMENT ON COLUMN session.ended_sessions.last_comm IS 'Last communication before the end';
COMMENT ON COLUMN session.ended_sessions.page_ids IS 'Pages open when the session ended';
COMMENT ON COLUMN session.ended_sessions.recent_bytes_sent IS 'Bytes reported by the last heartbeat';
COMMENT ON COLUMN session.ended_sessions.end_time IS 'When the session ended (the partition key)';
COMMENT ON COLUMN session.ended_sessions.end_reason IS 'logout, timeout, max_lifetime, terminated, node_shutdown, closed, evicted, or the caller''s own word';

-------------------------------------------------------------------------------
-- The row type
-------------------------------------------------------------------------------

CREATE TYPE session.session_info AS (
	id					bigint,
	uuid				uuid,
	username			text,
	authenticated		boolean,
	project				text,
	address				inet,
	scope				text,
	is_designer			boolean,
	client_id			text,
	user_agent			text,
	node				text,
	start_time			timestamptz,
	last_comm			timestamptz,
	uptime_ms			bigint,
	last_comm_ms		bigint,
	active_pages		integer,
	page_ids			text[],
	recent_bytes_sent	bigint,
	total_bytes_sent	bigint,
	attributes			jsonb,
	end_time			timestamptz,
	end_reason			text
);

COMMENT ON TYPE session.session_info IS
	'One session, open or ended: the row returned by both forms of session.get_session_info';
-- the columns the type shares with session.sessions mean the same
DO $typecomments$
DECLARE
	col record;
BEGIN
	FOR col IN
		SELECT a.attname, pg_catalog.col_description(a.attrelid, a.attnum) AS description
		FROM pg_catalog.pg_attribute a
		WHERE a.attrelid = 'session.sessions'::pg_catalog.regclass AND a.attnum > 0
		  AND NOT a.attisdropped
	LOOP
		EXECUTE pg_catalog.format('COMMENT ON COLUMN session.session_info.%I IS %L',
								  col.attname, col.description);
	END LOOP;
END
$typecomments$;
COMMENT ON COLUMN session.session_info.is_designer IS 'scope = ''designer''';
COMMENT ON COLUMN session.session_info.uptime_ms IS 'Milliseconds from start to now (to end_time once ended)';
COMMENT ON COLUMN session.session_info.last_comm_ms IS 'Milliseconds since last_comm';
COMMENT ON COLUMN session.session_info.active_pages IS 'Number of page_ids';
COMMENT ON COLUMN session.session_info.end_time IS 'When the session ended; NULL while open';
COMMENT ON COLUMN session.session_info.end_reason IS 'Why the session ended; NULL while open';

-------------------------------------------------------------------------------
-- Registry functions (applications)
-------------------------------------------------------------------------------

CREATE FUNCTION session.open_session(username text, project text,
									 address inet DEFAULT NULL,
									 scope text DEFAULT 'browser',
									 client_id text DEFAULT NULL,
									 user_agent text DEFAULT NULL,
									 node text DEFAULT NULL,
									 attributes jsonb DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'session_open_session'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION session.open_session(text, text, inet, text, text, text, text, jsonb) IS
	'Opens a session and returns its id. A NULL username opens an unauthenticated session.';

CREATE FUNCTION session.set_session_user(session_id bigint, username text)
RETURNS void
AS 'MODULE_PATHNAME', 'session_set_session_user'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION session.set_session_user(bigint, text) IS
	'Logs a user in to an open session, or out of it with NULL (the session becomes Unauthenticated)';

CREATE FUNCTION session.heartbeat(session_id bigint, bytes_sent bigint DEFAULT 0,
								  page_ids text[] DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'session_heartbeat'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION session.heartbeat(bigint, bigint, text[]) IS
	'Records a communication: moves last_comm forward, adds bytes_sent, replaces page_ids when given. False when the session is not open.';

CREATE FUNCTION session.heartbeat(session_ids bigint[], bytes_sent bigint[] DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'session_heartbeat_many'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION session.heartbeat(bigint[], bigint[]) IS
	'Heartbeats many sessions in one call; bytes_sent, when given, pairs with session_ids. Returns how many open sessions were touched.';

CREATE FUNCTION session.close_session(session_id bigint, reason text DEFAULT 'logout')
RETURNS boolean
AS 'MODULE_PATHNAME', 'session_close_session'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION session.close_session(bigint, text) IS
	'Ends a session with the given reason; false when it had already ended';

CREATE FUNCTION session.open_clientless_session(username text, project text DEFAULT NULL,
												node text DEFAULT NULL,
												attributes jsonb DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'session_open_clientless_session'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION session.open_clientless_session(text, text, text, jsonb) IS
	'Opens a server-side session acting on behalf of a user; it stays open until closed';

CREATE FUNCTION session.close_clientless_session(session_id bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'session_close_clientless_session'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION session.close_clientless_session(bigint) IS
	'Ends a clientless session with reason closed; false when it had already ended';

-------------------------------------------------------------------------------
-- Listing (readers)
-------------------------------------------------------------------------------

CREATE FUNCTION session.get_session_info(username_regex text DEFAULT NULL,
										 project_regex text DEFAULT NULL)
RETURNS SETOF session.session_info
AS 'MODULE_PATHNAME', 'session_get_session_info'
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 100;

COMMENT ON FUNCTION session.get_session_info(text, text) IS
	'Open sessions whose whole username and project match the regular expressions (NULL: no filter), in start_time, id order';

CREATE FUNCTION session.get_session_info(session_id bigint)
RETURNS session.session_info
AS 'MODULE_PATHNAME', 'session_get_session_info_by_id'
LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION session.get_session_info(bigint) IS
	'One session by id, open or ended; SE404 when there is no such session';

CREATE FUNCTION session.get_session_user(session_id bigint)
RETURNS text
AS 'MODULE_PATHNAME', 'session_get_session_user'
LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION session.get_session_user(bigint) IS
	'The user of a session, open or ended (''Unauthenticated'' if nobody is logged in); SE404 when there is no such session';

-------------------------------------------------------------------------------
-- User context
-------------------------------------------------------------------------------

CREATE FUNCTION session.set_user_context(username text, is_local boolean DEFAULT false)
RETURNS text
AS 'MODULE_PATHNAME', 'session_set_user_context'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION session.set_user_context(text, boolean) IS
	'Sets the application user this connection acts for (NULL clears it) and returns the previous one; is_local => true lasts until the end of the transaction';

CREATE FUNCTION session.get_user_context()
RETURNS text
AS 'MODULE_PATHNAME', 'session_get_user_context'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION session.get_user_context() IS
	'The application user this connection acts for; NULL when unset. Cheap enough for row-level security policies.';

CREATE FUNCTION session.reset_user_context()
RETURNS void
AS 'MODULE_PATHNAME', 'session_reset_user_context'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION session.reset_user_context() IS
	'Clears the user context and the attached session of this connection';

CREATE FUNCTION session.attach_session(session_id bigint, is_local boolean DEFAULT false)
RETURNS text
AS 'MODULE_PATHNAME', 'session_attach_session'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION session.attach_session(bigint, boolean) IS
	'Links this connection to an open session: the user context becomes its user and current_session_id() its id. Returns the previous user context.';

CREATE FUNCTION session.current_session_id()
RETURNS bigint
AS 'MODULE_PATHNAME', 'session_current_session_id'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION session.current_session_id() IS
	'The session attached to this connection by attach_session; NULL when unattached';

-------------------------------------------------------------------------------
-- Administration
-------------------------------------------------------------------------------

CREATE FUNCTION session.terminate_session(session_id bigint, reason text DEFAULT 'terminated')
RETURNS boolean
AS 'MODULE_PATHNAME', 'session_terminate_session'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION session.terminate_session(bigint, text) IS
	'Ends any session (an administrator''s close); false when it had already ended';

CREATE FUNCTION session.close_node_sessions(node text, reason text DEFAULT 'node_shutdown')
RETURNS bigint
AS 'MODULE_PATHNAME', 'session_close_node_sessions'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION session.close_node_sessions(text, text) IS
	'Ends every open session of an application node (for example when it restarts); returns how many';

CREATE FUNCTION session.expire_sessions()
RETURNS bigint
AS 'MODULE_PATHNAME', 'session_expire_sessions'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION session.expire_sessions() IS
	'Applies session.idle_timeout, session.max_lifetime and session.clientless_idle_timeout now; returns how many sessions it ended';

CREATE FUNCTION session.purge_history(older_than interval)
RETURNS bigint
AS 'MODULE_PATHNAME', 'session_purge_history'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION session.purge_history(interval) IS
	'Removes ended sessions whose end_time is older than now() - older_than, dropping whole daily partitions; returns how many sessions it removed';

-------------------------------------------------------------------------------
-- Reporting
-------------------------------------------------------------------------------

CREATE FUNCTION session.elapsed_ms(from_time timestamptz, to_time timestamptz)
RETURNS bigint
AS 'MODULE_PATHNAME', 'session_elapsed_ms'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION session.elapsed_ms(timestamptz, timestamptz) IS
	'Whole milliseconds from from_time to to_time (how uptime_ms and last_comm_ms are computed)';

CREATE VIEW session.active_sessions AS
	SELECT s.id, s.uuid, s.username COLLATE "default" AS username, s.authenticated, s.project,
		   s.address, s.scope, s.scope = 'designer' AS is_designer, s.client_id,
		   s.user_agent, s.node, s.start_time, s.last_comm,
		   GREATEST(session.elapsed_ms(s.start_time, pg_catalog.statement_timestamp()), 0) AS uptime_ms,
		   GREATEST(session.elapsed_ms(s.last_comm, pg_catalog.statement_timestamp()), 0) AS last_comm_ms,
		   pg_catalog.cardinality(s.page_ids) AS active_pages, s.page_ids,
		   s.recent_bytes_sent, s.total_bytes_sent, s.attributes,
		   NULL::timestamptz AS end_time, NULL::text AS end_reason
	FROM session.sessions s
	ORDER BY s.start_time, s.id;

COMMENT ON VIEW session.active_sessions IS
	'Open sessions in start_time, id order: session.get_session_info() as a view';

CREATE VIEW session.history AS
	SELECT e.id, e.uuid, e.username COLLATE "default" AS username, e.authenticated, e.project,
		   e.address, e.scope, e.scope = 'designer' AS is_designer, e.client_id,
		   e.user_agent, e.node, e.start_time, e.last_comm,
		   GREATEST(session.elapsed_ms(e.start_time, e.end_time), 0) AS uptime_ms,
		   GREATEST(session.elapsed_ms(e.last_comm, pg_catalog.statement_timestamp()), 0) AS last_comm_ms,
		   pg_catalog.cardinality(e.page_ids) AS active_pages, e.page_ids,
		   e.recent_bytes_sent, e.total_bytes_sent, e.attributes, e.end_time,
		   e.end_reason, e.end_time - e.start_time AS duration
	FROM session.ended_sessions e;

COMMENT ON VIEW session.history IS
	'Ended sessions: the session_info columns plus duration; filter on end_time to read only the days you need';
COMMENT ON COLUMN session.history.duration IS 'end_time - start_time';

CREATE VIEW session.project_usage AS
	SELECT s.project,
		   count(*) AS open_sessions,
		   count(DISTINCT s.username) FILTER (WHERE s.authenticated) AS users,
		   count(*) FILTER (WHERE s.scope = 'designer') AS designers,
		   count(*) FILTER (WHERE s.scope = 'clientless') AS clientless,
		   min(s.start_time) AS oldest_start
	FROM session.sessions s
	GROUP BY s.project;

COMMENT ON VIEW session.project_usage IS 'Per project: open sessions, distinct logged-in users, designers, clientless sessions and the oldest start';
COMMENT ON COLUMN session.project_usage.project IS 'The application project (NULL for clientless sessions opened without one)';
COMMENT ON COLUMN session.project_usage.open_sessions IS 'Open sessions of the project';
COMMENT ON COLUMN session.project_usage.users IS 'Distinct logged-in users with an open session';
COMMENT ON COLUMN session.project_usage.designers IS 'Open designer sessions';
COMMENT ON COLUMN session.project_usage.clientless IS 'Open clientless sessions';
COMMENT ON COLUMN session.project_usage.oldest_start IS 'Start of the oldest open session';

CREATE FUNCTION session.backend_contexts(OUT pid integer, OUT user_context text, OUT session_id bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'session_backend_contexts'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION session.backend_contexts() IS
	'The user context and attached session of every backend that has one (needs shared_preload_libraries = ''session'')';

-- pg_stat_activity hides other roles' backends' details from unprivileged
-- roles, so readers list connections through this function
CREATE FUNCTION session.connection_list(OUT pid integer, OUT usename name,
										OUT application_name text, OUT client_addr inet,
										OUT backend_start timestamptz, OUT state text,
										OUT user_context text, OUT session_id bigint)
RETURNS SETOF record
LANGUAGE sql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT a.pid, a.usename, a.application_name, a.client_addr, a.backend_start,
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
COMMENT ON COLUMN session.connections.usename IS 'Database role of the connection';
COMMENT ON COLUMN session.connections.application_name IS 'application_name of the connection';
COMMENT ON COLUMN session.connections.client_addr IS 'Address of the database client';
COMMENT ON COLUMN session.connections.backend_start IS 'When the connection started';
COMMENT ON COLUMN session.connections.state IS 'active, idle, idle in transaction, ...';
COMMENT ON COLUMN session.connections.user_context IS 'The application user the connection acts for (session.get_user_context() there)';
COMMENT ON COLUMN session.connections.session_id IS 'The session attached with attach_session (session.current_session_id() there)';

CREATE FUNCTION session.concurrency(from_time timestamptz, to_time timestamptz,
									bucket interval DEFAULT '1 hour',
									project_regex text DEFAULT NULL)
RETURNS TABLE (bucket_start timestamptz, project text, peak_sessions integer, distinct_users integer)
AS 'MODULE_PATHNAME', 'session_concurrency'
LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION session.concurrency(timestamptz, timestamptz, interval, text) IS
	'Per bucket and project: the most sessions open at one moment (true overlap) and the distinct users, from open and ended sessions';

-- The views' session_info columns mean what the row type's columns mean
DO $comments$
DECLARE
	col record;
BEGIN
	FOR col IN
		SELECT a.attname, pg_catalog.col_description(t.typrelid, a.attnum) AS description
		FROM pg_catalog.pg_type t
		JOIN pg_catalog.pg_attribute a ON a.attrelid = t.typrelid AND a.attnum > 0
		WHERE t.oid = 'session.session_info'::pg_catalog.regtype
	LOOP
		EXECUTE pg_catalog.format('COMMENT ON COLUMN session.active_sessions.%I IS %L',
								  col.attname, col.description);
		EXECUTE pg_catalog.format('COMMENT ON COLUMN session.history.%I IS %L',
								  col.attname, col.description);
	END LOOP;
END
$comments$;

-------------------------------------------------------------------------------
-- Privileges
-------------------------------------------------------------------------------

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA session FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA session FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA session FROM PUBLIC;
GRANT USAGE ON SCHEMA session TO PUBLIC;

GRANT EXECUTE ON FUNCTION session.get_user_context() TO PUBLIC;
GRANT EXECUTE ON FUNCTION session.current_session_id() TO PUBLIC;

GRANT EXECUTE ON FUNCTION
	session.get_session_info(text, text),
	session.get_session_info(bigint),
	session.get_session_user(bigint),
	session.backend_contexts(),
	session.connection_list(),
	session.elapsed_ms(timestamptz, timestamptz),
	session.concurrency(timestamptz, timestamptz, interval, text)
TO session_reader;
GRANT SELECT ON session.active_sessions, session.history, session.project_usage,
	session.connections TO session_reader;

GRANT EXECUTE ON FUNCTION
	session.open_session(text, text, inet, text, text, text, text, jsonb),
	session.set_session_user(bigint, text),
	session.heartbeat(bigint, bigint, text[]),
	session.heartbeat(bigint[], bigint[]),
	session.close_session(bigint, text),
	session.open_clientless_session(text, text, text, jsonb),
	session.close_clientless_session(bigint),
	session.set_user_context(text, boolean),
	session.reset_user_context(),
	session.attach_session(bigint, boolean)
TO session_app;

GRANT EXECUTE ON FUNCTION
	session.terminate_session(bigint, text),
	session.close_node_sessions(text, text),
	session.expire_sessions(),
	session.purge_history(interval)
TO session_admin;
