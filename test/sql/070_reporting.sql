-- Reporting: the views active_sessions, history, project_usage and
-- connections (columns and contents), and session.concurrency() on fixed
-- timelines where the most sessions open at one moment differs from the
-- number of sessions that touch a bucket.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
BEGIN;
SELECT plan(78);

SET LOCAL TimeZone = 'UTC';
SET LOCAL DateStyle = 'ISO, YMD';
SET LOCAL IntervalStyle = 'postgres';

-- start from an empty registry (rolled back at the end)
DELETE FROM session_storage.sessions;
DELETE FROM session_storage.ended_sessions;

-- an ended session with fixed times
CREATE FUNCTION pg_temp.ended(p_id bigint, p_user text, p_project text, p_start timestamptz, p_end timestamptz,
							  p_scope text DEFAULT 'browser', p_reason text DEFAULT 'logout',
							  p_pages text[] DEFAULT '{}') RETURNS void LANGUAGE sql AS $$
	INSERT INTO session_storage.ended_sessions (id, uuid, username, authenticated, project, scope,
										start_time, last_comm, page_ids, end_time, end_reason)
	VALUES (p_id, gen_random_uuid(), p_user, p_user <> 'Unauthenticated', p_project, p_scope,
			p_start, p_start, p_pages, p_end, p_reason)
$$;

-- an open session with a fixed start
CREATE FUNCTION pg_temp.opened(p_user text, p_project text, p_start timestamptz,
							   p_scope text DEFAULT 'browser') RETURNS bigint LANGUAGE sql AS $$
	INSERT INTO session_storage.sessions (uuid, username, authenticated, project, scope, start_time, last_comm)
	VALUES (gen_random_uuid(), p_user, p_user <> 'Unauthenticated', p_project, p_scope, p_start, p_start)
	RETURNING id
$$;

-------------------------------------------------------------------------------
-- Columns
-------------------------------------------------------------------------------

CREATE FUNCTION pg_temp.columns_of(rel regclass) RETURNS TABLE (name text, type text) LANGUAGE sql AS $$
	SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute
	WHERE attrelid = rel AND attnum > 0 AND NOT attisdropped ORDER BY attnum
$$;

SELECT results_eq($$SELECT * FROM pg_temp.columns_of('session.active_sessions')$$,
				  $$SELECT * FROM pg_temp.columns_of((SELECT typrelid FROM pg_type WHERE oid = 'session.session_info'::regtype))$$,
				  'session.active_sessions has exactly the session_info columns, in order');
SELECT results_eq($$SELECT * FROM pg_temp.columns_of('session.history')$$,
				  $$SELECT * FROM pg_temp.columns_of((SELECT typrelid FROM pg_type WHERE oid = 'session.session_info'::regtype))
					UNION ALL SELECT 'duration'::text, 'interval'::text$$,
				  'session.history has the session_info columns plus duration interval');
SELECT is(ARRAY(SELECT name FROM pg_temp.columns_of('session.project_usage')),
				  ARRAY['project', 'open_sessions', 'users', 'designers', 'clientless', 'oldest_start']::text[],
				  'session.project_usage has the columns of the contract');
SELECT is(ARRAY(SELECT type FROM pg_temp.columns_of('session.project_usage') WHERE name IN ('project', 'oldest_start')),
				  ARRAY['text', 'timestamp with time zone']::text[],
				  'project_usage.project is text and oldest_start timestamptz');
SELECT is_empty($$SELECT name FROM pg_temp.columns_of('session.project_usage')
				  WHERE name IN ('open_sessions', 'users', 'designers', 'clientless') AND type NOT IN ('bigint', 'integer')$$,
				'project_usage counts are integers');
SELECT is(ARRAY(SELECT name FROM pg_temp.columns_of('session.connections')),
				  ARRAY['pid', 'datname', 'usename', 'application_name', 'client_addr', 'backend_start', 'state', 'user_context', 'session_id']::text[],
				  'session.connections has the columns of the contract');
SELECT is(ARRAY(SELECT type FROM pg_temp.columns_of('session.connections') WHERE name IN ('pid', 'user_context', 'session_id')),
				  ARRAY['integer', 'text', 'bigint']::text[],
				  'connections.pid is integer, user_context text, session_id bigint');
SELECT is(pg_get_function_result('session.concurrency(timestamptz, timestamptz, interval, text, timestamptz, boolean, text)'::regprocedure),
		  'TABLE(bucket_start timestamp with time zone, project text, peak_sessions integer, distinct_users integer, node text, scope text)',
		  'session.concurrency returns the columns of the contract');
SELECT is(pg_get_function_arguments('session.concurrency(timestamptz, timestamptz, interval, text, timestamptz, boolean, text)'::regprocedure),
		  'from_time timestamp with time zone, to_time timestamp with time zone, bucket interval DEFAULT ''01:00:00''::interval, project_regex text DEFAULT NULL::text, origin timestamp with time zone DEFAULT NULL::timestamp with time zone, include_empty boolean DEFAULT false, group_by text DEFAULT ''project''::text',
		  'session.concurrency takes the arguments of the contract (bucket defaults to 1 hour)');

-------------------------------------------------------------------------------
-- active_sessions
-------------------------------------------------------------------------------

SELECT session.open_session('alice', 'rpt_v', '10.0.0.1', 'designer', 'c-1', 'UA/1', 'node-1',
							'{"k": "v"}') AS v1 \gset
SELECT session.open_session(NULL, 'rpt_v') AS v2 \gset
SELECT session.heartbeat(:v1, 100, ARRAY['p1', 'p2']) AS ignored \gset
-- opened later (higher id) but started earlier: listed first
SELECT pg_temp.opened('bob', 'rpt_v', '2026-01-05 08:00+00') AS v3 \gset
SELECT session.open_session('carl', 'rpt_v') AS v4 \gset
SELECT session.close_session(:v4) AS ignored \gset

SELECT results_eq($$SELECT id, uuid, username COLLATE "default", authenticated, project, address, scope, is_designer, client_id,
						   user_agent, node, start_time, last_comm, active_pages, page_ids, recent_bytes_sent,
						   total_bytes_sent, attributes, end_time, end_reason
					FROM session.active_sessions WHERE project = 'rpt_v' ORDER BY start_time, id$$,
				  $$SELECT id, uuid, username, authenticated, project, address, scope, is_designer, client_id,
						   user_agent, node, start_time, last_comm, active_pages, page_ids, recent_bytes_sent,
						   total_bytes_sent, attributes, end_time, end_reason
					FROM session.get_session_info(NULL, 'rpt_v')$$,
				  'session.active_sessions returns what get_session_info() returns, in the same order');
SELECT results_eq($$SELECT id FROM session.active_sessions WHERE project = 'rpt_v' ORDER BY start_time, id$$,
				  format('VALUES (%s::bigint), (%s), (%s)', :v3, :v1, :v2),
				  'active_sessions lists open sessions only (in start_time, id order when asked)');
SELECT is((SELECT active_pages || ':' || array_to_string(page_ids, ',') || ':' || recent_bytes_sent || ':' || total_bytes_sent
		   FROM session.active_sessions WHERE id = :v1),
		  '2:p1,p2:100:100', 'active_sessions shows pages and byte counters');
SELECT ok((SELECT is_designer AND scope = 'designer' FROM session.active_sessions WHERE id = :v1),
		  'active_sessions.is_designer is true for a designer');
SELECT ok((SELECT username = 'Unauthenticated' AND NOT authenticated FROM session.active_sessions WHERE id = :v2),
		  'active_sessions shows unauthenticated sessions as Unauthenticated');
SELECT ok((SELECT end_time IS NULL AND end_reason IS NULL FROM session.active_sessions WHERE id = :v3),
		  'active_sessions has NULL end_time and end_reason');
SELECT ok((SELECT uptime_ms >= floor(extract(epoch FROM now() - start_time) * 1000) - 1
				  AND uptime_ms <= ceil(extract(epoch FROM clock_timestamp() - start_time) * 1000) + 1
		   FROM session.active_sessions WHERE id = :v3),
		  'active_sessions.uptime_ms is the time since start_time');

-------------------------------------------------------------------------------
-- history
-------------------------------------------------------------------------------

SELECT pg_temp.ended(9100000001, 'alice', 'rpt_h', '2026-01-05 10:00+00', '2026-01-05 10:10+00', 'designer', 'timeout', ARRAY['x', 'y', 'z']) AS ignored \gset
SELECT pg_temp.ended(9100000002, 'Unauthenticated', 'rpt_h', '2026-01-05 11:00+00', '2026-01-06 12:30:00.5+00') AS ignored \gset

SELECT is((SELECT duration FROM session.history WHERE id = 9100000001), '00:10:00'::interval,
		  'history.duration is end_time - start_time');
SELECT is((SELECT duration FROM session.history WHERE id = 9100000002), '1 day 01:30:00.5'::interval,
		  'history.duration across days keeps the fraction');
SELECT is((SELECT uptime_ms FROM session.history WHERE id = 9100000001), 600000::bigint,
		  'history.uptime_ms runs from start to end_time');
SELECT is((SELECT end_time || ' ' || end_reason FROM session.history WHERE id = 9100000001),
		  '2026-01-05 10:10:00+00 timeout', 'history shows end_time and end_reason');
SELECT ok((SELECT is_designer AND active_pages = 3 FROM session.history WHERE id = 9100000001),
		  'history computes is_designer and active_pages');
SELECT ok((SELECT NOT authenticated AND username = 'Unauthenticated' FROM session.history WHERE id = 9100000002),
		  'history keeps unauthenticated sessions');
SELECT ok((SELECT end_reason = 'logout' AND duration = end_time - start_time AND duration >= '0'::interval
		   FROM session.history WHERE id = :v4),
		  'a closed session appears in history with its reason and duration');
SELECT is((SELECT count(*)::int FROM session.history WHERE id IN (:v1, :v2, :v3)), 0,
		  'open sessions are not in history');
SELECT is((SELECT count(*)::int FROM session.active_sessions WHERE id IN (9100000001, 9100000002, :v4)), 0,
		  'ended sessions are not in active_sessions');

-------------------------------------------------------------------------------
-- project_usage
-------------------------------------------------------------------------------

SELECT pg_temp.opened('bob', 'rpt_u', '2026-01-05 08:00+00') AS ignored \gset
SELECT pg_temp.opened('alice', 'rpt_u', '2026-01-05 09:00+00') AS ignored \gset
SELECT pg_temp.opened('alice', 'rpt_u', '2026-01-05 09:30+00', 'designer') AS ignored \gset
SELECT pg_temp.opened('Unauthenticated', 'rpt_u', '2026-01-05 09:45+00') AS ignored \gset
SELECT session.open_clientless_session('carol', 'rpt_u') AS ignored \gset
SELECT pg_temp.ended(9100000003, 'dave', 'rpt_u', '2026-01-04 08:00+00', '2026-01-04 09:00+00') AS ignored \gset
SELECT pg_temp.opened('Unauthenticated', 'rpt_w', '2026-01-05 07:00+00') AS ignored \gset

SELECT results_eq($$SELECT open_sessions::bigint, users::bigint, designers::bigint, clientless::bigint, oldest_start
					FROM session.project_usage WHERE project = 'rpt_u'$$,
				  $$VALUES (5::bigint, 3::bigint, 1::bigint, 1::bigint, '2026-01-05 08:00+00'::timestamptz)$$,
				  'project_usage: open sessions, distinct logged-in users, designers, clientless, oldest start');
SELECT results_eq($$SELECT open_sessions::bigint, users::bigint FROM session.project_usage WHERE project = 'rpt_w'$$,
				  $$VALUES (1::bigint, 0::bigint)$$,
				  'project_usage does not count unauthenticated sessions as users');
SELECT is_empty($$SELECT * FROM session.project_usage WHERE project = 'rpt_h'$$,
				'project_usage has no row for a project with only ended sessions');
SELECT is((SELECT count(*)::int FROM session.project_usage WHERE project = 'rpt_u'), 1,
		  'project_usage has one row per project');

-------------------------------------------------------------------------------
-- connections (contents are tested with attach_session in 050_context)
-------------------------------------------------------------------------------

SELECT ok((SELECT usename = session_user AND state = 'active' FROM session.connections WHERE pid = pg_backend_pid()),
		  'session.connections lists this backend as active, with its database role');
SELECT is_empty($$SELECT pid FROM session.connections c JOIN pg_stat_activity a USING (pid)
				  WHERE a.backend_type <> 'client backend'$$,
				'session.connections lists client backends only');

-------------------------------------------------------------------------------
-- concurrency on a fixed timeline (2026-01-05, UTC)
-------------------------------------------------------------------------------

DELETE FROM session_storage.sessions;
DELETE FROM session_storage.ended_sessions;

-- rpt_a: three sessions one after another in one hour: peak 1, three touched
SELECT pg_temp.ended(9200000001, 'alice', 'rpt_a', '2026-01-05 10:00+00', '2026-01-05 10:10+00') AS ignored \gset
SELECT pg_temp.ended(9200000002, 'bob', 'rpt_a', '2026-01-05 10:20+00', '2026-01-05 10:30+00') AS ignored \gset
SELECT pg_temp.ended(9200000003, 'alice', 'rpt_a', '2026-01-05 10:40+00', '2026-01-05 10:50+00') AS ignored \gset
-- rpt_a, outside [10:00, 13:00): one ends exactly at 10:00, one starts exactly at 13:00
SELECT pg_temp.ended(9200000004, 'zoe', 'rpt_a', '2026-01-05 09:30+00', '2026-01-05 10:00+00') AS ignored \gset
SELECT pg_temp.ended(9200000005, 'zoe', 'rpt_a', '2026-01-05 13:00+00', '2026-01-05 13:30+00') AS ignored \gset
-- rpt_ab: a project whose name starts with rpt_a
SELECT pg_temp.ended(9200000006, 'henry', 'rpt_ab', '2026-01-05 10:00+00', '2026-01-05 10:05+00') AS ignored \gset
-- rpt_b: two overlapping: peak 2
SELECT pg_temp.ended(9200000007, 'carol', 'rpt_b', '2026-01-05 10:00+00', '2026-01-05 10:30+00') AS ignored \gset
SELECT pg_temp.ended(9200000008, 'dave', 'rpt_b', '2026-01-05 10:15+00', '2026-01-05 10:45+00') AS ignored \gset
-- rpt_c: one session spanning three buckets
SELECT pg_temp.ended(9200000009, 'eve', 'rpt_c', '2026-01-05 10:30+00', '2026-01-05 12:30+00') AS ignored \gset
-- rpt_d: an end and a start at the same instant do not overlap; an unauthenticated one at 11:00
SELECT pg_temp.ended(9200000010, 'frank', 'rpt_d', '2026-01-05 10:00+00', '2026-01-05 10:30+00') AS ignored \gset
SELECT pg_temp.ended(9200000011, 'grace', 'rpt_d', '2026-01-05 10:30+00', '2026-01-05 11:00+00') AS ignored \gset
SELECT pg_temp.ended(9200000012, 'Unauthenticated', 'rpt_d', '2026-01-05 11:00+00', '2026-01-05 11:10+00') AS ignored \gset
-- rpt_e: still open, started at 12:15
SELECT pg_temp.opened('ivy', 'rpt_e', '2026-01-05 12:15+00') AS ignored \gset
-- rpt_f: one long session with two short ones inside it at different times: peak 2, three touched
SELECT pg_temp.ended(9200000013, 'ken', 'rpt_f', '2026-01-05 10:00+00', '2026-01-05 10:50+00') AS ignored \gset
SELECT pg_temp.ended(9200000014, 'leo', 'rpt_f', '2026-01-05 10:10+00', '2026-01-05 10:20+00') AS ignored \gset
SELECT pg_temp.ended(9200000015, 'mia', 'rpt_f', '2026-01-05 10:30+00', '2026-01-05 10:40+00') AS ignored \gset
-- rpt_g: the same user twice at once: peak 2, one user
SELECT pg_temp.ended(9200000016, 'ned', 'rpt_g', '2026-01-05 10:00+00', '2026-01-05 10:30+00') AS ignored \gset
SELECT pg_temp.ended(9200000017, 'ned', 'rpt_g', '2026-01-05 10:10+00', '2026-01-05 10:20+00') AS ignored \gset
-- no project (a clientless session opened without one), on the next day
SELECT pg_temp.ended(9200000020, 'otto', NULL, '2026-01-06 10:00+00', '2026-01-06 10:30+00', 'clientless', 'closed') AS ignored \gset
SELECT pg_temp.ended(9200000021, 'pia', NULL, '2026-01-06 10:10+00', '2026-01-06 10:20+00', 'clientless', 'closed') AS ignored \gset
-- rpt_x ends exactly at 10:00 and rpt_y starts exactly at 13:00: neither is in [10:00, 13:00)
SELECT pg_temp.ended(9200000018, 'zoe', 'rpt_x', '2026-01-05 09:00+00', '2026-01-05 10:00+00') AS ignored \gset
SELECT pg_temp.ended(9200000019, 'zoe', 'rpt_y', '2026-01-05 13:00+00', '2026-01-05 14:00+00') AS ignored \gset

SELECT results_eq($$SELECT bucket_start, project, peak_sessions, distinct_users
					FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 13:00+00', '1 hour')
					ORDER BY bucket_start, project COLLATE "C"$$,
				  $$VALUES ('2026-01-05 10:00+00'::timestamptz, 'rpt_a', 1, 2),
						   ('2026-01-05 10:00+00', 'rpt_ab', 1, 1),
						   ('2026-01-05 10:00+00', 'rpt_b', 2, 2),
						   ('2026-01-05 10:00+00', 'rpt_c', 1, 1),
						   ('2026-01-05 10:00+00', 'rpt_d', 1, 2),
						   ('2026-01-05 10:00+00', 'rpt_f', 2, 3),
						   ('2026-01-05 10:00+00', 'rpt_g', 2, 1),
						   ('2026-01-05 11:00+00', 'rpt_c', 1, 1),
						   ('2026-01-05 11:00+00', 'rpt_d', 1, 0),
						   ('2026-01-05 12:00+00', 'rpt_c', 1, 1),
						   ('2026-01-05 12:00+00', 'rpt_e', 1, 1)$$,
				  'concurrency: peak overlap and distinct users per hour and project');
SELECT is((SELECT peak_sessions FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 11:00+00') WHERE project = 'rpt_a'),
		  1, 'three sessions one after another in an hour: peak 1, not 3');
SELECT is((SELECT peak_sessions FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 11:00+00') WHERE project = 'rpt_b'),
		  2, 'two overlapping sessions: peak 2');
SELECT is((SELECT peak_sessions FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 11:00+00') WHERE project = 'rpt_d'),
		  1, 'a session ending when another starts does not overlap it');
SELECT is((SELECT peak_sessions || '/' || distinct_users FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 11:00+00') WHERE project = 'rpt_f'),
		  '2/3', 'nested sessions: peak 2 while three touched the bucket');
SELECT is((SELECT peak_sessions || '/' || distinct_users FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 11:00+00') WHERE project = 'rpt_g'),
		  '2/1', 'one user twice at once: peak 2, one distinct user');
SELECT is((SELECT count(*)::int FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 13:00+00') WHERE project = 'rpt_c'),
		  3, 'a session spanning three buckets counts in each');
SELECT is_empty($$SELECT * FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 13:00+00') WHERE project IN ('rpt_x', 'rpt_y')$$,
				'sessions ending at from_time or starting at to_time are outside the range');
SELECT is((SELECT distinct_users FROM session.concurrency('2026-01-05 11:00+00', '2026-01-05 12:00+00') WHERE project = 'rpt_d'),
		  0, 'distinct_users does not count unauthenticated sessions');

-- 30-minute buckets, and a range that is not a whole number of buckets
SELECT results_eq($$SELECT bucket_start, peak_sessions, distinct_users
					FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 11:00+00', '30 minutes', 'rpt_a')
					ORDER BY bucket_start$$,
				  $$VALUES ('2026-01-05 10:00+00'::timestamptz, 1, 2), ('2026-01-05 10:30+00', 1, 1)$$,
				  'concurrency with 30-minute buckets');
SELECT results_eq($$SELECT bucket_start, peak_sessions FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 11:30+00', '1 hour', 'rpt_c')
					ORDER BY bucket_start$$,
				  $$VALUES ('2026-01-05 10:00+00'::timestamptz, 1), ('2026-01-05 11:00+00', 1)$$,
				  'a range that ends inside a bucket includes that bucket');
SELECT is_empty($$SELECT * FROM session.concurrency('2026-01-05 13:40+00', '2026-01-05 14:00+00', '1 hour', 'rpt_c')$$,
				'a bucket after the session ended has no row');
SELECT results_eq($$SELECT bucket_start, project, peak_sessions, distinct_users
					FROM session.concurrency('2026-01-05 00:00+00', '2026-01-06 00:00+00', '1 day', 'rpt_[a-z]+')
					ORDER BY bucket_start, project COLLATE "C"$$,
				  $$VALUES ('2026-01-05 00:00+00'::timestamptz, 'rpt_a', 1, 3),
						   ('2026-01-05 00:00+00', 'rpt_ab', 1, 1),
						   ('2026-01-05 00:00+00', 'rpt_b', 2, 2),
						   ('2026-01-05 00:00+00', 'rpt_c', 1, 1),
						   ('2026-01-05 00:00+00', 'rpt_d', 1, 2),
						   ('2026-01-05 00:00+00', 'rpt_e', 1, 1),
						   ('2026-01-05 00:00+00', 'rpt_f', 2, 3),
						   ('2026-01-05 00:00+00', 'rpt_g', 2, 1),
						   ('2026-01-05 00:00+00', 'rpt_x', 1, 1),
						   ('2026-01-05 00:00+00', 'rpt_y', 1, 1)$$,
				  'concurrency over one day bucket: back-to-back sessions at 10:00 and 13:00 do not raise the peak');

SELECT results_eq($$SELECT bucket_start, peak_sessions, distinct_users
					FROM session.concurrency('2026-01-01 00:00+00', '2026-03-01 00:00+00', '1 mon', 'rpt_b')$$,
				  $$VALUES ('2026-01-01 00:00+00'::timestamptz, 2, 2)$$,
				  'concurrency with one-month buckets');
SELECT results_eq($$SELECT project, peak_sessions, distinct_users
					FROM session.concurrency('2026-01-06 10:00+00', '2026-01-06 11:00+00') WHERE project IS NULL$$,
				  $$VALUES (NULL::text, 2, 2)$$,
				  'sessions without a project are reported under a NULL project');
SELECT is_empty($$SELECT * FROM session.concurrency('2026-01-06 10:00+00', '2026-01-06 11:00+00', '1 hour', '.*') WHERE project IS NULL$$,
				'a project_regex never matches a NULL project');

-- open sessions count until now
SELECT results_eq($$SELECT bucket_start, peak_sessions FROM session.concurrency('2026-01-05 12:00+00', '2026-01-05 15:00+00', '1 hour', 'rpt_e')
					ORDER BY bucket_start$$,
				  $$VALUES ('2026-01-05 12:00+00'::timestamptz, 1), ('2026-01-05 13:00+00', 1), ('2026-01-05 14:00+00', 1)$$,
				  'an open session counts in every bucket after its start');
SELECT is_empty($$SELECT * FROM session.concurrency(now() + interval '1 day', now() + interval '2 days', '1 hour', 'rpt_e')$$,
				'an open session does not count after now');

-- project_regex: whole match, ARE, embedded options
SELECT is(ARRAY(SELECT project FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 11:00+00', '1 hour', 'rpt_a')),
				  ARRAY['rpt_a']::text[], 'project_regex rpt_a matches rpt_a only, not rpt_ab');
SELECT is_empty($$SELECT * FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 11:00+00', '1 hour', 'pt_a')$$,
				'project_regex must match the whole project');
SELECT is(ARRAY(SELECT project FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 11:00+00', '1 hour', 'rpt_.')
					ORDER BY project COLLATE "C"),
				  ARRAY['rpt_a', 'rpt_b', 'rpt_c', 'rpt_d', 'rpt_f', 'rpt_g']::text[],
				  'a wildcard matches one character');
SELECT is(ARRAY(SELECT project FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 11:00+00', '1 hour', '(?i)RPT_A')),
				  ARRAY['rpt_a']::text[], 'an embedded (?i) option works');
SELECT is(ARRAY(SELECT project FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 11:00+00', '1 hour', 'rpt_a|rpt_b')
					ORDER BY project COLLATE "C"),
				  ARRAY['rpt_a', 'rpt_b']::text[], 'an alternation matches whole values on each side');
SELECT is((SELECT count(*)::int FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 11:00+00', '1 hour', NULL)),
		  7, 'project_regex NULL means no filter');

-- buckets on clock boundaries (like date_bin), an origin, empty buckets
SELECT results_eq($$SELECT bucket_start, peak_sessions FROM session.concurrency('2026-01-05 10:17:21.030421+00', '2026-01-05 11:30+00', '1 hour', 'rpt_c')$$,
				  $$VALUES ('2026-01-05 10:00+00'::timestamptz, 1), ('2026-01-05 11:00+00', 1)$$,
				  'buckets start on the hour, not at from_time');
SELECT results_eq($$SELECT bucket_start FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 11:00+00', '1 hour', 'rpt_c')$$,
				  $$SELECT bucket_start FROM session.concurrency('2026-01-05 10:59:59+00', '2026-01-05 11:00+00', '1 hour', 'rpt_c')$$,
				  'every from_time in a bucket gives the same bucket');
SELECT results_eq($$SELECT bucket_start, peak_sessions FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 11:00+00', '30 minutes', 'rpt_a',
																			  origin => '2026-01-01 00:15+00')$$,
				  $$VALUES ('2026-01-05 09:45+00'::timestamptz, 1), ('2026-01-05 10:15+00', 1), ('2026-01-05 10:45+00', 1)$$,
				  'origin moves the bucket boundaries (date_bin''s origin)');
SELECT results_eq($$SELECT bucket_start, peak_sessions FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 11:00+00', '1 hour', 'rpt_c',
																			  origin => '2030-01-01 00:30+00', include_empty => true)$$,
				  $$VALUES ('2026-01-05 09:30+00'::timestamptz, 0), ('2026-01-05 10:30+00', 1)$$,
				  'an origin after the range works too');
SELECT results_eq($$SELECT bucket_start, project, peak_sessions, distinct_users
					FROM session.concurrency('2026-01-05 08:00+00', '2026-01-05 12:00+00', '1 hour', 'rpt_c', include_empty => true)$$,
				  $$VALUES ('2026-01-05 08:00+00'::timestamptz, 'rpt_c', 0, 0), ('2026-01-05 09:00+00', 'rpt_c', 0, 0),
						   ('2026-01-05 10:00+00', 'rpt_c', 1, 1), ('2026-01-05 11:00+00', 'rpt_c', 1, 1)$$,
				  'include_empty returns empty buckets as zeros');
SELECT results_eq($$SELECT bucket_start, project, peak_sessions, distinct_users
					FROM session.concurrency('2020-01-05 08:00+00', '2020-01-05 10:00+00', include_empty => true)$$,
				  $$VALUES ('2020-01-05 08:00+00'::timestamptz, NULL::text, 0, 0), ('2020-01-05 09:00+00', NULL, 0, 0)$$,
				  'include_empty with no session at all: one zero row per bucket');
SELECT is((SELECT count(*)::int FROM session.concurrency('2026-01-05 08:00+00', '2026-01-05 12:00+00', '1 hour', 'rpt_[ab]', include_empty => true)),
		  4 * 2, 'include_empty: every bucket has a row for every project found');
SET LOCAL TimeZone = 'Europe/Paris';
SELECT results_eq($$SELECT bucket_start FROM session.concurrency('2026-01-05 12:00+00', '2026-01-05 13:00+00', '1 day', 'rpt_c')$$,
				  $$VALUES ('2026-01-05 00:00+01'::timestamptz)$$,
				  'a day bucket starts at midnight of the session time zone');
SELECT results_eq($$SELECT bucket_start FROM session.concurrency('2026-03-29 12:00+00', '2026-03-31 00:00+00', '1 day', include_empty => true)$$,
				  $$VALUES ('2026-03-29 00:00+01'::timestamptz), ('2026-03-30 00:00+02'), ('2026-03-31 00:00+02')$$,
				  'day buckets follow the calendar across a daylight saving change');
SET LOCAL TimeZone = 'UTC';
SELECT throws_ok($$SELECT * FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 11:00+00', origin => 'infinity')$$, '22023', NULL,
				 'an infinite origin raises 22023');
SELECT throws_ok($$SELECT * FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 11:00+00', include_empty => NULL)$$, '22004', NULL,
				 'include_empty NULL raises 22004');

-- errors
SELECT throws_ok($$SELECT * FROM session.concurrency(NULL, '2026-01-05 11:00+00')$$, '22004', NULL,
				 'from_time NULL raises 22004');
SELECT throws_ok($$SELECT * FROM session.concurrency('2026-01-05 10:00+00', NULL)$$, '22004', NULL,
				 'to_time NULL raises 22004');
SELECT throws_ok($$SELECT * FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 11:00+00', NULL)$$, '22004', NULL,
				 'bucket NULL raises 22004');
SELECT throws_ok($$SELECT * FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 10:00+00')$$, '22023', NULL,
				 'from_time = to_time raises 22023');
SELECT throws_ok($$SELECT * FROM session.concurrency('2026-01-05 11:00+00', '2026-01-05 10:00+00')$$, '22023', NULL,
				 'from_time after to_time raises 22023');
SELECT throws_ok($$SELECT * FROM session.concurrency('2026-01-05 10:00+00', 'infinity')$$, '22023', NULL,
				 'an infinite to_time raises 22023');
SELECT throws_ok($$SELECT * FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 11:00+00', '0')$$, '22023', NULL,
				 'a zero bucket raises 22023');
SELECT throws_ok($$SELECT * FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 11:00+00', '-1 hour')$$, '22023', NULL,
				 'a negative bucket raises 22023');
SELECT throws_ok($$SELECT * FROM session.concurrency('2026-01-01 00:00+00', '2027-01-01 00:00+00', '1 second')$$, '22023', NULL,
				 'too many buckets raises 22023');
SELECT lives_ok($$SELECT * FROM session.concurrency('2026-01-01 00:00+00', '2026-01-01 01:00+00', '1 second')$$,
				'3600 buckets are fine');
SELECT throws_ok($$SELECT * FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 11:00+00', '1 hour', '(')$$, '2201B', NULL,
				 'an invalid project_regex raises 2201B');
SELECT throws_like($$SELECT * FROM session.concurrency('2026-01-05 10:00+00', '2026-01-05 11:00+00', '1 hour', 'a[')$$,
				   '%project_regex%', 'the message names project_regex');

SELECT * FROM finish();
ROLLBACK;
