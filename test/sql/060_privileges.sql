-- Privileges: the three roles, EXECUTE on every function and SELECT on every
-- view for each of them (from the catalogs and by calling), nothing for
-- PUBLIC but get_user_context() and current_session_id(), no access to the
-- tables, and SECURITY DEFINER functions with a pinned search_path.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
BEGIN;
SELECT plan(176);

CREATE ROLE r_none NOLOGIN;
CREATE ROLE r_reader NOLOGIN IN ROLE session_reader;
CREATE ROLE r_app NOLOGIN IN ROLE session_app;
CREATE ROLE r_admin NOLOGIN IN ROLE session_admin;

-- pg_temp.as_role(r, q): runs q as role r, returns its single result as text
\i test/sql/include/as_role.sql

-- Runs q as role r and undoes it; returns 'ok' or the SQLSTATE it raised.
CREATE FUNCTION pg_temp.try_as(r name, q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		EXECUTE format('SET LOCAL ROLE %I', r);
		EXECUTE q;
		RAISE EXCEPTION USING ERRCODE = 'ZZ999', MESSAGE = 'undo';
	EXCEPTION WHEN OTHERS THEN
		IF SQLSTATE = 'ZZ999' THEN
			RETURN 'ok';
		END IF;
		RETURN SQLSTATE;
	END;
END
$$;

-- Sessions the calls below work on (rolled back at the end)
SELECT session.open_session('priv_alice', 'priv_project', node => 'priv_node') AS s_open \gset
SELECT session.open_clientless_session('priv_bob', 'priv_project') AS s_cl \gset

-------------------------------------------------------------------------------
-- The roles
-------------------------------------------------------------------------------

SELECT has_role('session_reader', 'role session_reader exists');
SELECT has_role('session_app', 'role session_app exists');
SELECT has_role('session_admin', 'role session_admin exists');
SELECT ok(pg_has_role('session_admin', 'session_reader', 'USAGE'), 'session_admin has the privileges of session_reader');
SELECT ok(pg_has_role('session_admin', 'session_app', 'USAGE'), 'session_admin has the privileges of session_app');
SELECT ok(NOT pg_has_role('session_reader', 'session_app', 'MEMBER') AND NOT pg_has_role('session_app', 'session_reader', 'MEMBER'),
		  'session_reader and session_app are not members of each other');
SELECT ok(NOT pg_has_role('session_reader', 'session_admin', 'MEMBER') AND NOT pg_has_role('session_app', 'session_admin', 'MEMBER'),
		  'neither session_reader nor session_app is a member of session_admin');
SELECT is((SELECT string_agg(rolname || ':' || rolcanlogin || ':' || rolsuper, ',' ORDER BY rolname)
		   FROM pg_roles WHERE rolname IN ('session_reader', 'session_app', 'session_admin')),
		  'session_admin:false:false,session_app:false:false,session_reader:false:false',
		  'the three roles are NOLOGIN and not superusers');

-------------------------------------------------------------------------------
-- Every function and view, and who may use it
-------------------------------------------------------------------------------

CREATE TEMP TABLE expected_function (sig text PRIMARY KEY, grantee text NOT NULL, call text NOT NULL);
INSERT INTO expected_function VALUES
	('session.get_user_context()', 'public', 'SELECT session.get_user_context()'),
	('session.current_session_id()', 'public', 'SELECT session.current_session_id()'),
	('session.get_session_info(text,text)', 'reader', $$SELECT count(*) FROM session.get_session_info('priv_.*', 'priv_project')$$),
	('session.get_session_info(bigint)', 'reader', format('SELECT session.get_session_info(%s)', :s_open)),
	('session.get_session_user(bigint)', 'reader', format('SELECT session.get_session_user(%s)', :s_open)),
	('session.backend_contexts()', 'reader', 'SELECT count(*) FROM session.backend_contexts()'),
	('session.connection_list()', 'reader', 'SELECT count(*) FROM session.connection_list()'),
	('session.events_since(bigint,integer)', 'reader', 'SELECT count(*) FROM session.events_since(0, 10)'),
	-- used by the views, which call it with the reader's privileges
	('session.elapsed_ms(timestamp with time zone,timestamp with time zone)', 'reader',
	 $$SELECT session.elapsed_ms('2026-01-05 10:00+00', '2026-01-05 10:00:01.5+00')$$),
	-- the heartbeat buffer's live values, used by the views
	('session.live_last_comm(bigint,timestamp with time zone)', 'reader',
	 format('SELECT session.live_last_comm(%s, now())', :s_open)),
	('session.live_recent_bytes(bigint,bigint)', 'reader', format('SELECT session.live_recent_bytes(%s, 0)', :s_open)),
	('session.live_total_bytes(bigint,bigint)', 'reader', format('SELECT session.live_total_bytes(%s, 0)', :s_open)),
	('session.heartbeat_buffer_status()', 'reader', 'SELECT count(*) FROM session.heartbeat_buffer_status()'),
	('session.concurrency(timestamp with time zone,timestamp with time zone,interval,text,timestamp with time zone,boolean,text)', 'reader',
	 $$SELECT count(*) FROM session.concurrency('2026-01-05 00:00+00', '2026-01-06 00:00+00')$$),
	('session.get_session_info_at(timestamp with time zone,text,text)', 'reader',
	 $$SELECT count(*) FROM session.get_session_info_at(statement_timestamp(), 'priv_.*', 'priv_project')$$),
	('session.import_sessions(jsonb,boolean)', 'admin',
	 $$SELECT session.import_sessions('[{"project": "priv_project", "username": "priv_imp", "start_time": "2026-01-05 10:00+00", "end_time": "2026-01-05 11:00+00"}]')$$),
	('session.stats()', 'reader', 'SELECT count(*) FROM session.stats()'),
	('session.open_session(text,text,inet,text,text,text,text,jsonb)', 'app', $$SELECT session.open_session('priv_carol', 'priv_project')$$),
	('session.set_session_user(bigint,text)', 'app', format('SELECT session.set_session_user(%s, %L)', :s_open, 'priv_dave')),
	('session.heartbeat(bigint,bigint,text[])', 'app', format('SELECT session.heartbeat(%s, 10)', :s_open)),
	('session.heartbeat(bigint[],bigint[])', 'app', format('SELECT session.heartbeat(ARRAY[%s]::bigint[])', :s_open)),
	('session.close_session(bigint,text)', 'app', format('SELECT session.close_session(%s)', :s_open)),
	('session.open_clientless_session(text,text,text,jsonb)', 'app', $$SELECT session.open_clientless_session('priv_carol', 'priv_project')$$),
	('session.close_clientless_session(bigint)', 'app', format('SELECT session.close_clientless_session(%s)', :s_cl)),
	('session.set_user_context(text,boolean)', 'app', $$SELECT session.set_user_context('priv_carol')$$),
	('session.reset_user_context()', 'app', 'SELECT session.reset_user_context()'),
	('session.attach_session(bigint,boolean)', 'app', format('SELECT session.attach_session(%s)', :s_open)),
	('session.terminate_session(bigint,text)', 'admin', format('SELECT session.terminate_session(%s)', :s_open)),
	('session.close_node_sessions(text,text)', 'app', $$SELECT session.close_node_sessions('priv_node')$$),
	('session.expire_sessions()', 'admin', 'SELECT session.expire_sessions()'),
	('session.purge_history(interval)', 'admin', $$SELECT session.purge_history('36500 days')$$);

CREATE TEMP TABLE expected_relation (rel text PRIMARY KEY, grantee text NOT NULL);
INSERT INTO expected_relation VALUES
	('session.active_sessions', 'reader'),
	('session.history', 'reader'),
	('session.project_usage', 'reader'),
	('session.connections', 'reader'),
	('session.open_session_counts', 'reader'),
	('session.open_summary', 'reader'),
	('session.logins', 'reader'),
	('session_storage.sessions', 'nobody'),
	('session_storage.ended_sessions', 'nobody'),
	('session_storage.ended_sessions_default', 'nobody'),
	('session_storage.sessions_id_seq', 'nobody'),
	('session_storage.events', 'nobody'),
	('session_storage.events_event_id_seq', 'nobody');

-- the test roles allowed for each kind of grant
CREATE TEMP TABLE allowed (grantee text, role name);
INSERT INTO allowed VALUES
	('public', 'r_none'), ('public', 'r_reader'), ('public', 'r_app'), ('public', 'r_admin'),
	('reader', 'r_reader'), ('reader', 'r_admin'),
	('app', 'r_app'), ('app', 'r_admin'),
	('admin', 'r_admin');
CREATE TEMP TABLE test_role (role name, ord int);
INSERT INTO test_role VALUES ('r_none', 1), ('r_reader', 2), ('r_app', 3), ('r_admin', 4);

-- a new function, view, table or sequence must be added here (and tested)
SELECT set_eq($$SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = 'session'::regnamespace$$,
			  $$SELECT sig FROM expected_function$$,
			  'the functions of schema session are exactly the expected ones');
SELECT set_eq($$SELECT c.oid::regclass::text FROM pg_class c
				JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
				JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'session'
				WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')$$,
			  $$SELECT rel FROM expected_relation$$,
			  'the tables, views and sequences of the extension are exactly the expected ones');

-- EXECUTE as the catalogs say, for the test roles
SELECT is((SELECT string_agg(t.role, ',' ORDER BY t.ord) FROM test_role t
		   WHERE has_function_privilege(t.role, f.sig::regprocedure, 'EXECUTE')),
		  (SELECT string_agg(t.role, ',' ORDER BY t.ord) FROM test_role t JOIN allowed a USING (role)
		   WHERE a.grantee = f.grantee),
		  'EXECUTE on ' || f.sig || ' (catalog)')
	FROM expected_function f ORDER BY f.sig;

-- EXECUTE by calling: every function, as every test role ('ok' or the SQLSTATE)
SELECT is((SELECT string_agg(t.role || '=' || pg_temp.try_as(t.role, f.call), ' ' ORDER BY t.ord) FROM test_role t),
		  (SELECT string_agg(t.role || '=' || CASE WHEN a.role IS NULL THEN '42501' ELSE 'ok' END, ' ' ORDER BY t.ord)
		   FROM test_role t LEFT JOIN allowed a ON a.role = t.role AND a.grantee = f.grantee),
		  'calling ' || f.sig || ' as each role')
	FROM expected_function f ORDER BY f.sig;

-- SELECT on views, tables and the sequence, by querying as every test role
SELECT is((SELECT string_agg(t.role || '=' || pg_temp.try_as(t.role, 'SELECT count(*) FROM ' || r.rel), ' ' ORDER BY t.ord) FROM test_role t),
		  (SELECT string_agg(t.role || '=' || CASE WHEN a.role IS NULL THEN '42501' ELSE 'ok' END, ' ' ORDER BY t.ord)
		   FROM test_role t LEFT JOIN allowed a ON a.role = t.role AND a.grantee = r.grantee),
		  'SELECT from ' || r.rel || ' as each role')
	FROM expected_relation r ORDER BY r.rel;

-- the privileges the catalogs hold on views and tables, for the test roles
SELECT is((SELECT string_agg(t.role || '=' || p.privs, ' ' ORDER BY t.ord) FROM test_role t,
			LATERAL (SELECT coalesce(string_agg(x.priv, ',' ORDER BY x.priv), '-') AS privs
					 FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS x(priv)
					 WHERE has_table_privilege(t.role, r.rel::regclass, x.priv)) p),
		  (SELECT string_agg(t.role || '=' || CASE WHEN a.role IS NULL THEN '-' ELSE 'SELECT' END, ' ' ORDER BY t.ord)
		   FROM test_role t LEFT JOIN allowed a ON a.role = t.role AND a.grantee = r.grantee),
		  'table privileges on ' || r.rel || ' (catalog)')
	FROM expected_relation r WHERE r.rel NOT LIKE '%\_seq' ORDER BY r.rel;
SELECT is((SELECT string_agg(t.role || '=' || has_sequence_privilege(t.role, 'session_storage.sessions_id_seq', 'USAGE,SELECT,UPDATE'), ' ' ORDER BY t.ord)
		   FROM test_role t),
		  'r_none=false r_reader=false r_app=false r_admin=false',
		  'no test role has any privilege on session_storage.sessions_id_seq');

-- PUBLIC
SELECT set_eq($$SELECT p.oid::regprocedure::text FROM pg_proc p,
				aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
				WHERE p.pronamespace = 'session'::regnamespace AND a.grantee = 0$$,
			  ARRAY['session.get_user_context()', 'session.current_session_id()'],
			  'PUBLIC can execute get_user_context() and current_session_id() and nothing else');
SELECT is_empty($$SELECT c.oid::regclass::text FROM pg_class c, aclexplode(c.relacl) a
				  WHERE c.relnamespace IN ('session'::regnamespace, 'session_storage'::regnamespace) AND a.grantee = 0$$,
				'PUBLIC has no privilege on any table, view or sequence of schemas session and session_storage');
SELECT is_empty($$SELECT c.oid::regclass::text || ' ' || a.grantee::regrole::text || ' ' || a.privilege_type
				  FROM pg_class c, aclexplode(c.relacl) a
				  WHERE c.relnamespace IN ('session'::regnamespace, 'session_storage'::regnamespace)
				  AND c.relkind IN ('r', 'p', 'S', 'f', 'm')
				  AND a.grantee <> c.relowner$$,
				'no role but the owner has any privilege on a table or sequence (daily partitions included)');
-- readers see only views in schema session; storage is out of their sight
SELECT is_empty($$SELECT c.oid::regclass::text || ' ' || c.relkind::text FROM pg_class c
				  WHERE c.relnamespace = 'session'::regnamespace
				  AND c.relkind <> 'v' AND NOT (c.relkind = 'c' AND c.relname = 'session_info')$$,
				'schema session holds only views (and the row type session_info)');
SELECT is((SELECT string_agg(t.role || '=' || has_schema_privilege(t.role, 'session_storage', 'USAGE'), ' ' ORDER BY t.ord)
		   FROM test_role t),
		  'r_none=false r_reader=false r_app=false r_admin=false',
		  'no test role has USAGE on schema session_storage');
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p,
				  aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
				  WHERE p.pronamespace = 'session_storage'::regnamespace AND a.grantee <> p.proowner$$,
				'nobody but the owner can execute the functions of schema session_storage');
SELECT is_empty($$SELECT c.oid::regclass::text || ' ' || a.grantee::regrole::text || ' ' || a.privilege_type
				  FROM pg_class c, aclexplode(c.relacl) a
				  WHERE c.relnamespace = 'session'::regnamespace AND c.relkind = 'v'
				  AND a.grantee <> c.relowner AND NOT (a.grantee = 'session_reader'::regrole AND a.privilege_type = 'SELECT')$$,
				'views grant nothing but SELECT to session_reader');
SELECT ok(has_schema_privilege('r_none', 'session', 'USAGE'), 'PUBLIC has USAGE on schema session');
SELECT ok(NOT has_schema_privilege('r_none', 'session', 'CREATE') AND NOT has_schema_privilege('r_admin', 'session', 'CREATE'),
		  'nobody but the owner can create objects in schema session');

-- SECURITY DEFINER and languages
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p
				  WHERE p.pronamespace = 'session'::regnamespace AND p.prosecdef
				  AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)$$,
				'every SECURITY DEFINER function pins search_path = pg_catalog, pg_temp');
SELECT ok((SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'session'::regnamespace AND p.prosecdef) > 0,
		  'there are SECURITY DEFINER functions (so the check above checks something)');
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
				  WHERE p.pronamespace = 'session'::regnamespace AND l.lanname NOT IN ('c', 'sql')$$,
				'every function is written in C or SQL (no dynamic SQL in procedural code)');
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
				  WHERE p.pronamespace = 'session'::regnamespace AND l.lanname = 'sql'
				  AND p.prosrc ~* '\m(execute|format)\M'$$,
				'no SQL function builds a statement from text');

-------------------------------------------------------------------------------
-- Calls as each role, one by one
-------------------------------------------------------------------------------

-- r_none: only the two PUBLIC functions
SELECT is(pg_temp.as_role('r_none', 'SELECT coalesce(session.get_user_context(), ''<null>'')'), '<null>',
		  'r_none can call get_user_context()');
SELECT is(pg_temp.as_role('r_none', 'SELECT coalesce(session.current_session_id()::text, ''<null>'')'), '<null>',
		  'r_none can call current_session_id()');
SELECT throws_ok($$SELECT pg_temp.as_role('r_none', 'SELECT count(*) FROM session.get_session_info()')$$,
				 '42501', NULL, 'r_none cannot list sessions');
SELECT throws_ok($$SELECT pg_temp.as_role('r_none', 'SELECT session.open_session(''x'', ''priv_project'')')$$,
				 '42501', NULL, 'r_none cannot open a session');
SELECT throws_ok($$SELECT pg_temp.as_role('r_none', 'SELECT session.set_user_context(''x'')')$$,
				 '42501', NULL, 'r_none cannot set the user context');
SELECT throws_ok(format('SELECT pg_temp.as_role(%L, %L)', 'r_none', format('SELECT session.attach_session(%s)', :s_open)),
				 '42501', NULL, 'r_none cannot attach a session');
SELECT throws_ok($$SELECT pg_temp.as_role('r_none', 'SELECT set_config(''session.user_context'', ''x'', false)')$$,
				 '42501', NULL, 'r_none cannot set the context through set_config');
SELECT throws_ok($$SELECT pg_temp.as_role('r_none', 'SELECT count(*) FROM session.active_sessions')$$,
				 '42501', NULL, 'r_none cannot read session.active_sessions');
SELECT throws_ok($$SELECT pg_temp.as_role('r_none', 'SELECT session.expire_sessions()')$$,
				 '42501', NULL, 'r_none cannot expire sessions');
SELECT throws_ok($$SELECT pg_temp.as_role('r_none', 'SELECT count(*) FROM session_storage.sessions')$$,
				 '42501', NULL, 'r_none cannot read session_storage.sessions');

-- r_reader: lists and views, but never writes
SELECT is(pg_temp.as_role('r_reader', $$SELECT count(*) FROM session.get_session_info('priv_.*', 'priv_project')$$), '2',
		  'r_reader can list sessions');
SELECT is(pg_temp.as_role('r_reader', format('SELECT username FROM session.get_session_info(%s)', :s_open)), 'priv_alice',
		  'r_reader can read a session by id');
SELECT is(pg_temp.as_role('r_reader', format('SELECT session.get_session_user(%s)', :s_open)), 'priv_alice',
		  'r_reader can call get_session_user');
SELECT is(pg_temp.as_role('r_reader', $$SELECT count(*) FROM session.active_sessions WHERE project = 'priv_project'$$), '2',
		  'r_reader can read session.active_sessions');
SELECT is(pg_temp.as_role('r_reader', $$SELECT open_sessions FROM session.project_usage WHERE project = 'priv_project'$$), '2',
		  'r_reader can read session.project_usage');
SELECT lives_ok($$SELECT pg_temp.as_role('r_reader', 'SELECT count(*) FROM session.history')$$,
				'r_reader can read session.history');
SELECT session.set_user_context('priv_ctx') AS ignored \gset
SELECT is(pg_temp.as_role('r_reader', $$SELECT count(*) FROM session.connections WHERE pid = pg_backend_pid()$$), '1',
		  'r_reader sees this connection (connected as another role) in session.connections');
SELECT is(pg_temp.as_role('r_reader', $$SELECT usename || ':' || user_context FROM session.connections WHERE pid = pg_backend_pid()$$),
		  session_user || ':priv_ctx', 'r_reader sees its database role and user context');
SELECT session.reset_user_context() AS ignored \gset
SELECT lives_ok($$SELECT pg_temp.as_role('r_reader', 'SELECT count(*) FROM session.concurrency(''2026-01-05 00:00+00'', ''2026-01-06 00:00+00'')')$$,
				'r_reader can call concurrency');
SELECT is(pg_temp.as_role('r_reader', $$SELECT count(*) FROM session.get_session_info_at(statement_timestamp(), 'priv_.*', 'priv_project')$$), '2',
		  'r_reader can list the sessions open at an instant');
SELECT is(pg_temp.as_role('r_reader', $$SELECT string_agg(username, ',' ORDER BY username) FROM session.logins WHERE username LIKE 'priv\_%'$$), 'priv_alice,priv_bob',
		  'r_reader can read session.logins');
SELECT throws_ok($$SELECT pg_temp.as_role('r_reader', 'SELECT session.import_sessions(''[]'')')$$,
				 '42501', NULL, 'r_reader cannot import sessions');
SELECT throws_ok($$SELECT pg_temp.as_role('r_reader', 'SELECT session.open_session(''x'', ''priv_project'')')$$,
				 '42501', NULL, 'r_reader cannot open a session');
SELECT throws_ok(format('SELECT pg_temp.as_role(%L, %L)', 'r_reader', format('SELECT session.heartbeat(%s)', :s_open)),
				 '42501', NULL, 'r_reader cannot heartbeat');
SELECT throws_ok(format('SELECT pg_temp.as_role(%L, %L)', 'r_reader', format('SELECT session.close_session(%s)', :s_open)),
				 '42501', NULL, 'r_reader cannot close a session');
SELECT throws_ok($$SELECT pg_temp.as_role('r_reader', 'SELECT session.set_user_context(''x'')')$$,
				 '42501', NULL, 'r_reader cannot set the user context');
SELECT throws_ok(format('SELECT pg_temp.as_role(%L, %L)', 'r_reader', format('SELECT session.terminate_session(%s)', :s_open)),
				 '42501', NULL, 'r_reader cannot terminate a session');
SELECT throws_ok($$SELECT pg_temp.as_role('r_reader', 'SELECT count(*) FROM session_storage.sessions')$$,
				 '42501', NULL, 'r_reader cannot read session_storage.sessions');
SELECT throws_ok($$SELECT pg_temp.as_role('r_reader', 'SELECT count(*) FROM session_storage.ended_sessions')$$,
				 '42501', NULL, 'r_reader cannot read session_storage.ended_sessions');

-- r_app: opens, heartbeats and closes, but cannot list
SELECT pg_temp.as_role('r_app', $$SELECT session.open_session('priv_erin', 'priv_project')$$) AS s_app \gset
SELECT ok(:s_app > 0, 'r_app can open a session');
SELECT is(pg_temp.as_role('r_app', format('SELECT session.heartbeat(%s, 5)', :s_app)), 'true',
		  'r_app can heartbeat');
SELECT is(pg_temp.as_role('r_app', format('SELECT session.heartbeat(ARRAY[%s, %s]::bigint[])', :s_app, :s_open)), '2',
		  'r_app can heartbeat in a batch');
SELECT lives_ok(format('SELECT pg_temp.as_role(%L, %L)', 'r_app', format('SELECT session.set_session_user(%s, %L)', :s_app, 'priv_frank')),
				'r_app can log a user in');
SELECT is(pg_temp.as_role('r_app', format('SELECT session.attach_session(%s)', :s_app)), NULL,
		  'r_app can attach a session');
SELECT is(session.get_user_context(), 'priv_frank', 'the attach made as r_app holds for the connection');
SELECT lives_ok($$SELECT pg_temp.as_role('r_app', 'SELECT session.reset_user_context()')$$,
				'r_app can reset the user context');
SELECT is(pg_temp.as_role('r_app', format('SELECT session.close_session(%s)', :s_app)), 'true',
		  'r_app can close a session');
SELECT pg_temp.as_role('r_app', $$SELECT session.open_clientless_session('priv_gina', 'priv_project')$$) AS s_app_cl \gset
SELECT is(pg_temp.as_role('r_app', format('SELECT session.close_clientless_session(%s)', :s_app_cl)), 'true',
		  'r_app can open and close a clientless session');
SELECT throws_ok($$SELECT pg_temp.as_role('r_app', 'SELECT count(*) FROM session.get_session_info()')$$,
				 '42501', NULL, 'r_app cannot list sessions');
SELECT throws_ok(format('SELECT pg_temp.as_role(%L, %L)', 'r_app', format('SELECT session.get_session_info(%s)', :s_open)),
				 '42501', NULL, 'r_app cannot read a session by id');
SELECT throws_ok(format('SELECT pg_temp.as_role(%L, %L)', 'r_app', format('SELECT session.get_session_user(%s)', :s_open)),
				 '42501', NULL, 'r_app cannot call get_session_user');
SELECT throws_ok($$SELECT pg_temp.as_role('r_app', 'SELECT count(*) FROM session.active_sessions')$$,
				 '42501', NULL, 'r_app cannot read session.active_sessions');
SELECT throws_ok($$SELECT pg_temp.as_role('r_app', 'SELECT count(*) FROM session.connections')$$,
				 '42501', NULL, 'r_app cannot read session.connections');
SELECT throws_ok($$SELECT pg_temp.as_role('r_app', 'SELECT count(*) FROM session.concurrency(''2026-01-05 00:00+00'', ''2026-01-06 00:00+00'')')$$,
				 '42501', NULL, 'r_app cannot call concurrency');
SELECT throws_ok(format('SELECT pg_temp.as_role(%L, %L)', 'r_app', format('SELECT session.terminate_session(%s)', :s_open)),
				 '42501', NULL, 'r_app cannot terminate a session');
SELECT is(pg_temp.as_role('r_app', $$SELECT session.close_node_sessions('priv_node_app')$$), '0',
		  'r_app can close a node''s sessions (a restarting node closes its own)');
SELECT throws_ok($$SELECT pg_temp.as_role('r_app', 'SELECT session.import_sessions(''[]'')')$$,
				 '42501', NULL, 'r_app cannot import sessions');
SELECT throws_ok($$SELECT pg_temp.as_role('r_app', 'SELECT count(*) FROM session.get_session_info_at(now())')$$,
				 '42501', NULL, 'r_app cannot list the sessions open at an instant');
SELECT throws_ok($$SELECT pg_temp.as_role('r_app', 'SELECT count(*) FROM session.logins')$$,
				 '42501', NULL, 'r_app cannot read session.logins');
SELECT throws_ok($$SELECT pg_temp.as_role('r_app', 'SELECT session.expire_sessions()')$$,
				 '42501', NULL, 'r_app cannot expire sessions');
SELECT throws_ok($$SELECT pg_temp.as_role('r_app', 'SELECT session.purge_history(''1 day'')')$$,
				 '42501', NULL, 'r_app cannot purge history');
SELECT throws_ok($$SELECT pg_temp.as_role('r_app', 'SELECT count(*) FROM session_storage.sessions')$$,
				 '42501', NULL, 'r_app cannot read session_storage.sessions');
SELECT throws_ok($$SELECT pg_temp.as_role('r_app', 'INSERT INTO session_storage.sessions (uuid, username, authenticated, scope, start_time, last_comm) VALUES (gen_random_uuid(), ''x'', true, ''browser'', now(), now()) RETURNING id')$$,
				 '42501', NULL, 'r_app cannot insert into session_storage.sessions');

-- r_admin: everything through the functions, nothing on the tables
SELECT is(pg_temp.as_role('r_admin', format('SELECT session.terminate_session(%s)', :s_open)), 'true',
		  'r_admin can terminate a session');
SELECT is(pg_temp.as_role('r_admin', $$SELECT session.close_node_sessions('priv_node')$$), '0',
		  'r_admin can close a node''s sessions');
SELECT lives_ok($$SELECT pg_temp.as_role('r_admin', 'SELECT session.expire_sessions()')$$,
				'r_admin can expire sessions');
SELECT lives_ok($$SELECT pg_temp.as_role('r_admin', 'SELECT session.purge_history(''36500 days'')')$$,
				'r_admin can purge history');
SELECT is(pg_temp.as_role('r_admin', format('SELECT end_reason FROM session.get_session_info(%s)', :s_open)), 'terminated',
		  'r_admin can read sessions (member of session_reader)');
SELECT lives_ok($$SELECT pg_temp.as_role('r_admin', 'SELECT session.open_session(''priv_hugo'', ''priv_project'')')$$,
				'r_admin can open sessions (member of session_app)');
SELECT is(pg_temp.as_role('r_admin', $$SELECT session.import_sessions('[{"project": "priv_project", "username": "priv_ivan", "start_time": "2026-01-05 10:00+00", "end_time": "2026-01-05 11:00+00"}]')$$), '1',
		  'r_admin can import sessions');
SELECT is(pg_temp.as_role('r_admin', $$SELECT string_agg(username || ' ' || (end_time = '2026-01-05 11:00+00'), ',') FROM session.history WHERE username = 'priv_ivan'$$),
		  'priv_ivan true', 'the imported session is in history');
SELECT throws_ok($$SELECT pg_temp.as_role('r_admin', 'SELECT count(*) FROM session_storage.sessions')$$,
				 '42501', NULL, 'r_admin cannot read session_storage.sessions directly');
SELECT throws_ok($$SELECT pg_temp.as_role('r_admin', 'SELECT count(*) FROM session_storage.ended_sessions')$$,
				 '42501', NULL, 'r_admin cannot read session_storage.ended_sessions directly');
SELECT throws_ok($$SELECT pg_temp.as_role('r_admin', 'DELETE FROM session_storage.ended_sessions')$$,
				 '42501', NULL, 'r_admin cannot delete from session_storage.ended_sessions directly');
SELECT throws_ok($$SELECT pg_temp.as_role('r_admin', 'UPDATE session_storage.sessions SET username = ''x''')$$,
				 '42501', NULL, 'r_admin cannot update session_storage.sessions directly');
SELECT throws_ok($$SELECT pg_temp.as_role('r_admin', 'SELECT nextval(''session_storage.sessions_id_seq'')')$$,
				 '42501', NULL, 'r_admin cannot draw ids from the sequence');

SELECT * FROM finish();
ROLLBACK;
