-- Documentation in the catalogs: every table, view, sequence, column, type
-- and function of schema session has a comment (\d+ and \df+ are the
-- manual), and every session.* setting has a description.  The checks list
-- the catalogs, not a fixed set of names, so a new object without a comment
-- fails here.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
BEGIN;
SELECT plan(16);

-- daily partitions exist too (rolled back at the end)
SELECT session.expire_sessions() AS ignored \gset

SELECT ok((SELECT count(*) FROM pg_class WHERE relnamespace IN ('session'::regnamespace, 'session_storage'::regnamespace)
		   AND relkind IN ('r', 'p', 'v', 'm', 'S', 'f')) >= 8,
		  'there are tables, views and sequences to check');
SELECT ok((SELECT count(*) FROM pg_proc WHERE pronamespace = 'session'::regnamespace) >= 20,
		  'there are functions to check');

SELECT is_empty($$SELECT c.oid::regclass::text FROM pg_class c
				  WHERE c.relnamespace IN ('session'::regnamespace, 'session_storage'::regnamespace) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
				  AND coalesce(btrim(obj_description(c.oid, 'pg_class')), '') = ''
				  ORDER BY 1$$,
				'every table, partition, view and sequence of schemas session and session_storage has a comment');

SELECT is_empty($$SELECT c.oid::regclass::text || '.' || a.attname FROM pg_class c
				  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
				  WHERE c.relnamespace IN ('session'::regnamespace, 'session_storage'::regnamespace) AND c.relkind IN ('r', 'p', 'f')
				  AND NOT c.relispartition
				  AND coalesce(btrim(col_description(c.oid, a.attnum)), '') = ''
				  ORDER BY c.oid::regclass::text, a.attnum$$,
				'every column of the tables has a comment (partitions share their parent''s columns)');

SELECT is_empty($$SELECT c.oid::regclass::text || '.' || a.attname FROM pg_class c
				  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
				  WHERE c.relnamespace IN ('session'::regnamespace, 'session_storage'::regnamespace) AND c.relkind IN ('v', 'm')
				  AND coalesce(btrim(col_description(c.oid, a.attnum)), '') = ''
				  ORDER BY c.oid::regclass::text, a.attnum$$,
				'every column of the views has a comment');

SELECT is_empty($$SELECT t.oid::regtype::text || '.' || a.attname FROM pg_type t
				  JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'
				  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
				  WHERE t.typnamespace = 'session'::regnamespace
				  AND coalesce(btrim(col_description(c.oid, a.attnum)), '') = ''
				  ORDER BY t.oid::regtype::text, a.attnum$$,
				'every attribute of the composite types (session_info) has a comment');

-- types: composite, enum, domain, range, base; not arrays and not the row
-- types of tables and views
SELECT is_empty($$SELECT t.oid::regtype::text FROM pg_type t
				  LEFT JOIN pg_class c ON c.oid = t.typrelid
				  WHERE t.typnamespace = 'session'::regnamespace
				  AND NOT (t.typcategory = 'A' AND t.typelem <> 0)
				  AND (t.typrelid = 0 OR c.relkind = 'c')
				  AND coalesce(btrim(obj_description(t.oid, 'pg_type')), '') = ''
				  ORDER BY 1$$,
				'every type of schema session has a comment');
SELECT ok(coalesce(btrim(obj_description('session.session_info'::regtype, 'pg_type')), '') <> '',
		  'session.session_info has a comment');

SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p
				  WHERE p.pronamespace IN ('session'::regnamespace, 'session_storage'::regnamespace)
				  AND coalesce(btrim(obj_description(p.oid, 'pg_proc')), '') = ''
				  ORDER BY 1$$,
				'every function of schemas session and session_storage has a comment');

SELECT ok(coalesce(btrim(obj_description((SELECT oid FROM pg_extension WHERE extname = 'session'), 'pg_extension')), '') <> '',
		  'the extension itself has a comment');

-- settings
SELECT set_has($$SELECT name::text FROM pg_settings WHERE name LIKE 'session.%'$$,
			   $$SELECT unnest(ARRAY['session.idle_timeout', 'session.max_lifetime', 'session.clientless_idle_timeout',
									'session.reaper_interval', 'session.database', 'session.max_sessions_per_user',
									'session.limit_policy', 'session.history_retention', 'session.notify',
									'session.event_retention'])$$,
			   'the settings of the contract are all defined (server preloaded)');
SELECT is_empty($$SELECT name FROM pg_settings WHERE name LIKE 'session.%'
				  AND coalesce(btrim(short_desc), '') = '' ORDER BY 1$$,
				'every session.* setting has a description');

-- session.history: \d+ describes ended rows, and the view does what its
-- comments say (last_comm_ms and uptime_ms stop at end_time)
SELECT is_empty($$SELECT a.attname FROM pg_attribute a
				  WHERE a.attrelid = 'session.history'::regclass AND a.attnum > 0
				  AND col_description(a.attrelid, a.attnum) ~* '\m(now|while open)\M'
				  ORDER BY a.attnum$$,
				'no column comment of session.history speaks of now or of an open session');
SELECT is(col_description('session.history'::regclass,
						  (SELECT attnum FROM pg_attribute WHERE attrelid = 'session.history'::regclass AND attname = 'last_comm_ms')),
		  'Milliseconds from last_comm to end_time', 'session.history.last_comm_ms says it runs to end_time');
INSERT INTO session_storage.ended_sessions (id, uuid, username, authenticated, project, scope,
											start_time, last_comm, page_ids, end_time, end_reason)
VALUES (9080000001, gen_random_uuid(), 'c_ann', true, 'c_proj', 'browser',
		'2026-01-05 10:00+00', '2026-01-05 10:04+00', '{/main}', '2026-01-05 10:10+00', 'logout');
SELECT is((SELECT last_comm_ms || ' ' || uptime_ms FROM session.history WHERE id = 9080000001),
		  '360000 600000', 'history: last_comm_ms and uptime_ms of an ended session run to end_time, not to now');
SELECT is((SELECT last_comm_ms FROM session.get_session_info(9080000001::bigint)), 360000::bigint,
		  'get_session_info(id) of an ended session: last_comm_ms runs to end_time');

SELECT * FROM finish();
ROLLBACK;
