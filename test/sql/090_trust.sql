-- The promises of issue 11 that one connection can check: counters that
-- saturate instead of failing (hole 6), the system's end reasons reserved
-- (hole 8), and the owner switch: internal statements run as the extension's
-- owner with pinned settings, whatever the caller set (hole 9), and an error
-- restores the caller's identity and settings.  Also: the version check.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
BEGIN;
SELECT plan(58);

CREATE ROLE r_trust_app NOLOGIN IN ROLE session_app;
CREATE ROLE r_trust_admin NOLOGIN IN ROLE session_admin;

-- pg_temp.as_role(r, q): runs q as role r, returns its single result as text
\i test/sql/include/as_role.sql

-------------------------------------------------------------------------------
-- Hole 6: counters saturate at the bigint maximum
-------------------------------------------------------------------------------

SELECT session.open_session('trust_big', 'trust_p') AS big \gset
SELECT session.open_session('trust_small', 'trust_p') AS small \gset

SELECT ok(session.heartbeat(:big, 9223372036854775807), 'a heartbeat of the bigint maximum');
SELECT ok(session.heartbeat(:big, 5), 'the next heartbeat with bytes does not fail');
SELECT is((SELECT total_bytes_sent || '/' || recent_bytes_sent FROM session.get_session_info(:big)),
		  '9223372036854775807/5', 'total_bytes_sent stays at the maximum, recent_bytes_sent is the last value');
SELECT ok(session.heartbeat(:big, 9223372036854775807), 'a second maximum saturates too');
SELECT is(session.heartbeat(ARRAY[:big, :small]::bigint[], ARRAY[7, 3]::bigint[]), 2::bigint,
		  'a batch holding the saturated session touches all its sessions');
SELECT is((SELECT string_agg(total_bytes_sent::text, ',' ORDER BY id) FROM session.get_session_info('trust_.*')),
		  '9223372036854775807,3', 'the saturated session stays at the maximum, the other one counts');
SELECT is(session.heartbeat(ARRAY[:small, :small]::bigint[], ARRAY[9223372036854775807, 9223372036854775807]::bigint[]),
		  1::bigint, 'a batch whose duplicate ids sum past the maximum does not fail');
SELECT is((SELECT total_bytes_sent || '/' || recent_bytes_sent FROM session.get_session_info(:small)),
		  '9223372036854775807/9223372036854775807', 'the merged bytes saturate');

-------------------------------------------------------------------------------
-- Hole 8: the system's reasons belong to the functions that set them
-------------------------------------------------------------------------------

SELECT session.open_session('trust_r', 'trust_p', node => 'trust_node') AS r1 \gset
SELECT throws_ok(format('SELECT session.close_session(%s, %L)', :r1, reason), '22023', NULL,
				 'close_session refuses the reason ' || reason)
	FROM unnest(ARRAY['timeout', 'max_lifetime', 'terminated', 'evicted', 'node_shutdown', 'closed']) AS reason;
SELECT throws_like(format('SELECT session.close_session(%s, %L)', :r1, 'terminated'),
				   '%reason "terminated" is reserved%', 'the message names the reason');
SELECT is((SELECT end_reason FROM session.get_session_info(:r1)), NULL, 'and the session stays open');
SELECT ok(session.close_session(:r1, 'Terminated by the user'), 'a reason of the application''s own is kept');
SELECT is((SELECT end_reason FROM session.get_session_info(:r1)), 'Terminated by the user', 'with its text');
SELECT session.open_session('trust_r', 'trust_p', node => 'trust_node') AS r2 \gset
SELECT throws_ok($$SELECT session.close_node_sessions('trust_node', 'terminated')$$, '22023', NULL,
				 'close_node_sessions refuses another system reason');
SELECT is(pg_temp.as_role('r_trust_app', $$SELECT session.close_node_sessions('trust_node')$$), '1',
		  'session_app closes its node''s sessions with node_shutdown');
SELECT is((SELECT end_reason FROM session.get_session_info(:r2)), 'node_shutdown', 'recorded as node_shutdown');
SELECT session.open_session('trust_r', 'trust_p') AS r3 \gset
SELECT ok(session.terminate_session(:r3, 'terminated'), 'terminate_session still gives any reason');

-------------------------------------------------------------------------------
-- Hole 9 and the owner switch
-------------------------------------------------------------------------------

-- the next day without a partition: drop the one two days ahead
SELECT session.expire_sessions() AS ignored \gset
SELECT 'ended_sessions_' || to_char((now() AT TIME ZONE 'UTC')::date + 2, 'YYYYMMDD') AS ahead \gset
SELECT format('DROP TABLE session_storage.%I', :'ahead') \gexec
SELECT ok(to_regclass('session_storage.' || :'ahead') IS NULL, 'the partition two days ahead is gone');

-- As an administrator with the caller's settings pointing elsewhere: the
-- partition is created as a direct CREATE TABLE of the owner would do it.
SET LOCAL default_tablespace = pg_global;
SET LOCAL default_table_access_method = heap;
SELECT lives_ok($$SELECT pg_temp.as_role('r_trust_admin', 'SELECT session.expire_sessions()')$$,
				'expire_sessions with default_tablespace = pg_global creates partitions');
SELECT ok(to_regclass('session_storage.' || :'ahead') IS NOT NULL, 'the partition is there');
SELECT is((SELECT reltablespace FROM pg_class WHERE oid = to_regclass('session_storage.' || :'ahead')), 0::oid,
		  'in the database''s default tablespace, not the caller''s');
SELECT is(current_setting('default_tablespace'), 'pg_global', 'the caller''s setting is back');
RESET default_tablespace;
SELECT is((SELECT count(*)::int FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		   WHERE i.inhparent = 'session_storage.ended_sessions'::regclass
		   AND c.relowner <> (SELECT extowner FROM pg_extension WHERE extname = 'session')), 0,
		  'every partition is owned by the extension''s owner');

-- a caller's operator found before pg_catalog's never applies
CREATE SCHEMA trust_evil;
CREATE FUNCTION trust_evil.never(bigint, bigint) RETURNS boolean LANGUAGE sql AS 'SELECT false';
CREATE OPERATOR trust_evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = trust_evil.never);
GRANT USAGE ON SCHEMA trust_evil TO PUBLIC;
SET LOCAL search_path = trust_evil, pg_catalog, public;
SELECT session.open_session('trust_sp', 'trust_p') AS sp \gset
SELECT ok(session.heartbeat(:sp), 'a heartbeat finds its session with the caller''s search_path first');
SELECT is((SELECT username FROM session.get_session_info(:sp)), 'trust_sp',
		  'get_session_info too');
SELECT ok(session.close_session(:sp), 'and close_session');
SELECT is(current_setting('search_path'), 'trust_evil, pg_catalog, public', 'the caller''s search_path is back');
RESET search_path;

-- an error inside the switch restores the caller's identity and settings
SET LOCAL search_path = public;
SET LOCAL temp_tablespaces = pg_default;
SET LOCAL default_tablespace = pg_default;
SET LOCAL ROLE r_trust_app;
SELECT throws_ok($$SELECT session.close_session(-42)$$, 'SE404', NULL, 'an error raised while switched');
SELECT is(current_user::text, 'r_trust_app', 'current_user is the caller again');
SELECT is(current_setting('search_path') || '|' || current_setting('temp_tablespaces') || '|' || current_setting('default_tablespace'),
		  'public|pg_default|pg_default', 'the caller''s settings are back');
SELECT throws_ok($$SELECT session.heartbeat(ARRAY[1, NULL]::bigint[])$$, '22004', NULL, 'an error before the switch');
SELECT is(current_user::text, 'r_trust_app', 'current_user is still the caller');
RESET ROLE;
RESET search_path;
RESET temp_tablespaces;
RESET default_tablespace;
SELECT is((SELECT count(*)::int FROM pg_catalog.pg_proc p
		   WHERE p.pronamespace = 'session'::regnamespace AND p.prosecdef AND p.prolang = 13), 0,
		  'the C functions are not SECURITY DEFINER (they switch themselves)');

-------------------------------------------------------------------------------
-- A view that no longer matches the row type gives a clean error
-------------------------------------------------------------------------------

SELECT session.open_session('trust_view', 'trust_p') AS tv \gset
SAVEPOINT view_changed;
ALTER EXTENSION session DROP VIEW session.active_sessions;
DROP VIEW session.active_sessions;
CREATE VIEW session.active_sessions AS
	SELECT id, uuid::text AS uuid, username, project, start_time FROM session_storage.sessions;
SELECT throws_ok($$SELECT * FROM session.get_session_info('trust_view')$$, '42804',
				 'internal statement does not return the function''s result type',
				 'get_session_info() refuses rows of another shape');
SELECT throws_ok(format('SELECT * FROM session.get_session_info(%s)', :tv), '42804',
				 'internal statement does not return the function''s result type',
				 'get_session_info(id) refuses a row of another shape');
ROLLBACK TO SAVEPOINT view_changed;
SELECT is((SELECT username FROM session.get_session_info(:tv)), 'trust_view', 'the view back, the row is read again');

-------------------------------------------------------------------------------
-- Library and installed SQL of different versions
-------------------------------------------------------------------------------

UPDATE pg_extension SET extversion = '0.1.0' WHERE extname = 'session';
CREATE SCHEMA trust_inval;	-- a schema change makes the library look again
SELECT throws_ok($$SELECT session.heartbeat(1)$$, '55000', NULL,
				 'a library of another version than the installed SQL refuses to run');
SELECT throws_like($$SELECT session.heartbeat(1)$$, '%is version % but the extension installed in this database is version 0.1.0%',
				   'the message names both versions');
UPDATE pg_extension SET extversion = (SELECT default_version FROM pg_available_extensions WHERE name = 'session')
	WHERE extname = 'session';
DROP SCHEMA trust_inval;
SELECT lives_ok($$SELECT session.heartbeat(1)$$, 'the same version works again');

-------------------------------------------------------------------------------
-- Only the views in schema session; its own schema for the storage
-------------------------------------------------------------------------------

SELECT ok((SELECT count(*) FROM pg_inherits WHERE inhparent = 'session_storage.ended_sessions'::regclass) > 1,
		  'there are daily partitions');
DROP EXTENSION session;
SELECT ok(to_regnamespace('session_storage') IS NULL, 'DROP EXTENSION drops session_storage, daily partitions included');
CREATE TABLE session.app_data (x integer);
SELECT throws_ok('CREATE EXTENSION session', '42P06', 'schema "session" already exists and is not empty',
				 'CREATE EXTENSION refuses a schema session that holds objects');
DROP TABLE session.app_data;
GRANT CREATE ON SCHEMA session TO r_trust_app;
SELECT throws_ok('CREATE EXTENSION session', '42P06',
				 'schema "session" already exists and other roles may create objects in it',
				 'CREATE EXTENSION refuses a schema session that another role may create in');
REVOKE CREATE ON SCHEMA session FROM r_trust_app;
ALTER SCHEMA session OWNER TO r_trust_app;
SELECT throws_ok('CREATE EXTENSION session', '42P06',
				 'schema "session" already exists and is owned by role r_trust_app',
				 'CREATE EXTENSION refuses a schema session that another role owns');
ALTER SCHEMA session OWNER TO CURRENT_USER;
CREATE SCHEMA session_storage;
SELECT throws_ok('CREATE EXTENSION session', '42P06', 'schema "session_storage" already exists',
				 'CREATE EXTENSION refuses an existing schema session_storage');
DROP SCHEMA session_storage;
SELECT lives_ok('CREATE EXTENSION session',
				'an empty schema session of the installing superuser (what DROP EXTENSION leaves, what pg_restore creates) is used');
SELECT is((SELECT string_agg(DISTINCT relkind::text, ',') FROM pg_class WHERE relnamespace = 'session'::regnamespace),
		  'c,v', 'schema session holds views and the row type only');

-------------------------------------------------------------------------------
-- The library runs nothing unless both schemas are still the extension's own
-------------------------------------------------------------------------------

SELECT lives_ok($$SELECT session.heartbeat(1)$$, 'the schemas as installed: the library runs');
SAVEPOINT schemas;
GRANT CREATE ON SCHEMA session TO r_trust_app;
SELECT throws_ok($$SELECT session.heartbeat(1)$$, '55000', 'r_trust_app may create objects in schema "session"',
				 'a right of another role to create in schema session stops the library');
ROLLBACK TO SAVEPOINT schemas;
GRANT CREATE ON SCHEMA session_storage TO PUBLIC;
SELECT throws_ok($$SELECT session.heartbeat(1)$$, '55000', 'PUBLIC may create objects in schema "session_storage"',
				 'so does one of PUBLIC on session_storage');
ROLLBACK TO SAVEPOINT schemas;
ALTER SCHEMA session_storage OWNER TO r_trust_app;
SELECT throws_ok($$SELECT session.heartbeat(1)$$, '55000',
				 'schema "session_storage" is not owned by the owner of extension "session"',
				 'and another owner of session_storage');
ROLLBACK TO SAVEPOINT schemas;
ALTER SCHEMA session RENAME TO session_moved;
CREATE SCHEMA session;
SELECT throws_ok($$SELECT session_moved.heartbeat(1)$$, '55000',
				 'schema "session" is not a schema of extension "session"',
				 'and a schema session that is not the extension''s');
ROLLBACK TO SAVEPOINT schemas;
SELECT lives_ok($$SELECT session.heartbeat(1)$$, 'the schemas back as installed: the library runs again');

SELECT * FROM finish();
ROLLBACK;
