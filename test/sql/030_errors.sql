-- Bad input: every row of the contract's table, for every function that
-- takes that input, with its SQLSTATE, and nothing written.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
BEGIN;
SELECT plan(250);

-- start from an empty registry (rolled back at the end)
DELETE FROM session_storage.sessions;
DELETE FROM session_storage.ended_sessions;

SELECT session.open_session('alice', 'MyProject', '10.0.0.1', 'browser', 'c1', 'ua', 'node-a') AS open_id \gset
SELECT session.open_clientless_session('svc', 'MyProject', 'node-a') AS cl_id \gset
SELECT session.open_session('gone', 'MyProject') AS ended_id \gset
SELECT session.close_session(:ended_id) \g /dev/null
SELECT session.open_clientless_session('svc-gone') AS ended_cl_id \gset
SELECT session.close_clientless_session(:ended_cl_id) \g /dev/null
SELECT session.heartbeat(:open_id, 10, ARRAY['p1']) \g /dev/null

-- Everything an error could have written: both tables (every column) and the
-- id sequence (an id is drawn only after every check passed).
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
	SELECT concat_ws('|',
		(SELECT md5(coalesce(string_agg(s::text, ',' ORDER BY s.id), '')) FROM session_storage.sessions s),
		(SELECT md5(coalesce(string_agg(e::text, ',' ORDER BY e.id), '')) FROM session_storage.ended_sessions e),
		(SELECT last_value || '/' || is_called FROM session_storage.sessions_id_seq))
$$;

-- Two tests: the statement fails with the SQLSTATE, and nothing changed.
CREATE FUNCTION pg_temp.refused(stmt text, state text, description text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	before text := pg_temp.state();
BEGIN
	RETURN NEXT throws_ok(stmt, state, NULL, description);
	RETURN NEXT is(pg_temp.state(), before, description || ': nothing written');
END
$$;

-- pg_temp.err(stmt): the error a statement raises, with its parts
\i test/sql/include/err.sql

-- Accepted: lives, and the row that was written.
CREATE FUNCTION pg_temp.accepted(stmt text, description text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	RETURN lives_ok(stmt, description);
END
$$;

-------------------------------------------------------------------------------
-- Invalid regular expressions: 2201B, the message names the parameter
-------------------------------------------------------------------------------

SELECT pg_temp.refused($$SELECT * FROM session.get_session_info('(')$$, '2201B', 'invalid username_regex');
SELECT pg_temp.refused($$SELECT * FROM session.get_session_info(NULL, '(')$$, '2201B', 'invalid project_regex');
SELECT pg_temp.refused($$SELECT * FROM session.get_session_info('alice', '[a')$$, '2201B', 'invalid project_regex with a valid username_regex');
SELECT pg_temp.refused($$SELECT * FROM session.get_session_info('*a')$$, '2201B', 'a quantifier without operand');
SELECT pg_temp.refused($$SELECT * FROM session.get_session_info('a{2,1}')$$, '2201B', 'a bad repetition count');
SELECT pg_temp.refused($$SELECT * FROM session.get_session_info('alice\')$$, '2201B', 'a trailing backslash');
SELECT pg_temp.refused($$SELECT * FROM session.get_session_info('(?i)(')$$, '2201B', 'invalid pattern after (?i)');
SELECT pg_temp.refused($$SELECT * FROM session.concurrency(now() - interval '1 hour', now(), interval '1 hour', '(')$$,
					   '2201B', 'invalid project_regex in concurrency');
SELECT alike((pg_temp.err($$SELECT * FROM session.get_session_info('(')$$)).message, '%username_regex%',
			 'the 2201B message names username_regex');
SELECT alike((pg_temp.err($$SELECT * FROM session.get_session_info(NULL, '(')$$)).message, '%project_regex%',
			 'the 2201B message names project_regex');
SELECT alike((pg_temp.err($$SELECT * FROM session.get_session_info('alice', '(')$$)).message, '%project_regex%',
			 'the 2201B message names project_regex when the username is valid');
SELECT unalike((pg_temp.err($$SELECT * FROM session.get_session_info('alice', '(')$$)).message, '%username_regex%',
			   'and not username_regex');
SELECT alike((pg_temp.err($$SELECT * FROM session.concurrency(now() - interval '1 hour', now(), interval '1 hour', '(')$$)).message,
			 '%project_regex%', 'the concurrency 2201B message names project_regex');

-------------------------------------------------------------------------------
-- Unknown scope: 22023, the allowed scopes are listed
-------------------------------------------------------------------------------

SELECT pg_temp.refused($$SELECT session.open_session('bob', 'MyProject', scope => 'tablet')$$, '22023', 'unknown scope');
SELECT pg_temp.refused($$SELECT session.open_session('bob', 'MyProject', scope => 'Browser')$$, '22023', 'scopes are case-sensitive');
SELECT pg_temp.refused($$SELECT session.open_session('bob', 'MyProject', scope => '')$$, '22023', 'empty scope');
SELECT pg_temp.refused($$SELECT session.open_session('bob', 'MyProject', scope => NULL)$$, '22004', 'NULL scope');
SELECT ok((SELECT bool_and(concat(e.message, ' ', e.hint) LIKE '%' || sc || '%')
		   FROM pg_temp.err($$SELECT session.open_session('bob', 'MyProject', scope => 'tablet')$$) e,
				unnest(ARRAY['browser', 'designer', 'ios', 'android', 'client', 'clientless']) sc),
		  'the unknown-scope error lists every allowed scope');
SELECT alike((pg_temp.err($$SELECT session.open_session('bob', 'MyProject', scope => 'tablet')$$)).message, '%tablet%',
			 'the unknown-scope message names the bad scope');

-------------------------------------------------------------------------------
-- Negative bytes: 22023
-------------------------------------------------------------------------------

SELECT pg_temp.refused(format('SELECT session.heartbeat(%s, -1)', :open_id), '22023', 'heartbeat with negative bytes');
SELECT pg_temp.refused(format('SELECT session.heartbeat(%s, -1, ARRAY[''p9''])', :open_id), '22023', 'heartbeat with negative bytes and pages');
SELECT pg_temp.refused('SELECT session.heartbeat(-42::bigint, -1)', '22023', 'heartbeat of an unknown id with negative bytes');
SELECT pg_temp.refused(format('SELECT session.heartbeat(ARRAY[%s]::bigint[], ARRAY[-1]::bigint[])', :open_id), '22023',
					   'batched heartbeat with negative bytes');
SELECT pg_temp.refused(format('SELECT session.heartbeat(ARRAY[%s, %s]::bigint[], ARRAY[5, -1]::bigint[])', :open_id, :cl_id), '22023',
					   'batched heartbeat with one negative entry');
SELECT pg_temp.refused(format('SELECT session.heartbeat(ARRAY[%s, %s]::bigint[], ARRAY[5]::bigint[])', :open_id, :cl_id), '22023',
					   'batched heartbeat with fewer bytes than ids');
SELECT pg_temp.refused(format('SELECT session.heartbeat(ARRAY[%s]::bigint[], ARRAY[5, 6]::bigint[])', :open_id), '22023',
					   'batched heartbeat with more bytes than ids');

-------------------------------------------------------------------------------
-- Empty project or username (and other empty names): 22023
-------------------------------------------------------------------------------

SELECT pg_temp.refused($$SELECT session.open_session('', 'MyProject')$$, '22023', 'open_session with an empty username');
SELECT pg_temp.refused($$SELECT session.open_session('bob', '')$$, '22023', 'open_session with an empty project');
SELECT pg_temp.refused($$SELECT session.open_session('bob', 'MyProject', node => '')$$, '22023', 'open_session with an empty node');
SELECT pg_temp.refused($$SELECT session.open_clientless_session('')$$, '22023', 'open_clientless_session with an empty username');
SELECT pg_temp.refused($$SELECT session.open_clientless_session('svc', '')$$, '22023', 'open_clientless_session with an empty project');
SELECT pg_temp.refused($$SELECT session.open_clientless_session('svc', 'MyProject', '')$$, '22023', 'open_clientless_session with an empty node');
SELECT pg_temp.refused(format('SELECT session.set_session_user(%s, %L)', :open_id, ''), '22023', 'set_session_user with an empty username');
SELECT pg_temp.refused(format('SELECT session.close_session(%s, %L)', :open_id, ''), '22023', 'close_session with an empty reason');
SELECT pg_temp.refused(format('SELECT session.terminate_session(%s, %L)', :open_id, ''), '22023', 'terminate_session with an empty reason');
SELECT pg_temp.refused($$SELECT session.close_node_sessions('')$$, '22023', 'close_node_sessions with an empty node');
SELECT pg_temp.refused($$SELECT session.close_node_sessions('node-a', '')$$, '22023', 'close_node_sessions with an empty reason');

-------------------------------------------------------------------------------
-- Texts over their limit: 22001 (and the limit itself is accepted)
-------------------------------------------------------------------------------

-- username: 256 characters
SELECT pg_temp.accepted(format('SELECT session.open_session(%L, %L)', repeat('u', 256), 'MyProject'), 'a 256-character username is accepted');
SELECT pg_temp.refused(format('SELECT session.open_session(%L, %L)', repeat('u', 257), 'MyProject'), '22001', 'a 257-character username');
SELECT pg_temp.accepted(format('SELECT session.open_clientless_session(%L)', repeat('v', 256)), 'a 256-character clientless username is accepted');
SELECT pg_temp.refused(format('SELECT session.open_clientless_session(%L)', repeat('v', 257)), '22001', 'a 257-character clientless username');
SELECT pg_temp.accepted(format('SELECT session.set_session_user(%s, %L)', :open_id, repeat('w', 256)), 'set_session_user accepts a 256-character username');
SELECT pg_temp.refused(format('SELECT session.set_session_user(%s, %L)', :open_id, repeat('w', 257)), '22001', 'set_session_user with a 257-character username');
SELECT CASE WHEN getdatabaseencoding() = 'UTF8'
			THEN pg_temp.accepted(format('SELECT session.open_session(%L, %L)', repeat(U&'\00E9', 256), 'MyProject'),
								  'limits count characters, not bytes')
			ELSE skip('needs a UTF8 database', 1) END;
SELECT CASE WHEN getdatabaseencoding() = 'UTF8'
			THEN throws_ok(format('SELECT session.open_session(%L, %L)', repeat(U&'\00E9', 257), 'MyProject'), '22001', NULL,
						   '257 two-byte characters are over the limit')
			ELSE skip('needs a UTF8 database', 1) END;

-- project: 256 characters
SELECT pg_temp.accepted(format('SELECT session.open_session(%L, %L)', 'bob', repeat('p', 256)), 'a 256-character project is accepted');
SELECT pg_temp.refused(format('SELECT session.open_session(%L, %L)', 'bob', repeat('p', 257)), '22001', 'a 257-character project');
SELECT pg_temp.accepted(format('SELECT session.open_clientless_session(%L, %L)', 'svc', repeat('p', 256)), 'a 256-character clientless project is accepted');
SELECT pg_temp.refused(format('SELECT session.open_clientless_session(%L, %L)', 'svc', repeat('p', 257)), '22001', 'a 257-character clientless project');

-- node: 256 characters
SELECT pg_temp.accepted(format('SELECT session.open_session(%L, %L, node => %L)', 'bob', 'MyProject', repeat('n', 256)), 'a 256-character node is accepted');
SELECT pg_temp.refused(format('SELECT session.open_session(%L, %L, node => %L)', 'bob', 'MyProject', repeat('n', 257)), '22001', 'a 257-character node');
SELECT pg_temp.accepted(format('SELECT session.open_clientless_session(%L, NULL, %L)', 'svc', repeat('n', 256)), 'a 256-character clientless node is accepted');
SELECT pg_temp.refused(format('SELECT session.open_clientless_session(%L, NULL, %L)', 'svc', repeat('n', 257)), '22001', 'a 257-character clientless node');
SELECT pg_temp.accepted(format('SELECT session.close_node_sessions(%L)', repeat('m', 256)), 'close_node_sessions accepts a 256-character node');
SELECT pg_temp.refused(format('SELECT session.close_node_sessions(%L)', repeat('m', 257)), '22001', 'close_node_sessions with a 257-character node');

-- client_id: 256 characters
SELECT pg_temp.accepted(format('SELECT session.open_session(%L, %L, client_id => %L)', 'bob', 'MyProject', repeat('c', 256)), 'a 256-character client_id is accepted');
SELECT pg_temp.refused(format('SELECT session.open_session(%L, %L, client_id => %L)', 'bob', 'MyProject', repeat('c', 257)), '22001', 'a 257-character client_id');

-- user_agent: 1024 characters
SELECT pg_temp.accepted(format('SELECT session.open_session(%L, %L, user_agent => %L)', 'bob', 'MyProject', repeat('a', 1024)), 'a 1024-character user_agent is accepted');
SELECT pg_temp.refused(format('SELECT session.open_session(%L, %L, user_agent => %L)', 'bob', 'MyProject', repeat('a', 1025)), '22001', 'a 1025-character user_agent');

-- reason: 256 characters
SELECT session.open_session('r1', 'MyProject') AS r1 \gset
SELECT session.open_session('r2', 'MyProject') AS r2 \gset
SELECT pg_temp.refused(format('SELECT session.close_session(%s, %L)', :r1, repeat('r', 257)), '22001', 'close_session with a 257-character reason');
SELECT pg_temp.refused(format('SELECT session.terminate_session(%s, %L)', :r1, repeat('r', 257)), '22001', 'terminate_session with a 257-character reason');
SELECT pg_temp.refused(format('SELECT session.close_node_sessions(%L, %L)', 'node-a', repeat('r', 257)), '22001', 'close_node_sessions with a 257-character reason');
SELECT is(session.close_session(:r1, repeat('r', 256)), true, 'close_session accepts a 256-character reason');
SELECT is(session.terminate_session(:r2, repeat('r', 256)), true, 'terminate_session accepts a 256-character reason');
SELECT is(session.close_node_sessions('no-such-node', repeat('r', 256)), 0::bigint, 'close_node_sessions accepts a 256-character reason');

-- reasons that read as a reserved one: case, white space at either end and
-- Unicode format characters (Cf) do not make a reason the caller's own
SELECT pg_temp.refused(format('SELECT session.close_session(%s, %L)', :open_id, reason), '22023',
					   'close_session with the look-alike reason ' || label)
	FROM (VALUES ('Terminated', '''Terminated'''),
				 ('timeout ', '''timeout '' (trailing space)'),
				 (' TIMEOUT', ''' TIMEOUT'''),
				 (U&'terminated\200B', '''terminated'' || U+200B'),
				 (U&'\FEFFclosed', 'U+FEFF || ''closed'''),
				 (U&'\00ADevicted', 'U+00AD || ''evicted'''),
				 (U&'max_\2060lifetime', '''max_'' || U+2060 || ''lifetime'''),
				 (U&'node_shutdown\00A0\0009', '''node_shutdown'' || no-break space || tab'),
				 (U&'clo\017Fed', '''clo'' || U+017F (long s) || ''ed''')) AS l(reason, label);
SELECT throws_like(format('SELECT session.close_session(%s, %L)', :open_id, 'Timeout'),
				   '%reason "Timeout" reads as the reserved reason "timeout"%', 'the message names the reason it reads as');
SELECT pg_temp.refused(format('SELECT session.terminate_session(%s, %L)', :open_id, U&'Terminated\200D'), '22023',
					   'terminate_session with a look-alike of a reserved reason');
SELECT pg_temp.refused(format('SELECT session.close_node_sessions(%L, %L)', 'node-a', 'Node_Shutdown'), '22023',
					   'close_node_sessions with a look-alike of its own reason');
SELECT session.open_session('r3', 'MyProject') AS r3 \gset
SELECT session.open_session('r4', 'MyProject') AS r4 \gset
SELECT is(session.close_session(:r3, 'time out'), true, 'a reason with white space inside is the caller''s own');
SELECT is(session.terminate_session(:r4, 'timeout'), true, 'terminate_session accepts a reserved reason spelled exactly');
SELECT is((SELECT string_agg(end_reason, ',' ORDER BY id) FROM session.history WHERE id IN (:r3, :r4)),
		  'time out,timeout', 'both stored as given');

-- page_ids: 1000 entries, each at most 256 characters
SELECT pg_temp.accepted(format('SELECT session.heartbeat(%s, 0, (SELECT array_agg(%L || i) FROM generate_series(1, 1000) i))', :open_id, 'page'),
						'1000 page_ids are accepted');
SELECT is(active_pages, 1000, 'and stored') FROM session.get_session_info(:open_id::bigint);
SELECT pg_temp.refused(format('SELECT session.heartbeat(%s, 0, (SELECT array_agg(%L || i) FROM generate_series(1, 1001) i))', :open_id, 'page'),
					   '22001', '1001 page_ids');
SELECT pg_temp.accepted(format('SELECT session.heartbeat(%s, 0, ARRAY[%L])', :open_id, repeat('x', 256)), 'a 256-character page id is accepted');
SELECT pg_temp.refused(format('SELECT session.heartbeat(%s, 0, ARRAY[%L])', :open_id, repeat('x', 257)), '22001', 'a 257-character page id');
SELECT pg_temp.refused(format('SELECT session.heartbeat(%s, 0, ARRAY[''a'', NULL])', :open_id), '22004', 'a NULL page id');

-- attributes: a JSON object of at most 64 kB
SELECT pg_temp.accepted(format('SELECT session.open_session(%L, %L, attributes => jsonb_build_object(%L, repeat(%L, 65000)))', 'bob', 'MyProject', 'k', 'x'),
						'attributes just under 64 kB are accepted');
SELECT pg_temp.refused(format('SELECT session.open_session(%L, %L, attributes => jsonb_build_object(%L, repeat(%L, 66000)))', 'bob', 'MyProject', 'k', 'x'),
					   '22001', 'attributes over 64 kB');
SELECT pg_temp.refused(format('SELECT session.open_session(%L, %L, attributes => (SELECT jsonb_object_agg(%L || i, i) FROM generate_series(1, 10000) i))', 'bob', 'MyProject', 'key'),
					   '22001', 'attributes over 64 kB in many keys');
SELECT pg_temp.accepted(format('SELECT session.open_clientless_session(%L, attributes => jsonb_build_object(%L, repeat(%L, 65000)))', 'svc', 'k', 'x'),
						'clientless attributes just under 64 kB are accepted');
SELECT pg_temp.refused(format('SELECT session.open_clientless_session(%L, attributes => jsonb_build_object(%L, repeat(%L, 66000)))', 'svc', 'k', 'x'),
					   '22001', 'clientless attributes over 64 kB');
SELECT pg_temp.refused($$SELECT session.open_session('bob', 'MyProject', attributes => '[1, 2]')$$, '22023', 'attributes that are an array');
SELECT pg_temp.refused($$SELECT session.open_session('bob', 'MyProject', attributes => '1')$$, '22023', 'attributes that are a number');
SELECT pg_temp.refused($$SELECT session.open_session('bob', 'MyProject', attributes => '"text"')$$, '22023', 'attributes that are a string');
SELECT pg_temp.refused($$SELECT session.open_session('bob', 'MyProject', attributes => 'null')$$, '22023', 'attributes that are JSON null');
SELECT pg_temp.refused($$SELECT session.open_clientless_session('svc', attributes => '[]')$$, '22023', 'clientless attributes that are an array');
SELECT pg_temp.accepted($$SELECT session.open_session('bob', 'MyProject', attributes => '{}')$$, 'an empty JSON object is accepted');

-------------------------------------------------------------------------------
-- NULL where a value is required: 22004
-------------------------------------------------------------------------------

SELECT pg_temp.refused($$SELECT session.open_session('bob', NULL)$$, '22004', 'open_session with a NULL project');
SELECT pg_temp.refused($$SELECT session.open_clientless_session(NULL)$$, '22004', 'open_clientless_session with a NULL username');
SELECT pg_temp.refused($$SELECT session.set_session_user(NULL, 'bob')$$, '22004', 'set_session_user with a NULL id');
SELECT pg_temp.refused('SELECT session.heartbeat(NULL::bigint)', '22004', 'heartbeat with a NULL id');
SELECT pg_temp.refused(format('SELECT session.heartbeat(%s, NULL)', :open_id), '22004', 'heartbeat with NULL bytes');
SELECT pg_temp.refused('SELECT session.heartbeat(NULL::bigint[])', '22004', 'batched heartbeat with NULL ids');
SELECT pg_temp.refused('SELECT session.heartbeat(NULL::bigint[], ARRAY[1]::bigint[])', '22004', 'batched heartbeat with NULL ids and bytes');
SELECT pg_temp.refused(format('SELECT session.heartbeat(ARRAY[%s, NULL]::bigint[])', :open_id), '22004', 'batched heartbeat with a NULL id');
SELECT pg_temp.refused(format('SELECT session.heartbeat(ARRAY[%s]::bigint[], ARRAY[NULL]::bigint[])', :open_id), '22004', 'batched heartbeat with a NULL byte count');
SELECT pg_temp.refused('SELECT session.close_session(NULL)', '22004', 'close_session with a NULL id');
SELECT pg_temp.refused(format('SELECT session.close_session(%s, NULL)', :open_id), '22004', 'close_session with a NULL reason');
SELECT pg_temp.refused('SELECT session.close_clientless_session(NULL)', '22004', 'close_clientless_session with a NULL id');
SELECT pg_temp.refused('SELECT session.get_session_info(NULL::bigint)', '22004', 'get_session_info with a NULL id');
SELECT pg_temp.refused('SELECT session.get_session_user(NULL)', '22004', 'get_session_user with a NULL id');
SELECT pg_temp.refused('SELECT session.terminate_session(NULL)', '22004', 'terminate_session with a NULL id');
SELECT pg_temp.refused(format('SELECT session.terminate_session(%s, NULL)', :open_id), '22004', 'terminate_session with a NULL reason');
SELECT pg_temp.refused('SELECT session.close_node_sessions(NULL)', '22004', 'close_node_sessions with a NULL node');
SELECT pg_temp.refused($$SELECT session.close_node_sessions('node-a', NULL)$$, '22004', 'close_node_sessions with a NULL reason');
SELECT pg_temp.refused('SELECT session.purge_history(NULL)', '22004', 'purge_history with a NULL interval');
SELECT pg_temp.refused('SELECT session.attach_session(NULL)', '22004', 'attach_session with a NULL id');
SELECT pg_temp.refused(format('SELECT session.attach_session(%s, NULL)', :open_id), '22004', 'attach_session with a NULL is_local');
SELECT pg_temp.refused($$SELECT session.set_user_context('bob', NULL)$$, '22004', 'set_user_context with a NULL is_local');

-------------------------------------------------------------------------------
-- Unknown limit policy: 22023
-------------------------------------------------------------------------------

SELECT throws_ok($$SET session.limit_policy = 'bogus'$$, '22023', NULL, 'an unknown limit policy');
SELECT throws_ok($$SELECT set_config('session.limit_policy', 'bogus', true)$$, '22023', NULL, 'an unknown limit policy through set_config');
SELECT lives_ok($$SET LOCAL session.limit_policy = 'evict_oldest'$$, 'evict_oldest is a limit policy');
SELECT lives_ok($$SET LOCAL session.limit_policy = 'reject'$$, 'reject is a limit policy');
SELECT is(current_setting('session.limit_policy'), 'reject', 'a refused policy left the setting alone');

-------------------------------------------------------------------------------
-- Unknown ids: SE404 with the id in the message
-------------------------------------------------------------------------------

SELECT pg_temp.refused('SELECT session.get_session_info(987654321::bigint)', 'SE404', 'get_session_info of an unknown id');
SELECT pg_temp.refused('SELECT session.get_session_user(987654321)', 'SE404', 'get_session_user of an unknown id');
SELECT pg_temp.refused($$SELECT session.set_session_user(987654321, 'bob')$$, 'SE404', 'set_session_user of an unknown id');
SELECT pg_temp.refused('SELECT session.set_session_user(987654321, NULL)', 'SE404', 'set_session_user (logout) of an unknown id');
SELECT pg_temp.refused(format('SELECT session.set_session_user(%s, %L)', :ended_id, 'bob'), 'SE404', 'set_session_user of an ended session');
SELECT pg_temp.refused('SELECT session.close_clientless_session(987654321)', 'SE404', 'close_clientless_session of an unknown id');
SELECT pg_temp.refused(format('SELECT session.close_clientless_session(%s)', :open_id), 'SE404', 'close_clientless_session of an open non-clientless session');
SELECT pg_temp.refused(format('SELECT session.close_clientless_session(%s)', :ended_id), 'SE404', 'close_clientless_session of an ended non-clientless session');
SELECT pg_temp.refused('SELECT session.attach_session(987654321)', 'SE404', 'attach_session of an unknown id');
SELECT pg_temp.refused(format('SELECT session.attach_session(%s)', :ended_id), 'SE404', 'attach_session of an ended session');
SELECT pg_temp.refused('SELECT session.terminate_session(987654321)', 'SE404', 'terminate_session of an unknown id');
SELECT pg_temp.refused('SELECT session.close_session(987654321)', 'SE404', 'close_session of an unknown id');
SELECT pg_temp.refused($$SELECT session.close_session(987654321, 'custom')$$, 'SE404', 'close_session of an unknown id with a reason');
SELECT ok(session.get_user_context() IS NULL AND session.current_session_id() IS NULL,
		  'a failed attach_session leaves the context unset');

SELECT alike((pg_temp.err(stmt)).message, '%987654321%', fn || ': the SE404 message has the id')
	FROM (VALUES
		('get_session_info', 'SELECT session.get_session_info(987654321::bigint)'),
		('get_session_user', 'SELECT session.get_session_user(987654321)'),
		('set_session_user', $$SELECT session.set_session_user(987654321, 'bob')$$),
		('close_clientless_session', 'SELECT session.close_clientless_session(987654321)'),
		('attach_session', 'SELECT session.attach_session(987654321)'),
		('terminate_session', 'SELECT session.terminate_session(987654321)'),
		('close_session', 'SELECT session.close_session(987654321)')
	) AS t(fn, stmt)
	ORDER BY fn;
SELECT alike((pg_temp.err(format('SELECT session.close_clientless_session(%s)', :open_id))).message, '%' || :open_id || '%',
			 'close_clientless_session of a non-clientless session: the message has the id');

-- unknown ids are not errors for heartbeat
SELECT is(session.heartbeat(987654321::bigint), false, 'heartbeat of an unknown id returns false, no error');
SELECT is(session.heartbeat(ARRAY[987654321]::bigint[]), 0::bigint, 'batched heartbeat of an unknown id returns 0, no error');

-------------------------------------------------------------------------------
-- The good sessions were not disturbed
-------------------------------------------------------------------------------

SELECT ok(username = 'w' || repeat('w', 255) AND total_bytes_sent = 10 AND end_time IS NULL,
		  'the session used for the bad calls is still open with its data')
	FROM session.get_session_info(:open_id::bigint);
SELECT ok(end_time IS NULL, 'the clientless session is still open') FROM session.get_session_info(:cl_id::bigint);

SELECT * FROM finish();
ROLLBACK;
