-- Listing open sessions: get_session_info(username_regex, project_regex).
-- Patterns are PostgreSQL regular expressions that must match the whole
-- value (Java's String.matches); NULL means no filter; rows come in
-- start_time, id order; only open sessions are listed.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
BEGIN;
SELECT plan(60);

-- start from an empty registry (rolled back at the end)
DELETE FROM session_storage.sessions;
DELETE FROM session_storage.ended_sessions;

-- the seed: one statement per session, so start_time increases with id
SELECT session.open_session('billy', 'MyProject') \g /dev/null
SELECT session.open_session('billy', 'MyProject2') \g /dev/null
SELECT session.open_session('bill.smith', 'MyProject') \g /dev/null
SELECT session.open_session('billxsmith', 'MyProject') \g /dev/null
SELECT session.open_session('bobby', 'MyProject') \g /dev/null
SELECT session.open_session('ann', 'MyProject2') \g /dev/null
SELECT session.open_session('bob', 'MyProject') \g /dev/null
SELECT session.open_session('joanne', 'MyProject') \g /dev/null
SELECT session.open_session(NULL, 'MyProject') \g /dev/null
SELECT session.open_session(NULL, 'MyProject2') \g /dev/null
SELECT session.open_session('billy', 'MyProject', scope => 'designer') \g /dev/null
SELECT session.open_session('bily', 'MyProject') \g /dev/null
SELECT session.open_session('billy2', 'MyProject') \g /dev/null
SELECT session.open_session('xbilly', 'MyProject') \g /dev/null
SELECT session.open_session('Billy', 'MyProject') \g /dev/null
SELECT session.open_clientless_session('svc') \g /dev/null
-- an ended session of billy, never listed
SELECT session.open_session('billy', 'MyProject') AS ended \gset
SELECT session.close_session(:ended) \g /dev/null

-- users of a filter, sorted and distinct
CREATE FUNCTION pg_temp.users(u text, p text DEFAULT NULL) RETURNS text[]
	LANGUAGE sql AS $$ SELECT array_agg(DISTINCT username COLLATE "C" ORDER BY username COLLATE "C") FROM session.get_session_info(u, p) $$;
CREATE FUNCTION pg_temp.n(u text, p text DEFAULT NULL) RETURNS bigint
	LANGUAGE sql AS $$ SELECT count(*) FROM session.get_session_info(u, p) $$;

-------------------------------------------------------------------------------
-- No filter
-------------------------------------------------------------------------------

SELECT is(pg_temp.n(NULL), 16::bigint, 'NULL filters list every open session');
SELECT is((SELECT count(*) FROM session.get_session_info()), 16::bigint, 'the defaults list every open session');
SELECT is(pg_temp.n(NULL, NULL), (SELECT count(*) FROM session_storage.sessions), 'the list is the open sessions table');
SELECT ok(NOT EXISTS (SELECT FROM session.get_session_info() WHERE id = :ended), 'an ended session is not listed');
SELECT ok(NOT EXISTS (SELECT FROM session.get_session_info('billy') WHERE id = :ended), 'an ended session is not listed under its user');
SELECT ok(NOT EXISTS (SELECT FROM session.get_session_info() WHERE end_time IS NOT NULL OR end_reason IS NOT NULL),
		  'listed sessions have no end_time or end_reason');

-------------------------------------------------------------------------------
-- Username patterns (the spec's examples)
-------------------------------------------------------------------------------

SELECT is(pg_temp.n('billy'), 3::bigint, '''billy'' counts billy''s open sessions');
SELECT is(pg_temp.users('billy'), ARRAY['billy'], '''billy'' matches only billy (not billy2, xbilly, Billy)');
SELECT is(pg_temp.n('billy'), (SELECT count(*) FROM session_storage.sessions WHERE username = 'billy'),
		  '''billy'' agrees with the table');
SELECT is(pg_temp.users('bi.*'), ARRAY['bill.smith', 'billxsmith', 'billy', 'billy2', 'bily'],
		  '''bi.*'' matches every name starting with bi');
SELECT is(pg_temp.n('bi.*'), 7::bigint, '''bi.*'' counts their sessions');
SELECT is(pg_temp.users('bi.ly'), ARRAY['billy'], '''bi.ly'' is one wildcard character');
SELECT is(pg_temp.users('bill\.smith'), ARRAY['bill.smith'], '''bill\.smith'' matches only bill.smith');
SELECT is(pg_temp.users('bill.smith'), ARRAY['bill.smith', 'billxsmith'], '''bill.smith'' also matches billxsmith');
SELECT is(pg_temp.users('Billy'), ARRAY['Billy'], 'matching is case-sensitive');
SELECT is(pg_temp.n('BILLY'), 0::bigint, 'an upper-case pattern does not match lower-case names');
SELECT is(pg_temp.users('(?i)BILLY'), ARRAY['Billy', 'billy'], '(?i) makes the match case-insensitive');
SELECT is(pg_temp.n('(?i)BILLY'), 4::bigint, '(?i)BILLY counts the sessions of billy and Billy');
SELECT is(pg_temp.users('***:(?i)bi.LY'), ARRAY['Billy', 'billy'], 'a ***: director with (?i) works');

-- whole-value match
SELECT is(pg_temp.n('bil'), 0::bigint, 'a partial pattern matches nothing (no partial match)');
SELECT is(pg_temp.n('illy'), 0::bigint, 'a suffix matches nothing');
SELECT is(pg_temp.users('^billy$'), ARRAY['billy'], 'anchors inside the pattern still work');
SELECT is(pg_temp.users('^bi.*'), ARRAY['bill.smith', 'billxsmith', 'billy', 'billy2', 'bily'], 'a leading anchor still works');
SELECT is(pg_temp.users('billy.*'), ARRAY['billy', 'billy2'], 'a literal prefix plus .*');
SELECT is(pg_temp.users('.*billy'), ARRAY['billy', 'xbilly'], 'a leading .*');
SELECT is(pg_temp.users('ann|bob'), ARRAY['ann', 'bob'], 'alternation matches whole names only (not bobby, joanne)');
SELECT is(pg_temp.users('bob|bobby'), ARRAY['bob', 'bobby'], 'alternation of a name and its extension');
SELECT is(pg_temp.users('b(ob|illy)'), ARRAY['billy', 'bob'], 'a group inside the pattern');
SELECT is(pg_temp.users('.*'), (SELECT array_agg(DISTINCT username COLLATE "C" ORDER BY username COLLATE "C") FROM session_storage.sessions),
		  '''.*'' matches every name');
SELECT is(pg_temp.n(''), 0::bigint, 'an empty pattern matches no name');

-- literal patterns
SELECT is(pg_temp.n('***=bi.ly'), 0::bigint, '***= makes the pattern literal');
SELECT is(pg_temp.users('***=bill.smith'), ARRAY['bill.smith'], '***= matches the literal name only');
SELECT is(pg_temp.users('(?q)bill.smith'), ARRAY['bill.smith'], '(?q) matches the literal name only');

-- Unauthenticated
SELECT is(pg_temp.n('Unauthenticated'), 2::bigint, '''Unauthenticated'' finds the unauthenticated sessions');
SELECT ok((SELECT bool_and(NOT authenticated) FROM session.get_session_info('Unauthenticated')),
		  'and they are not authenticated');
SELECT is(pg_temp.n('Unauth.*'), 2::bigint, 'a pattern can match Unauthenticated');

-------------------------------------------------------------------------------
-- Project patterns
-------------------------------------------------------------------------------

SELECT is(pg_temp.n(NULL, 'MyProject'), 12::bigint, 'project_regex ''MyProject'' (not MyProject2)');
SELECT ok((SELECT bool_and(project = 'MyProject') FROM session.get_session_info(NULL, 'MyProject')),
		  'project_regex ''MyProject'' lists only MyProject');
SELECT is(pg_temp.n(NULL, 'MyProject2'), 3::bigint, 'project_regex ''MyProject2''');
SELECT is(pg_temp.n(NULL, 'MyProject.*'), 15::bigint, 'project_regex ''MyProject.*''');
SELECT is(pg_temp.n(NULL, 'My'), 0::bigint, 'a partial project pattern matches nothing');
SELECT is(pg_temp.n(NULL, '(?i)myproject'), 12::bigint, '(?i) works in project_regex');
SELECT is(pg_temp.n(NULL, '.*'), 15::bigint, 'a project filter skips sessions without a project');
SELECT is(pg_temp.n('billy', 'MyProject'), 2::bigint, 'both filters together');
SELECT is(pg_temp.n('bi.*', 'MyProject2'), 1::bigint, 'a prefix pattern with a project filter');
SELECT is(pg_temp.n('.*y', 'MyProject'), 6::bigint, 'a scanned pattern with a project filter');
SELECT is(pg_temp.n('Unauthenticated', 'MyProject2'), 1::bigint, 'Unauthenticated with a project filter');

-------------------------------------------------------------------------------
-- Order: start_time, id
-------------------------------------------------------------------------------

SELECT is((SELECT array_agg(id) FROM session.get_session_info()),
		  (SELECT array_agg(id ORDER BY start_time, id) FROM session_storage.sessions),
		  'rows come in start_time, id order');

-- make start_time order differ from id order, with a tie
UPDATE session_storage.sessions SET start_time = start_time - interval '1 hour'
	WHERE id = (SELECT max(id) FROM session_storage.sessions);
UPDATE session_storage.sessions SET start_time = (SELECT start_time FROM session_storage.sessions WHERE username = 'bobby')
	WHERE username IN ('ann', 'joanne');
SELECT is((SELECT array_agg(id) FROM session.get_session_info()),
		  (SELECT array_agg(id ORDER BY start_time, id) FROM session_storage.sessions),
		  'rows follow start_time, not id, and ties follow id');
SELECT is((SELECT id FROM session.get_session_info() LIMIT 1), (SELECT max(id) FROM session_storage.sessions),
		  'the earliest start comes first');
SELECT is((SELECT array_agg(id) FROM session.get_session_info('bi.*')),
		  (SELECT array_agg(id ORDER BY start_time, id) FROM session_storage.sessions WHERE username LIKE 'bi%'),
		  'a prefix pattern keeps the order');
SELECT is((SELECT array_agg(id) FROM session.get_session_info('billy')),
		  (SELECT array_agg(id ORDER BY start_time, id) FROM session_storage.sessions WHERE username = 'billy'),
		  'an exact pattern keeps the order');
SELECT is((SELECT array_agg(id) FROM session.get_session_info('.*o.*', 'MyProject.*')),
		  (SELECT array_agg(id ORDER BY start_time, id) FROM session_storage.sessions
		   WHERE username ~ 'o' AND project LIKE 'MyProject%'),
		  'a scanned pattern keeps the order');

-------------------------------------------------------------------------------
-- The view
-------------------------------------------------------------------------------

-- rows compared as text: the view's username has the table's "C" collation
SELECT results_eq('SELECT a::text FROM session.active_sessions a ORDER BY start_time, id',
				  'SELECT g::text FROM session.get_session_info() g',
				  'session.active_sessions equals get_session_info()');
SELECT is((SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute
		   WHERE attrelid = 'session.active_sessions'::regclass AND attnum > 0),
		  (SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute
		   WHERE attrelid = 'session.session_info'::regclass AND attnum > 0),
		  'session.active_sessions has the session_info columns');
SELECT results_eq('SELECT g::text FROM session.get_session_info(''billy'') g',
				  'SELECT a::text FROM session.active_sessions a WHERE username = ''billy''',
				  'a filtered list equals the filtered view');

-- The views read the live heartbeat values through VOLATILE functions; a
-- filter on username or id still reaches the indexes.  The statements are
-- those of the listing (src/queries.c), planned generic as a kept plan is
-- after its first executions, over enough sessions to make a scan costly.
INSERT INTO session_storage.sessions (uuid, username, authenticated, project, scope, start_time, last_comm)
SELECT gen_random_uuid(), 'plan_user_' || i, true, 'PlanProject', 'browser', now(), now()
FROM generate_series(1, 5000) i;
ANALYZE session_storage.sessions;
CREATE FUNCTION pg_temp.generic_plan(types text, stmt text, args text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	line text;
	plan text := '';
BEGIN
	SET LOCAL plan_cache_mode = force_generic_plan;
	EXECUTE format('PREPARE plan_probe(%s) AS %s', types, stmt);
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) EXECUTE plan_probe(' || args || ')' LOOP
		plan := plan || line || E'\n';
	END LOOP;
	DEALLOCATE plan_probe;
	RESET plan_cache_mode;
	RETURN plan;
END
$$;
SELECT pg_temp.generic_plan('text, text, text, text',
	$$SELECT * FROM session.active_sessions WHERE (username COLLATE "C") = $1 AND
	  ($2::text IS NULL OR (project COLLATE "C") LIKE $2) AND ($3::text IS NULL OR (project COLLATE "C") ~ $3) AND
	  ($4::text IS NULL OR project ~ $4) ORDER BY start_time, id$$,
	$$'plan_user_42', NULL, NULL, NULL$$) AS exact_plan \gset
SELECT ok(:'exact_plan' ~ 'sessions_username_idx' AND :'exact_plan' !~ 'Seq Scan',
		  'an exact username is listed through the username index');
SELECT pg_temp.generic_plan('text, text, text, text, text, text, text, text',
	$$SELECT * FROM session.active_sessions
	  WHERE (username COLLATE "C") >= $1 AND (username COLLATE "C") < $2 AND
	  ($3::text IS NULL OR (username COLLATE "C") LIKE $3) AND ($4::text IS NULL OR (username COLLATE "C") ~ $4) AND
	  ($5::text IS NULL OR username ~ $5) AND
	  ($6::text IS NULL OR (project COLLATE "C") LIKE $6) AND ($7::text IS NULL OR (project COLLATE "C") ~ $7) AND
	  ($8::text IS NULL OR project ~ $8) ORDER BY start_time, id$$,
	$$'plan_user_42', 'plan_user_43', NULL, NULL, NULL, NULL, NULL, NULL$$) AS prefix_plan \gset
SELECT ok(:'prefix_plan' ~ 'sessions_username_idx' AND :'prefix_plan' !~ 'Seq Scan',
		  'a literal prefix is listed through the username index');
SELECT pg_temp.generic_plan('bigint', $$SELECT * FROM session.active_sessions WHERE id = $1$$, '42') AS id_plan \gset
SELECT ok(:'id_plan' ~ 'sessions_pkey' AND :'id_plan' !~ 'Seq Scan', 'one session by id through the primary key');
SELECT is((SELECT provolatile::text FROM pg_proc WHERE oid = 'session.live_last_comm(bigint, timestamptz)'::regprocedure),
		  'v', 'the live values are VOLATILE');

SELECT * FROM finish();
ROLLBACK;
