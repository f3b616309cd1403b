-- History in and out: session.import_sessions (every check and its
-- SQLSTATE, all or nothing, partitions, ids), the login intervals
-- (session.logins, kept through set_session_user and close),
-- session.concurrency's group_by against a brute-force sweep, and
-- session.get_session_info_at against a scan of the logins on random
-- instants.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
BEGIN;
SELECT plan(118);

SET LOCAL TimeZone = 'UTC';
SET LOCAL DateStyle = 'ISO, YMD';
SET LOCAL IntervalStyle = 'postgres';

-- start from an empty registry (rolled back at the end)
DELETE FROM session_storage.sessions;
DELETE FROM session_storage.ended_sessions;

-- import_sessions(json) as text: 'ok N' or 'SQLSTATE message'
CREATE FUNCTION pg_temp.imp(j text, open boolean DEFAULT false) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
	st text;
	msg text;
BEGIN
	n := session.import_sessions(j::jsonb, open);
	RETURN 'ok ' || n;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
	RETURN st || ' ' || msg;
END
$$;

-- one good session (a day that has no partition yet) with one field replaced
CREATE FUNCTION pg_temp.one(patch text) RETURNS text LANGUAGE sql AS $$
	SELECT '[{"project": "imp_ok", "username": "ann", "start_time": "2026-01-10 10:00+00", "end_time": "2026-01-10 11:00+00"}, '
		   || (jsonb_build_object('project', 'imp_p', 'start_time', '2026-01-10 10:00+00', 'end_time', '2026-01-10 11:00+00')
			   || patch::jsonb)::text || ']'
$$;

-------------------------------------------------------------------------------
-- import_sessions: signature
-------------------------------------------------------------------------------

SELECT is(pg_get_function_arguments('session.import_sessions(jsonb, boolean)'::regprocedure),
		  'sessions jsonb, include_open boolean DEFAULT false',
		  'import_sessions takes a jsonb array and include_open (default false)');
SELECT is(pg_get_function_result('session.import_sessions(jsonb, boolean)'::regprocedure), 'bigint',
		  'import_sessions returns how many it imported');

-------------------------------------------------------------------------------
-- import_sessions: what it writes
-------------------------------------------------------------------------------

SELECT session.open_session('imp_seq', 'imp_seq') AS seq0 \gset
SELECT count(*) AS ev0 FROM session_storage.events \gset
-- a row of 2026-01-05 already in the default partition, which has no day partition
INSERT INTO session_storage.ended_sessions (id, uuid, username, authenticated, project, scope, start_time, last_comm, end_time, end_reason)
VALUES (9200000001, gen_random_uuid(), 'zed', true, 'imp_pre', 'browser', '2026-01-05 08:00+00', '2026-01-05 08:00+00', '2026-01-05 09:00+00', 'logout');

SELECT is(pg_temp.imp($$[
	{"project": "imp_a", "username": "dora", "node": "n1", "address": "10.0.0.7", "scope": "designer",
	 "client_id": "c-1", "user_agent": "UA/1", "start_time": "2026-01-05 10:00+00", "last_comm": "2026-01-05 10:50+00",
	 "end_time": "2026-01-05 11:00+00", "recent_bytes_sent": 10, "total_bytes_sent": 1000,
	 "page_ids": ["p1", "p2"], "attributes": {"src": "gw"}},
	{"project": "imp_a", "start_time": "2026-01-05 10:30+00", "end_time": "2026-01-06 00:30+00", "end_reason": "timeout",
	 "logins": [{"username": "ed", "login_time": "2026-01-05 10:40+00", "logout_time": "2026-01-05 11:00+00"},
				{"username": "fay", "login_time": "2026-01-05 11:10+00"}]},
	{"project": "imp_a", "start_time": "2026-01-05 12:00+00", "end_time": "2026-01-05 13:00+00", "end_reason": "my_word",
	 "logins": [{"username": "gil", "login_time": "2026-01-05 12:10+00", "logout_time": "2026-01-05 12:20+00"},
				{"username": "hal", "login_time": "2026-01-05 12:20+00", "logout_time": "2026-01-05 12:30+00"}]},
	{"project": "imp_a", "start_time": "2026-01-05 14:00+00", "end_time": "2026-01-05 15:00+00", "username": "Unauthenticated"}
	]$$), 'ok 4', 'import_sessions imports ended sessions and returns how many');

SELECT is((SELECT string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s', username, authenticated, address, scope,
									client_id, user_agent, node, start_time, last_comm, end_time, end_reason,
									recent_bytes_sent, total_bytes_sent, attributes), E'\n' ORDER BY start_time)
		   FROM session.history WHERE project = 'imp_a' AND start_time < '2026-01-05 10:10+00'),
		  'dora|t|10.0.0.7|designer|c-1|UA/1|n1|2026-01-05 10:00:00+00|2026-01-05 10:50:00+00|2026-01-05 11:00:00+00|logout|10|1000|{"src": "gw"}',
		  'every given column is stored; end_reason defaults to logout');
SELECT is((SELECT page_ids FROM session.history WHERE project = 'imp_a' AND username = 'dora'), ARRAY['p1', 'p2'],
		  'page_ids are stored');
SELECT is((SELECT string_agg(username || '|' || authenticated || '|' || last_comm || '|' || end_reason || '|' || scope, ',' ORDER BY start_time)
		   FROM session.history WHERE project = 'imp_a' AND start_time > '2026-01-05 10:10+00'),
		  'fay|true|2026-01-06 00:30:00+00|timeout|browser,Unauthenticated|false|2026-01-05 13:00:00+00|my_word|browser,Unauthenticated|false|2026-01-05 15:00:00+00|logout|browser',
		  'the user of a session with logins is the one logged in at its end; last_comm defaults to end_time, scope to browser');
SELECT is((SELECT string_agg(l.username || ' ' || l.login_time || ' ' || coalesce(l.logout_time::text, '-'), ', ' ORDER BY l.login_time)
		   FROM session.logins l JOIN session.history h ON h.id = l.session_id WHERE h.project = 'imp_a'),
		  'dora 2026-01-05 10:00:00+00 2026-01-05 11:00:00+00, ed 2026-01-05 10:40:00+00 2026-01-05 11:00:00+00, '
		  'fay 2026-01-05 11:10:00+00 2026-01-06 00:30:00+00, gil 2026-01-05 12:10:00+00 2026-01-05 12:20:00+00, '
		  'hal 2026-01-05 12:20:00+00 2026-01-05 12:30:00+00',
		  'the logins are kept: a username alone is logged in for the whole session, Unauthenticated is nobody');
SELECT ok((SELECT min(id) > :seq0 AND count(DISTINCT id) = 4 AND count(DISTINCT uuid) = 4 FROM session.history WHERE project = 'imp_a'),
		  'imported sessions get new ids from the sequence and new uuids');
SELECT is((SELECT count(*) FROM session_storage.events), :ev0::bigint, 'import writes no event');
SELECT is((SELECT string_agg(c.relname || ':' || (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid), ',' ORDER BY c.relname)
		   FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid
		   WHERE h.inhparent = 'session_storage.ended_sessions'::regclass AND c.relname IN ('ended_sessions_20260105', 'ended_sessions_20260106')),
		  'ended_sessions_20260105:4,ended_sessions_20260106:4',
		  'import creates the partitions of its days, each with its four indexes');
SELECT is((SELECT count(*)::int FROM session_storage.ended_sessions_20260105 WHERE id = 9200000001), 1,
		  'the rows of a new partition''s day move out of the default partition');
SELECT is((SELECT count(*)::int FROM session_storage.ended_sessions_default WHERE end_time < '2026-01-07'), 0,
		  'nothing of those days is left in the default partition');

-- open sessions
SELECT is(pg_temp.imp($$[{"project": "imp_o", "node": "n9", "start_time": "2026-01-05 10:00+00",
						  "logins": [{"username": "ivy", "login_time": "2026-01-05 10:05+00"}]},
						 {"project": "imp_o", "start_time": "2026-01-05 11:00+00", "last_comm": "2026-01-05 11:30+00"}]$$, true),
		  'ok 2', 'include_open => true imports sessions without end_time as open ones');
SELECT is((SELECT string_agg(username || '|' || authenticated || '|' || last_comm || '|' || coalesce(end_time::text, '-'), ',' ORDER BY start_time)
		   FROM session.get_session_info(NULL, 'imp_o')),
		  'ivy|true|2026-01-05 10:00:00+00|-,Unauthenticated|false|2026-01-05 11:30:00+00|-',
		  'imported open sessions are listed with their user (last_comm defaults to start_time)');
SELECT is((SELECT count(*)::int FROM session.logins l JOIN session.active_sessions a ON a.id = l.session_id
		   WHERE a.project = 'imp_o' AND l.logout_time IS NULL), 1,
		  'the login of an imported open session is still open');
SELECT is(pg_temp.imp('[]'), 'ok 0', 'an empty array imports nothing');

-- all or nothing
SELECT count(*) AS before_all FROM session.history \gset
SELECT is(pg_temp.imp($$[{"project": "imp_x", "start_time": "2026-01-04 10:00+00", "end_time": "2026-01-04 11:00+00"},
						 {"project": "imp_x", "start_time": "2026-01-04 10:00+00", "end_time": "2026-01-04 11:00+00"},
						 {"project": "imp_x", "start_time": "2026-01-04 12:00+00", "end_time": "2026-01-04 11:00+00"}]$$),
		  '22023 row 3: end_time is before start_time', 'a bad row fails the whole import, naming its position');
SELECT is((SELECT count(*) FROM session.history), :before_all::bigint, 'nothing of a failed import is written');
SELECT ok(to_regclass('session_storage.ended_sessions_20260104') IS NULL, 'nor its partitions');

-------------------------------------------------------------------------------
-- import_sessions: every check, with its SQLSTATE and the row it names
-------------------------------------------------------------------------------

SELECT throws_ok($$SELECT session.import_sessions(NULL)$$, '22004', 'sessions must not be null', 'NULL sessions: 22004');
SELECT throws_ok($$SELECT session.import_sessions('[]', NULL)$$, '22004', 'include_open must not be null', 'NULL include_open: 22004');
SELECT is(pg_temp.imp('{"project": "x"}'), '22023 sessions must be a JSON array of objects', 'not an array: 22023');
SELECT is(pg_temp.imp('[{"project": "imp_ok", "username": "ann", "start_time": "2026-01-10 10:00+00", "end_time": "2026-01-10 11:00+00"}, 5]'),
		  '22023 row 2: is not a JSON object', 'an element that is not an object: 22023');
SELECT is(pg_temp.imp(pg_temp.one('{"usr": "x"}')), '22023 row 2: unknown key "usr"', 'an unknown key: 22023');
SELECT is(pg_temp.imp(pg_temp.one('{"node": 5}')), '22023 row 2: node must be a string', 'a number for a string: 22023');
SELECT is(pg_temp.imp(pg_temp.one('{"project": null}')), '22004 row 2: project must not be null', 'no project: 22004');
SELECT is(pg_temp.imp(pg_temp.one('{"start_time": null}')), '22004 row 2: start_time must not be null', 'no start_time: 22004');
SELECT is(pg_temp.imp(pg_temp.one('{"end_time": null}')),
		  '22004 row 2: end_time must not be null (include_open => true imports open sessions)',
		  'no end_time without include_open: 22004');
SELECT is(pg_temp.imp(pg_temp.one('{"end_time": null, "end_reason": "logout"}'), true),
		  '22023 row 2: end_reason is given but end_time is not', 'end_reason without end_time: 22023');
SELECT is(pg_temp.imp(pg_temp.one('{"username": ""}')), '22023 row 2: username must not be empty', 'empty username: 22023');
SELECT is(pg_temp.imp(pg_temp.one('{"project": ""}')), '22023 row 2: project must not be empty', 'empty project: 22023');
SELECT is(pg_temp.imp(pg_temp.one('{"node": ""}')), '22023 row 2: node must not be empty', 'empty node: 22023');
SELECT is(pg_temp.imp(pg_temp.one('{"end_reason": ""}')), '22023 row 2: end_reason must not be empty', 'empty end_reason: 22023');
SELECT is(pg_temp.imp(pg_temp.one(jsonb_build_object('username', repeat('é', 257))::text)),
		  '22001 row 2: username is too long (the limit is 256 characters)', 'a username of 257 characters: 22001');
SELECT is(pg_temp.imp(pg_temp.one(jsonb_build_object('username', repeat('é', 256))::text)), 'ok 2',
		  'a username of 256 characters is accepted');
SELECT is(pg_temp.imp(pg_temp.one(jsonb_build_object('end_reason', repeat('r', 257))::text)),
		  '22001 row 2: end_reason is too long (the limit is 256 characters)', 'an end_reason of 257 characters: 22001');
SELECT is(pg_temp.imp(pg_temp.one(jsonb_build_object('user_agent', repeat('u', 1025))::text)),
		  '22001 row 2: user_agent is too long (the limit is 1024 characters)', 'a user_agent of 1025 characters: 22001');
SELECT is(pg_temp.imp(pg_temp.one('{"scope": "tablet"}')),
		  '22023 row 2: unknown scope "tablet": the scope is one of browser, designer, ios, android, client or clientless',
		  'an unknown scope: 22023');
SELECT is(pg_temp.imp(pg_temp.one('{"end_reason": " Timeout"}')),
		  '22023 row 2: reason " Timeout" is too close to a reason reserved for the session registry itself',
		  'a lookalike of a reserved reason: 22023');
SELECT is(pg_temp.imp(pg_temp.one(format('{"end_reason": "time%sout"}', chr(8203)))),
		  format('22023 row 2: reason "time%sout" is too close to a reason reserved for the session registry itself', chr(8203)),
		  'a reserved reason with a zero-width space: 22023');
SELECT is(pg_temp.imp(pg_temp.one('{"end_reason": "max_lifetime"}')), 'ok 2', 'a reserved reason itself is accepted (history has them)');
SELECT is(pg_temp.imp(pg_temp.one('{"total_bytes_sent": -1}')),
		  '22023 row 2: total_bytes_sent must be a whole number of bytes, not negative', 'negative bytes: 22023');
SELECT is(pg_temp.imp(pg_temp.one('{"recent_bytes_sent": 1.5}')),
		  '22023 row 2: recent_bytes_sent must be a whole number of bytes, not negative', 'fractional bytes: 22023');
SELECT is(pg_temp.imp(pg_temp.one('{"recent_bytes_sent": "5"}')),
		  '22023 row 2: recent_bytes_sent must be a whole number of bytes, not negative', 'bytes as a string: 22023');
SELECT is(pg_temp.imp(pg_temp.one(jsonb_build_object('page_ids', (SELECT jsonb_agg(i::text) FROM generate_series(1, 1001) i))::text)),
		  '22001 row 2: page_ids has too many entries (the limit is 1000)', '1001 page ids: 22001');
SELECT is(pg_temp.imp(pg_temp.one(jsonb_build_object('page_ids', jsonb_build_array(repeat('p', 257)))::text)),
		  '22001 row 2: a page id is too long (the limit is 256 characters)', 'a page id of 257 characters: 22001');
SELECT is(pg_temp.imp(pg_temp.one('{"page_ids": [1]}')), '22023 row 2: page_ids must be an array of strings', 'a page id that is not a string: 22023');
SELECT is(pg_temp.imp(pg_temp.one('{"attributes": [1]}')), '22023 row 2: attributes must be a JSON object', 'attributes not an object: 22023');
SELECT is(pg_temp.imp(pg_temp.one(jsonb_build_object('attributes', jsonb_build_object('k', repeat('a', 70000)))::text)),
		  '22001 row 2: attributes are too large (the limit is 65536 bytes)', 'attributes over 64 kB: 22001');
SELECT is(pg_temp.imp(pg_temp.one('{"logins": {}}')), '22023 row 2: logins must be an array of objects', 'logins not an array: 22023');
SELECT is(pg_temp.imp(pg_temp.one('{"username": "a", "logins": []}')),
		  '22023 row 2: username and logins are both given (the user of a session with logins is the one logged in at its end)',
		  'username and logins together: 22023');
SELECT is(pg_temp.imp(pg_temp.one('{"logins": [{"username": "a", "login_time": "2026-01-10 10:00+00", "x": 1}]}')),
		  '22023 row 2: login 1: has a key other than username, login_time and logout_time', 'an unknown key in a login: 22023');
SELECT is(pg_temp.imp(pg_temp.one('{"logins": [{"login_time": "2026-01-10 10:00+00"}]}')),
		  '22004 row 2: login 1: username and login_time must be strings, not null', 'a login without username: 22004');
SELECT is(pg_temp.imp(pg_temp.one('{"logins": [{"username": "Unauthenticated", "login_time": "2026-01-10 10:00+00"}]}')),
		  '22023 row 2: login 1: username must not be empty or Unauthenticated', 'a login of Unauthenticated: 22023');
SELECT is(pg_temp.imp(pg_temp.one(jsonb_build_object('logins', jsonb_build_array(jsonb_build_object('username', repeat('u', 257), 'login_time', '2026-01-10 10:00+00')))::text)),
		  '22001 row 2: login 1: username is too long (the limit is 256 characters)', 'a login username of 257 characters: 22001');
-- times
SELECT is(pg_temp.imp(pg_temp.one('{"end_time": "last tuesday"}')),
		  '22007 row 2: invalid input syntax for type timestamp with time zone: "last tuesday"', 'a time that does not parse: 22007');
SELECT is(pg_temp.imp(pg_temp.one('{"start_time": "300000-01-01"}')),
		  '22008 row 2: timestamp out of range: "300000-01-01"', 'a time out of range: 22008');
SELECT is(pg_temp.imp(pg_temp.one('{"end_time": "infinity"}')), '22008 row 2: times must be finite', 'an infinite time: 22008');
SELECT is(pg_temp.imp(pg_temp.one(jsonb_build_object('end_time', clock_timestamp() + interval '1 day')::text)),
		  '22008 row 2: a time is in the future', 'a time in the future: 22008');
SELECT is(pg_temp.imp(pg_temp.one('{"last_comm": "2026-01-10 09:00+00"}')), '22023 row 2: last_comm is before start_time',
		  'last_comm before start_time: 22023');
SELECT is(pg_temp.imp(pg_temp.one('{"last_comm": "2026-01-10 12:00+00"}')), '22023 row 2: last_comm is after end_time',
		  'last_comm after end_time: 22023');
SELECT is(pg_temp.imp(pg_temp.one('{"address": "10.0.0.300"}')),
		  '22P02 row 2: invalid input syntax for type inet: "10.0.0.300"', 'a bad address: 22P02');
SELECT is(pg_temp.imp(pg_temp.one('{"logins": [{"username": "a", "login_time": "2026-01-10 09:00+00"}]}')),
		  '22023 row 2: login 1 is before start_time', 'a login before the session: 22023');
SELECT is(pg_temp.imp(pg_temp.one('{"logins": [{"username": "a", "login_time": "2026-01-10 10:00+00", "logout_time": "2026-01-10 11:30+00"}]}')),
		  '22023 row 2: login 1 is after the end of the session', 'a logout after the session: 22023');
SELECT is(pg_temp.imp(pg_temp.one('{"logins": [{"username": "a", "login_time": "2026-01-10 10:30+00", "logout_time": "2026-01-10 10:20+00"}]}')),
		  '22023 row 2: login 1: logout_time is before login_time', 'a logout before its login: 22023');
SELECT is(pg_temp.imp(pg_temp.one('{"logins": [{"username": "a", "login_time": "2026-01-10 10:10+00"}, {"username": "b", "login_time": "2026-01-10 10:20+00"}]}')),
		  '22023 row 2: login 1 has no logout_time but is not the last', 'an open login before another: 22023');
SELECT is(pg_temp.imp(pg_temp.one('{"logins": [{"username": "a", "login_time": "2026-01-10 10:10+00", "logout_time": "2026-01-10 10:30+00"}, {"username": "b", "login_time": "2026-01-10 10:20+00"}]}')),
		  '22023 row 2: login 2 begins before the previous one ends', 'overlapping logins: 22023');
SELECT is(pg_temp.imp(pg_temp.one('{"logins": [{"username": "a", "login_time": "-infinity"}]}')),
		  '22008 row 2: login 1: times must be finite', 'an infinite login time: 22008');
SELECT is((SELECT count(*)::int FROM session.history WHERE project = 'imp_ok'), 2,
		  'of all these calls only the two that succeeded wrote anything');

-------------------------------------------------------------------------------
-- Login intervals through the application's calls
-------------------------------------------------------------------------------

SELECT session.open_session('lg_ann', 'lg') AS l1 \gset
SELECT session.open_session(NULL, 'lg') AS l2 \gset
SELECT session.set_session_user(:l1, 'lg_ann') AS ignored \gset
SELECT session.set_session_user(:l1, 'lg_bob') AS ignored \gset
SELECT session.set_session_user(:l2, 'lg_cat') AS ignored \gset
SELECT session.set_session_user(:l2, NULL) AS ignored \gset
SELECT session.set_session_user(:l2, NULL) AS ignored \gset

SELECT is((SELECT string_agg(username || ':' || (logout_time IS NULL), ',' ORDER BY login_time) FROM session.logins WHERE session_id = :l1),
		  'lg_ann:false,lg_bob:true', 'a login of another user ends the previous login; logging in the same user again adds nothing');
SELECT ok((SELECT bool_and(a.logout_time = b.login_time) FROM session.logins a JOIN session.logins b USING (session_id)
		   WHERE session_id = :l1 AND a.username = 'lg_ann' AND b.username = 'lg_bob'),
		  'the first login ends when the second begins');
SELECT is((SELECT string_agg(username || ':' || (logout_time IS NOT NULL), ',') FROM session.logins WHERE session_id = :l2),
		  'lg_cat:true', 'a logout ends the login; a second logout adds nothing');
-- entries stay in time order (get_session_info_at searches them): a change
-- made by a statement that started before the last entry (here an entry an
-- hour ahead, as a transaction that committed first would leave) goes after
-- it, not before
SELECT session.open_session('lg_eve', 'lg_order') AS l3 \gset
UPDATE session_storage.sessions SET login_times = login_times || (now() + interval '1 hour'),
	login_users = login_users || 'lg_fay'::text WHERE id = :l3;
SELECT session.set_session_user(:l3, 'lg_gus') AS ignored \gset
SELECT is((SELECT login_times[3] = login_times[2] FROM session_storage.sessions WHERE id = :l3), true,
		  'a login never goes before the last entry');
SELECT is((SELECT username FROM session.get_session_info_at(statement_timestamp()) WHERE id = :l3), 'lg_eve',
		  '... so an instant before both still finds the user logged in then');
SELECT session.close_session(:l2) AS ignored \gset
SELECT session.close_session(:l1) AS ignored \gset
SELECT is((SELECT username FROM session.history WHERE id = :l2), 'Unauthenticated',
		  'history''s username is the user at the end (nobody after a logout) ...');
SELECT is((SELECT string_agg(username, ',') FROM session.logins WHERE session_id = :l2 AND session_end_time IS NOT NULL), 'lg_cat',
		  '... and the login before the logout is kept with the ended session');
SELECT ok((SELECT logout_time = session_end_time FROM session.logins WHERE session_id = :l1 AND username = 'lg_bob'),
		  'a login still open at close ends with the session');
SELECT is(ARRAY(SELECT attname || ' ' || format_type(atttypid, atttypmod) FROM pg_attribute
				WHERE attrelid = 'session.logins'::regclass AND attnum > 0 ORDER BY attnum),
		  ARRAY['session_id bigint', 'username text', 'login_time timestamp with time zone',
				'logout_time timestamp with time zone', 'session_end_time timestamp with time zone'],
		  'session.logins has session_id, username, login_time, logout_time and session_end_time');
-- a row without login entries (inserted by hand): its user for the whole session
INSERT INTO session_storage.ended_sessions (id, uuid, username, authenticated, project, scope, start_time, last_comm, end_time, end_reason)
VALUES (9200000002, gen_random_uuid(), 'lg_dan', true, 'lg', 'browser', '2026-01-05 08:00+00', '2026-01-05 08:00+00', '2026-01-05 09:00+00', 'logout');
SELECT is((SELECT username || ' ' || login_time || ' ' || logout_time FROM session.logins WHERE session_id = 9200000002),
		  'lg_dan 2026-01-05 08:00:00+00 2026-01-05 09:00:00+00', 'a session without login entries counts its user for the whole session');

-------------------------------------------------------------------------------
-- concurrency(group_by): against a brute-force sweep
-------------------------------------------------------------------------------

SELECT is(pg_get_function_arguments('session.concurrency(timestamptz, timestamptz, interval, text, timestamptz, boolean, text)'::regprocedure),
		  'from_time timestamp with time zone, to_time timestamp with time zone, bucket interval DEFAULT ''01:00:00''::interval, project_regex text DEFAULT NULL::text, origin timestamp with time zone DEFAULT NULL::timestamp with time zone, include_empty boolean DEFAULT false, group_by text DEFAULT ''project''::text',
		  'concurrency takes group_by, defaulting to project');

DELETE FROM session_storage.sessions;
DELETE FROM session_storage.ended_sessions;
SELECT setseed(0.42);
-- 400 sessions over 2026-02-02, some short, some crossing hours, some sharing a start
SELECT is(session.import_sessions((
	SELECT jsonb_agg(jsonb_build_object(
		'project', 'cc_' || (i % 3), 'node', 'node-' || (i % 4), 'scope', (ARRAY['browser', 'designer', 'ios'])[1 + (i / 3) % 3],
		'username', 'u' || (i % 23),
		'start_time', st, 'end_time', st + make_interval(mins => (1 + floor(random() * 180))::int)))
	FROM (SELECT i, timestamptz '2026-02-02 00:00+00' + make_interval(mins => (floor(random() * 1300) / 5 * 5)::int) AS st
		  FROM generate_series(1, 400) i) g)), 400::bigint, 'the concurrency data set is imported');
-- and two open sessions that started during the day
SELECT is(session.import_sessions('[{"project": "cc_0", "node": "node-9", "scope": "android", "username": "u1", "start_time": "2026-02-02 05:00+00"},
									{"project": "cc_1", "node": "node-9", "scope": "android", "start_time": "2026-02-02 06:30+00"}]', true),
		  2::bigint, 'two open sessions too');

-- logins for the data set: each session's user from its start, half of them
-- logging out at the middle and a third of those logging in as someone else
UPDATE session_storage.ended_sessions SET
	last_comm = start_time + (end_time - start_time) / 3,
	login_times = CASE WHEN id % 2 = 0 THEN ARRAY[start_time]
					   WHEN id % 3 = 0 THEN ARRAY[start_time, start_time + (end_time - start_time) / 2, start_time + (end_time - start_time) * 3 / 4]
					   ELSE ARRAY[start_time, start_time + (end_time - start_time) / 2] END,
	login_users = CASE WHEN id % 2 = 0 THEN ARRAY[username::text]
					   WHEN id % 3 = 0 THEN ARRAY[username::text, NULL, 'x' || username]
					   ELSE ARRAY[username::text, NULL] END;

CREATE TEMP TABLE sw AS
	SELECT id, project, node, scope, start_time AS st, end_time AS et FROM session.history
	UNION ALL
	SELECT id, project, node, scope, start_time, statement_timestamp() FROM session.active_sessions;
-- every hour of the day; the instants at which the count can peak in a
-- bucket are its start and every start inside it; the users are those with
-- a login overlapping the bucket
CREATE FUNCTION pg_temp.sweep(g text) RETURNS TABLE (bucket_start timestamptz, grp text, peak bigint, users bigint) LANGUAGE sql AS $$
	WITH b AS (SELECT bs, bs + interval '1 hour' AS be
			   FROM generate_series(timestamptz '2026-02-02 00:00+00', '2026-02-02 23:00+00', '1 hour') bs),
	s AS (SELECT CASE g WHEN 'project' THEN project WHEN 'node' THEN node WHEN 'scope' THEN scope END AS grp, * FROM sw),
	inst AS (SELECT b.bs, b.bs AS t FROM b
			 UNION SELECT b.bs, s.st FROM b JOIN s ON s.st >= b.bs AND s.st < b.be),
	groups AS (SELECT DISTINCT b.bs, s.grp FROM b JOIN s ON s.st < b.be AND s.et > b.bs)
	SELECT g2.bs, g2.grp,
		   (SELECT max((SELECT count(*) FROM s WHERE s.grp IS NOT DISTINCT FROM g2.grp AND s.st <= i.t AND s.et > i.t))
			FROM inst i WHERE i.bs = g2.bs),
		   (SELECT count(DISTINCT l.username) FROM s JOIN session.logins l ON l.session_id = s.id
			WHERE s.grp IS NOT DISTINCT FROM g2.grp AND s.st < g2.bs + interval '1 hour' AND s.et > g2.bs
			  AND l.login_time < g2.bs + interval '1 hour' AND coalesce(l.logout_time, s.et) > g2.bs)
	FROM groups g2
$$;

SELECT set_eq($$SELECT bucket_start, project, peak_sessions::bigint, distinct_users::bigint
				FROM session.concurrency('2026-02-02 00:00+00', '2026-02-03 00:00+00', group_by => 'project')$$,
			  $$SELECT * FROM pg_temp.sweep('project')$$, 'group_by project: the peaks and users of a brute-force sweep');
SELECT set_eq($$SELECT bucket_start, node, peak_sessions::bigint, distinct_users::bigint
				FROM session.concurrency('2026-02-02 00:00+00', '2026-02-03 00:00+00', group_by => 'node')$$,
			  $$SELECT * FROM pg_temp.sweep('node')$$, 'group_by node: the peaks and users of a brute-force sweep');
SELECT set_eq($$SELECT bucket_start, scope, peak_sessions::bigint, distinct_users::bigint
				FROM session.concurrency('2026-02-02 00:00+00', '2026-02-03 00:00+00', group_by => 'scope')$$,
			  $$SELECT * FROM pg_temp.sweep('scope')$$, 'group_by scope: the peaks and users of a brute-force sweep');
SELECT set_eq($$SELECT bucket_start, project, peak_sessions::bigint, distinct_users::bigint
				FROM session.concurrency('2026-02-02 00:00+00', '2026-02-03 00:00+00', group_by => 'none')$$,
			  $$SELECT * FROM pg_temp.sweep('none')$$, 'group_by none: the true overall peak of a brute-force sweep');
SELECT ok((SELECT count(*) FILTER (WHERE project IS NOT NULL OR node IS NOT NULL OR scope IS NOT NULL) = 0 AND count(*) = 24
		   FROM session.concurrency('2026-02-02 00:00+00', '2026-02-03 00:00+00', group_by => 'none')),
		  'group_by none: one row per bucket, project, node and scope NULL');
SELECT ok((SELECT bool_or(n.peak_sessions < p.s) FROM session.concurrency('2026-02-02 00:00+00', '2026-02-03 00:00+00', group_by => 'none') n
		   JOIN (SELECT bucket_start, sum(peak_sessions) AS s FROM session.concurrency('2026-02-02 00:00+00', '2026-02-03 00:00+00')
				 GROUP BY 1) p USING (bucket_start)),
		  'the data set has buckets where adding per-project peaks overstates the overall peak');
SELECT ok((SELECT count(*) FILTER (WHERE project IS NOT NULL OR scope IS NOT NULL) = 0 AND count(*) FILTER (WHERE node IS NULL) = 0
		   FROM session.concurrency('2026-02-02 00:00+00', '2026-02-03 00:00+00', group_by => 'node')),
		  'group_by node fills node only');
SELECT results_eq($$SELECT * FROM session.concurrency('2026-02-02 00:00+00', '2026-02-03 00:00+00')$$,
				  $$SELECT * FROM session.concurrency('2026-02-02 00:00+00', '2026-02-03 00:00+00', group_by => 'project')$$,
				  'group_by defaults to project');
SELECT results_eq($$SELECT * FROM session.concurrency('2026-02-02 00:00+00', '2026-02-03 00:00+00', '1 hour', 'cc_[01]', NULL, true)$$,
				  $$SELECT * FROM session.concurrency('2026-02-02 00:00+00', '2026-02-03 00:00+00', bucket => '1 hour', project_regex => 'cc_[01]',
													   include_empty => true, group_by => 'project')$$,
				  'the six positional arguments of before mean what they meant');
SELECT is((SELECT count(*)::int FROM session.concurrency('2026-02-02 00:00+00', '2026-02-02 03:00+00', include_empty => true, group_by => 'scope')),
		  3 * 3, 'include_empty gives every bucket a row for every group found (scopes)');
SELECT throws_ok($$SELECT * FROM session.concurrency('2026-02-02 00:00+00', '2026-02-03 00:00+00', group_by => 'user')$$,
				 '22023', 'unknown group_by "user": group_by is one of project, node, scope or none', 'an unknown group_by: 22023');
SELECT throws_ok($$SELECT * FROM session.concurrency('2026-02-02 00:00+00', '2026-02-03 00:00+00', group_by => NULL)$$,
				 '22004', 'group_by must not be null', 'a NULL group_by: 22004');

-------------------------------------------------------------------------------
-- get_session_info_at: against a scan of the logins
-------------------------------------------------------------------------------

SELECT is(pg_get_function_arguments('session.get_session_info_at(timestamptz, text, text)'::regprocedure),
		  'at timestamp with time zone, username_regex text DEFAULT NULL::text, project_regex text DEFAULT NULL::text',
		  'get_session_info_at takes at and the two patterns');
SELECT is(pg_get_function_result('session.get_session_info_at(timestamptz, text, text)'::regprocedure),
		  'SETOF session.session_info', 'get_session_info_at returns session_info rows');

CREATE TEMP TABLE instants AS
	SELECT timestamptz '2026-02-02 00:00+00' + random() * interval '26 hours' AS t FROM generate_series(1, 60)
	UNION ALL SELECT '2026-02-02 05:00+00' UNION ALL SELECT '2026-02-02 12:00+00';
-- the scan: every session open at t, with the login that holds t
CREATE FUNCTION pg_temp.scan_at(t timestamptz) RETURNS TABLE (id bigint, username text, authenticated boolean) LANGUAGE sql AS $$
	SELECT s.id, coalesce(l.username, 'Unauthenticated'), l.username IS NOT NULL
	FROM (SELECT id, start_time, end_time FROM session.history UNION ALL SELECT id, start_time, NULL FROM session.active_sessions) s
	LEFT JOIN LATERAL (SELECT l.username FROM session.logins l WHERE l.session_id = s.id
					   AND l.login_time <= t AND (l.logout_time IS NULL OR l.logout_time > t)) l ON true
	WHERE s.start_time <= t AND (s.end_time IS NULL OR s.end_time > t)
$$;
SELECT ok((SELECT count(*) FROM instants i, pg_temp.scan_at(i.t)) > 200, 'the instants see many sessions');
SELECT is_empty($$SELECT i.t, a.id, a.username, a.authenticated FROM instants i, session.get_session_info_at(i.t) a
				  EXCEPT ALL SELECT i.t, s.* FROM instants i, pg_temp.scan_at(i.t) s$$,
				'get_session_info_at returns nothing the scan does not ...');
SELECT is_empty($$SELECT i.t, s.* FROM instants i, pg_temp.scan_at(i.t) s
				  EXCEPT ALL SELECT i.t, a.id, a.username, a.authenticated FROM instants i, session.get_session_info_at(i.t) a$$,
				'... and everything it does, with the user logged in at that instant (authenticated: someone was)');
SELECT is_empty($$SELECT i.t, a.id FROM instants i, session.get_session_info_at(i.t, 'u1.*', 'cc_[02]') a
				  EXCEPT ALL SELECT i.t, s.id FROM instants i, pg_temp.scan_at(i.t) s
				  JOIN (SELECT id, project FROM session.history UNION ALL SELECT id, project FROM session.active_sessions) h USING (id)
				  WHERE s.username ~ '^(?:u1.*)$' AND h.project ~ '^(?:cc_[02])$'$$,
				'the username pattern sees the user at the instant, the project pattern the project ...');
SELECT is_empty($$SELECT i.t, s.id FROM instants i, pg_temp.scan_at(i.t) s JOIN (SELECT id, project FROM session.history UNION ALL SELECT id, project FROM session.active_sessions) h USING (id)
				  WHERE s.username ~ '^(?:u1.*)$' AND h.project ~ '^(?:cc_[02])$'
				  EXCEPT ALL SELECT i.t, a.id FROM instants i, session.get_session_info_at(i.t, 'u1.*', 'cc_[02]') a$$,
				'... and both must match the whole value');
SELECT ok((SELECT count(*) FROM session.get_session_info_at('2026-02-02 12:00+00', 'Unauthenticated')) > 0
		  AND (SELECT bool_and(NOT authenticated) FROM session.get_session_info_at('2026-02-02 12:00+00', 'Unauthenticated')),
		  'Unauthenticated finds the sessions nobody was logged in to at the instant');
SELECT results_eq($$SELECT id FROM session.get_session_info_at('2026-02-02 12:00+00')$$,
				  $$SELECT id FROM session.get_session_info_at('2026-02-02 12:00+00') ORDER BY start_time, id$$,
				  'rows come in start_time, id order');
SELECT ok((SELECT bool_and(uptime_ms = extract(epoch FROM timestamptz '2026-02-02 12:00+00' - start_time) * 1000)
		   FROM session.get_session_info_at('2026-02-02 12:00+00')),
		  'uptime_ms is the time from start to the instant');
SELECT ok((SELECT count(*) FROM session.get_session_info_at('2026-02-02 12:00+00') WHERE end_time IS NOT NULL AND last_comm_ms > 0) > 0
		  AND NOT EXISTS (SELECT id, last_comm_ms FROM session.get_session_info_at('2026-02-02 12:00+00') WHERE end_time IS NOT NULL
						  EXCEPT SELECT id, last_comm_ms FROM session.history),
		  'last_comm_ms of an ended session is that of session.history (up to its end_time)');
SELECT is((SELECT string_agg(coalesce(end_time::text, 'open'), ',') FROM session.get_session_info_at('2026-02-02 05:00+00') WHERE node = 'node-9'),
		  'open', 'an open session is returned from its start (end_time NULL) ...');
SELECT ok(NOT EXISTS (SELECT FROM session.get_session_info_at('2026-02-02 04:59:59+00') WHERE node = 'node-9'), '... and not before');
-- rows larger than work_mem: kept in memory, the same rows in the same order
SELECT is(session.import_sessions((SELECT jsonb_agg(jsonb_build_object('project', 'wm', 'username', 'wm' || i,
				'user_agent', repeat('w', 200), 'start_time', timestamptz '2026-01-20 10:00+00' + i * interval '1 second',
				'end_time', timestamptz '2026-01-20 14:00+00' - i * interval '1 second')) FROM generate_series(1, 500) i)), 500::bigint,
		  '500 sessions open at 2026-01-20 12:00');
CREATE TEMP TABLE at_wm AS SELECT * FROM session.get_session_info_at('2026-01-20 12:00+00');
SET LOCAL work_mem = 64;
SELECT ok((SELECT sum(pg_column_size(a.*)) FROM at_wm a) > 64 * 1024, 'their rows exceed a work_mem of 64kB');
SELECT results_eq($$SELECT a::text FROM session.get_session_info_at('2026-01-20 12:00+00') a$$,
				  $$SELECT a::text FROM at_wm a ORDER BY start_time, id$$,
				  '... and come back the same with it, in start_time, id order');
RESET work_mem;
-- the backend keeps the memory of its listings (8 MB) for the next ones, and
-- what a query that failed while reading them left there is freed by the next
CREATE FUNCTION pg_temp.fail_reading(n integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	failed integer := 0;
BEGIN
	FOR i IN 1 .. n LOOP
		BEGIN
			PERFORM 1 / (a.id - a.id) FROM session.get_session_info_at('2026-01-20 12:00+00') a;
		EXCEPTION WHEN division_by_zero THEN
			failed := failed + 1;
		END;
	END LOOP;
	RETURN failed;
END
$$;
SELECT is(pg_temp.fail_reading(100), 100, '100 queries fail while reading a listing of 500 rows ...');
SELECT cmp_ok((SELECT total_bytes FROM pg_backend_memory_contexts WHERE name = 'session ordered results'), '<',
			  9 * 1024 * 1024::bigint, '... and the memory the backend keeps for listings stays at 8 MB');
-- the settings its statements run with are the caller's again afterwards
SET LOCAL enable_seqscan = on;
SET LOCAL plan_cache_mode = auto;
SELECT is((SELECT count(*) FROM session.get_session_info_at('2026-01-20 12:00+00'))::text
		  || current_setting('enable_seqscan') || current_setting('plan_cache_mode'),
		  (SELECT count(*) FROM at_wm)::text || 'onauto', 'the caller''s enable_seqscan and plan_cache_mode are left as they were');
SELECT throws_ok($$SELECT * FROM session.get_session_info_at(NULL)$$, '22004', 'at must not be null', 'a NULL instant: 22004');
SELECT throws_ok($$SELECT * FROM session.get_session_info_at('infinity')$$, '22008', 'at must be a finite time', 'an infinite instant: 22008');
SELECT throws_ok($$SELECT * FROM session.get_session_info_at(clock_timestamp() + interval '1 hour')$$, '22008', 'at must not be in the future',
				 'an instant in the future: 22008');
SELECT throws_ok($$SELECT * FROM session.get_session_info_at(now(), '(')$$, '2201B', NULL, 'an invalid username_regex: 2201B');
SELECT throws_like($$SELECT * FROM session.get_session_info_at(now(), NULL, '(')$$, '%project_regex%', 'the message names project_regex');

SELECT * FROM finish();
ROLLBACK;
