-- The session registry core: open, log in and out, heartbeat (single and
-- batched), close, clientless sessions, termination, node shutdown, and
-- reading sessions back by id.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
BEGIN;
SELECT plan(117);

-- start from an empty registry (rolled back at the end)
DELETE FROM session_storage.sessions;
DELETE FROM session_storage.ended_sessions;

-------------------------------------------------------------------------------
-- open_session with every argument
-------------------------------------------------------------------------------

SELECT session.open_session('alice', 'MyProject', '192.168.1.10', 'designer',
							'client-1', 'Mozilla/5.0 (X11)', 'node-a',
							'{"theme": "dark", "n": 1}') AS s1 \gset
SELECT session.open_session('bob', 'MyProject') AS s2 \gset

SELECT ok(:s1 > 0, 'open_session returns a positive id');
SELECT ok(:s2 > :s1, 'ids increase');

SELECT is(username, 'alice', 'username is stored') FROM session.get_session_info(:s1::bigint);
SELECT is(authenticated, true, 'a named user is authenticated') FROM session.get_session_info(:s1::bigint);
SELECT is(project, 'MyProject', 'project is stored') FROM session.get_session_info(:s1::bigint);
SELECT is(address, '192.168.1.10'::inet, 'address is stored') FROM session.get_session_info(:s1::bigint);
SELECT is(scope, 'designer', 'scope is stored') FROM session.get_session_info(:s1::bigint);
SELECT is(is_designer, true, 'is_designer is true for scope designer') FROM session.get_session_info(:s1::bigint);
SELECT is(client_id, 'client-1', 'client_id is stored') FROM session.get_session_info(:s1::bigint);
SELECT is(user_agent, 'Mozilla/5.0 (X11)', 'user_agent is stored') FROM session.get_session_info(:s1::bigint);
SELECT is(node, 'node-a', 'node is stored') FROM session.get_session_info(:s1::bigint);
SELECT is(attributes, '{"theme": "dark", "n": 1}'::jsonb, 'attributes are stored') FROM session.get_session_info(:s1::bigint);
SELECT is(last_comm, start_time, 'last_comm equals start_time at open') FROM session.get_session_info(:s1::bigint);
SELECT ok(start_time IS NOT NULL, 'start_time is set') FROM session.get_session_info(:s1::bigint);
SELECT ok(uuid IS NOT NULL, 'uuid is set') FROM session.get_session_info(:s1::bigint);
SELECT isnt((SELECT uuid FROM session.get_session_info(:s1::bigint)),
			(SELECT uuid FROM session.get_session_info(:s2::bigint)),
			'uuids differ between sessions');
SELECT is(id, :s1::bigint, 'get_session_info(id) returns that session') FROM session.get_session_info(:s1::bigint);
SELECT ok(end_time IS NULL AND end_reason IS NULL, 'an open session has no end_time or end_reason') FROM session.get_session_info(:s1::bigint);

-- defaults
SELECT is(scope, 'browser', 'scope defaults to browser') FROM session.get_session_info(:s2::bigint);
SELECT is(is_designer, false, 'is_designer is false for browser') FROM session.get_session_info(:s2::bigint);
SELECT ok(address IS NULL AND client_id IS NULL AND user_agent IS NULL AND node IS NULL AND attributes IS NULL,
		  'optional columns default to NULL') FROM session.get_session_info(:s2::bigint);
SELECT is(page_ids, '{}'::text[], 'page_ids start empty') FROM session.get_session_info(:s2::bigint);
SELECT is(active_pages, 0, 'active_pages starts at 0') FROM session.get_session_info(:s2::bigint);
SELECT ok(recent_bytes_sent = 0 AND total_bytes_sent = 0, 'byte counters start at 0') FROM session.get_session_info(:s2::bigint);

-- every scope is accepted
SELECT session.open_session('scoper', 'ScopeProject', scope => sc.name)
	FROM unnest(ARRAY['browser', 'designer', 'ios', 'android', 'client']) AS sc(name) \g /dev/null
SELECT is((SELECT array_agg(scope ORDER BY scope) FROM session.get_session_info('scoper')),
		  ARRAY['android', 'browser', 'client', 'designer', 'ios'],
		  'every client scope is accepted');
SELECT is((SELECT count(*) FILTER (WHERE is_designer) FROM session.get_session_info('scoper')), 1::bigint,
		  'is_designer only for the designer scope');

-------------------------------------------------------------------------------
-- Unauthenticated sessions, log in and log out
-------------------------------------------------------------------------------

SELECT session.open_session(NULL, 'MyProject') AS u1 \gset
SELECT session.open_session('Unauthenticated', 'MyProject') AS u2 \gset

SELECT is(username, 'Unauthenticated', 'NULL username opens an Unauthenticated session') FROM session.get_session_info(:u1::bigint);
SELECT is(authenticated, false, 'NULL username: not authenticated') FROM session.get_session_info(:u1::bigint);
SELECT is(username, 'Unauthenticated', 'literal Unauthenticated opens an Unauthenticated session') FROM session.get_session_info(:u2::bigint);
SELECT is(authenticated, false, 'literal Unauthenticated: not authenticated') FROM session.get_session_info(:u2::bigint);
SELECT is(session.get_session_user(:u1), 'Unauthenticated', 'get_session_user of an unauthenticated session');

SELECT lives_ok(format('SELECT session.set_session_user(%s, %L)', :u1, 'carol'), 'set_session_user logs a user in');
SELECT is(username, 'carol', 'login sets the username') FROM session.get_session_info(:u1::bigint);
SELECT is(authenticated, true, 'login sets authenticated') FROM session.get_session_info(:u1::bigint);
SELECT is(session.get_session_user(:u1), 'carol', 'get_session_user after login');

SELECT lives_ok(format('SELECT session.set_session_user(%s, NULL)', :u1), 'set_session_user(NULL) logs out');
SELECT is(username, 'Unauthenticated', 'logout resets the username') FROM session.get_session_info(:u1::bigint);
SELECT is(authenticated, false, 'logout clears authenticated') FROM session.get_session_info(:u1::bigint);

SELECT session.set_session_user(:u2, 'dave') \g /dev/null
SELECT session.set_session_user(:u2, 'Unauthenticated') \g /dev/null
SELECT ok(username = 'Unauthenticated' AND NOT authenticated, 'set_session_user(''Unauthenticated'') logs out')
	FROM session.get_session_info(:u2::bigint);

SELECT session.set_session_user(:s2, 'robert') \g /dev/null
SELECT ok(username = 'robert' AND authenticated, 'set_session_user switches between users')
	FROM session.get_session_info(:s2::bigint);
SELECT session.set_session_user(:s2, 'bob') \g /dev/null

-------------------------------------------------------------------------------
-- Heartbeat (one session)
-------------------------------------------------------------------------------

SELECT pg_sleep(0.01) \g /dev/null
SELECT ok(session.heartbeat(:s1, 100, ARRAY['p1', 'p2']), 'heartbeat returns true for an open session');
SELECT ok(last_comm > start_time, 'heartbeat moves last_comm forward') FROM session.get_session_info(:s1::bigint);
SELECT is(recent_bytes_sent, 100::bigint, 'heartbeat sets recent_bytes_sent') FROM session.get_session_info(:s1::bigint);
SELECT is(total_bytes_sent, 100::bigint, 'heartbeat adds to total_bytes_sent') FROM session.get_session_info(:s1::bigint);
SELECT is(page_ids, ARRAY['p1', 'p2'], 'heartbeat sets page_ids') FROM session.get_session_info(:s1::bigint);
SELECT is(active_pages, 2, 'active_pages is the number of page_ids') FROM session.get_session_info(:s1::bigint);

SELECT last_comm AS lc1 FROM session_storage.sessions WHERE id = :s1 \gset
SELECT pg_sleep(0.01) \g /dev/null
SELECT ok(session.heartbeat(:s1, 50), 'heartbeat without page_ids');
SELECT ok(last_comm > :'lc1'::timestamptz, 'a later heartbeat moves last_comm forward again') FROM session.get_session_info(:s1::bigint);
SELECT is(recent_bytes_sent, 50::bigint, 'recent_bytes_sent is the latest report') FROM session.get_session_info(:s1::bigint);
SELECT is(total_bytes_sent, 150::bigint, 'total_bytes_sent accumulates') FROM session.get_session_info(:s1::bigint);
SELECT is(page_ids, ARRAY['p1', 'p2'], 'NULL page_ids keeps the pages') FROM session.get_session_info(:s1::bigint);

SELECT ok(session.heartbeat(:s1), 'heartbeat with only the id');
SELECT is(recent_bytes_sent, 0::bigint, 'bytes_sent defaults to 0') FROM session.get_session_info(:s1::bigint);
SELECT is(total_bytes_sent, 150::bigint, 'a zero heartbeat leaves the total') FROM session.get_session_info(:s1::bigint);

SELECT ok(session.heartbeat(:s1, 0, ARRAY['p3']), 'heartbeat replacing pages');
SELECT is(page_ids, ARRAY['p3'], 'given page_ids replace the old ones') FROM session.get_session_info(:s1::bigint);
SELECT is(active_pages, 1, 'active_pages follows page_ids') FROM session.get_session_info(:s1::bigint);
SELECT ok(session.heartbeat(:s1, 0, '{}'), 'heartbeat with no pages');
SELECT is(active_pages, 0, 'an empty page_ids array clears the pages') FROM session.get_session_info(:s1::bigint);

-- last_comm never moves backwards
UPDATE session_storage.sessions SET last_comm = statement_timestamp() + interval '1 hour' WHERE id = :s1;
SELECT last_comm AS lc_future FROM session_storage.sessions WHERE id = :s1 \gset
SELECT ok(session.heartbeat(:s1, 1), 'heartbeat on a session with a later last_comm');
SELECT is(last_comm, :'lc_future'::timestamptz, 'last_comm never moves backwards') FROM session.get_session_info(:s1::bigint);
UPDATE session_storage.sessions SET last_comm = start_time WHERE id = :s1;

SELECT is(session.heartbeat(-12345::bigint), false, 'heartbeat of an unknown id returns false');

-------------------------------------------------------------------------------
-- Heartbeat (batched)
-------------------------------------------------------------------------------

-- the live totals (the view's): with the library preloaded, heartbeats may
-- still be in the shared-memory buffer rather than in the row
SELECT total_bytes_sent AS t1 FROM session.active_sessions WHERE id = :s1 \gset
SELECT total_bytes_sent AS t2 FROM session.active_sessions WHERE id = :s2 \gset
SELECT pg_sleep(0.01) \g /dev/null
SELECT is(session.heartbeat(ARRAY[:s1, :s2, :s1, -12345]::bigint[], ARRAY[10, 20, 5, 7]::bigint[]), 2::bigint,
		  'batched heartbeat returns the number of open sessions touched');
SELECT is(recent_bytes_sent, 15::bigint, 'duplicate ids are merged, their bytes summed') FROM session.get_session_info(:s1::bigint);
SELECT is(total_bytes_sent, :t1 + 15::bigint, 'batched heartbeat adds to the total once per merged id') FROM session.get_session_info(:s1::bigint);
SELECT is(recent_bytes_sent, 20::bigint, 'batched heartbeat sets recent_bytes_sent') FROM session.get_session_info(:s2::bigint);
SELECT is(total_bytes_sent, :t2 + 20::bigint, 'batched heartbeat adds to total_bytes_sent') FROM session.get_session_info(:s2::bigint);
SELECT ok(last_comm > start_time, 'batched heartbeat moves last_comm forward') FROM session.get_session_info(:s2::bigint);
SELECT is(session.heartbeat(ARRAY[:s2]::bigint[]), 1::bigint, 'batched heartbeat without bytes');
SELECT is(recent_bytes_sent, 0::bigint, 'NULL bytes_sent counts as 0') FROM session.get_session_info(:s2::bigint);
SELECT is(total_bytes_sent, :t2 + 20::bigint, 'NULL bytes_sent leaves the total') FROM session.get_session_info(:s2::bigint);
SELECT is(session.heartbeat(ARRAY[-1, -2]::bigint[], ARRAY[1, 1]::bigint[]), 0::bigint, 'unknown ids are ignored');
SELECT is(session.heartbeat(ARRAY[]::bigint[]), 0::bigint, 'an empty batch touches nothing');

-------------------------------------------------------------------------------
-- close_session
-------------------------------------------------------------------------------

SELECT session.open_session('erin', 'MyProject') AS s3 \gset
SELECT pg_sleep(0.01) \g /dev/null
SELECT is(session.close_session(:s2), true, 'close_session returns true');
SELECT is(session.close_session(:s2), false, 'closing an ended session returns false');
SELECT is(end_reason, 'logout', 'the default reason is logout') FROM session.get_session_info(:s2::bigint);
SELECT ok(end_time IS NOT NULL AND end_time >= start_time, 'an ended session has an end_time') FROM session.get_session_info(:s2::bigint);
SELECT is(username, 'bob', 'an ended session is queryable by id') FROM session.get_session_info(:s2::bigint);
SELECT is(session.get_session_user(:s2), 'bob', 'get_session_user of an ended session');
SELECT is(session.heartbeat(:s2), false, 'heartbeat of an ended session returns false');
SELECT is(session.heartbeat(ARRAY[:s2]::bigint[]), 0::bigint, 'batched heartbeat ignores ended sessions');
SELECT is(end_reason, 'logout', 'a second close does not change the reason')
	FROM session.get_session_info(:s2::bigint);
SELECT is(session.close_session(:s3, 'kicked'), true, 'close_session with a reason');
SELECT is(end_reason, 'kicked', 'the caller''s reason is kept') FROM session.get_session_info(:s3::bigint);
SELECT is(session.close_session(:s3, 'other'), false, 'closing again with another reason returns false');
SELECT is(end_reason, 'kicked', 'closing again keeps the first reason') FROM session.get_session_info(:s3::bigint);

-- uptime of an ended session runs to end_time and no longer grows
SELECT uptime_ms AS up1 FROM session.get_session_info(:s2::bigint) \gset
SELECT ok(abs(:up1::bigint - (SELECT extract(epoch FROM end_time - start_time) * 1000 FROM session_storage.ended_sessions WHERE id = :s2)) < 1,
		  'uptime_ms of an ended session is end_time - start_time');
SELECT pg_sleep(0.02) \g /dev/null
SELECT is(uptime_ms, :up1::bigint, 'uptime_ms of an ended session is stable') FROM session.get_session_info(:s2::bigint);
SELECT ok(uptime_ms >= 10, 'uptime_ms counts the time the session was open') FROM session.get_session_info(:s2::bigint);
SELECT is(page_ids, '{}'::text[], 'ended sessions keep their columns') FROM session.get_session_info(:s2::bigint);

-------------------------------------------------------------------------------
-- Clientless sessions
-------------------------------------------------------------------------------

SELECT session.open_clientless_session('svc', 'MyProject', 'node-a', '{"job": 7}') AS c1 \gset
SELECT session.open_clientless_session('svc2') AS c2 \gset
SELECT is(scope, 'clientless', 'a clientless session has scope clientless') FROM session.get_session_info(:c1::bigint);
SELECT ok(address IS NULL, 'a clientless session has no address') FROM session.get_session_info(:c1::bigint);
SELECT ok(username = 'svc' AND authenticated, 'a clientless session acts for its user') FROM session.get_session_info(:c1::bigint);
SELECT ok(project = 'MyProject' AND node = 'node-a' AND attributes = '{"job": 7}',
		  'clientless project, node and attributes are stored') FROM session.get_session_info(:c1::bigint);
SELECT ok(project IS NULL AND node IS NULL AND attributes IS NULL, 'clientless project, node, attributes are optional')
	FROM session.get_session_info(:c2::bigint);
SELECT is(session.close_clientless_session(:c1), true, 'close_clientless_session returns true');
SELECT is(end_reason, 'closed', 'a closed clientless session ends with reason closed') FROM session.get_session_info(:c1::bigint);
SELECT is(session.close_clientless_session(:c1), false, 'closing a clientless session twice returns false');
SELECT throws_ok(format('SELECT session.close_clientless_session(%s)', :s1), 'SE404', NULL,
				 'close_clientless_session of an open non-clientless session raises SE404');
SELECT ok(EXISTS (SELECT FROM session_storage.sessions WHERE id = :s1), 'and the session stays open');
SELECT throws_ok(format('SELECT session.close_clientless_session(%s)', :s2), 'SE404', NULL,
				 'close_clientless_session of an ended non-clientless session raises SE404');

-------------------------------------------------------------------------------
-- terminate_session
-------------------------------------------------------------------------------

SELECT is(session.terminate_session(:s1), true, 'terminate_session returns true');
SELECT is(end_reason, 'terminated', 'the default termination reason is terminated') FROM session.get_session_info(:s1::bigint);
SELECT is(session.terminate_session(:s1), false, 'terminating an ended session returns false');
SELECT is(session.terminate_session(:c2, 'admin said so'), true, 'terminate_session ends a clientless session too');
SELECT is(end_reason, 'admin said so', 'terminate_session keeps the caller''s reason') FROM session.get_session_info(:c2::bigint);

-------------------------------------------------------------------------------
-- close_node_sessions
-------------------------------------------------------------------------------

SELECT session.open_session('n1', 'NodeProject', node => 'node-x') \g /dev/null
SELECT session.open_session('n2', 'NodeProject', node => 'node-x') \g /dev/null
SELECT session.open_clientless_session('n3', 'NodeProject', 'node-x') \g /dev/null
SELECT session.open_session('n4', 'NodeProject', node => 'node-y') AS ny \gset
SELECT session.open_session('n5', 'NodeProject') AS nnull \gset
SELECT is(session.close_node_sessions('node-x'), 3::bigint, 'close_node_sessions returns how many sessions it ended');
SELECT is((SELECT count(*) FROM session_storage.sessions WHERE node = 'node-x'), 0::bigint, 'no session of that node stays open');
SELECT is((SELECT array_agg(DISTINCT end_reason) FROM session_storage.ended_sessions WHERE node = 'node-x'),
		  ARRAY['node_shutdown'], 'they end with reason node_shutdown');
SELECT ok(EXISTS (SELECT FROM session_storage.sessions WHERE id = :ny) AND EXISTS (SELECT FROM session_storage.sessions WHERE id = :nnull),
		  'sessions of other nodes (and without a node) stay open');
SELECT is(session.close_node_sessions('node-x'), 0::bigint, 'a node without open sessions: 0');
SELECT is(session.close_node_sessions('node-y', 'restart'), 1::bigint, 'close_node_sessions with a reason');
SELECT is(end_reason, 'restart', 'close_node_sessions keeps the caller''s reason') FROM session.get_session_info(:ny::bigint);

-------------------------------------------------------------------------------
-- A session is in exactly one of the two tables
-------------------------------------------------------------------------------

SELECT is((SELECT count(*) FROM session_storage.sessions s JOIN session_storage.ended_sessions e USING (id)), 0::bigint,
		  'no session is both open and ended');
SELECT is((SELECT count(*) FROM session_storage.ended_sessions), (SELECT count(DISTINCT id) FROM session_storage.ended_sessions),
		  'an ended session has one history row');
SELECT ok(NOT EXISTS (SELECT FROM session_storage.sessions WHERE id IN (:s1, :s2, :s3, :c1, :c2, :ny))
		  AND (SELECT count(*) FROM session_storage.ended_sessions WHERE id IN (:s1, :s2, :s3, :c1, :c2, :ny)) = 6,
		  'every ended session moved to history');
SELECT ok(EXISTS (SELECT FROM session_storage.sessions WHERE id = :u1) AND NOT EXISTS (SELECT FROM session_storage.ended_sessions WHERE id = :u1),
		  'an open session is only in session_storage.sessions');

SELECT * FROM finish();
ROLLBACK;
