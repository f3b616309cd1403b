-- Regressions: each assertion pins a bug found and fixed during 0.1.0.
-- (B1-B5 refer to the bug reports in the 0.1.0 changelog.)
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
BEGIN;
SELECT plan(8);
DELETE FROM session_storage.sessions;
SELECT session.open_session('billy', 'MyProject') \g /dev/null
SELECT session.open_session('bob', 'MyProject') \g /dev/null
-- B1: an unbalanced pattern is an invalid regex (Java's String.matches throws);
--     it used to be pasted into ^(?:p)$ and become a valid, partial-matching regex
SELECT throws_ok($$SELECT * FROM session.get_session_info('bil)|(x')$$, '2201B', NULL, 'B1 unbalanced ) in username_regex is invalid');
SELECT throws_ok($$SELECT * FROM session.get_session_info(NULL, 'My)|(x')$$, '2201B', NULL, 'B1 unbalanced ) in project_regex is invalid');
SELECT throws_ok($$SELECT * FROM session.get_session_info('bil)|(zzz')$$, '2201B', NULL, 'B1 no partial match through an unbalanced pattern');
-- B2: uptime_ms / last_comm_ms were negative for a session opened later in the same transaction
SELECT pg_sleep(0.05) \g /dev/null
SELECT session.open_session('zed', 'P') AS z \gset
SELECT ok(uptime_ms >= 0, 'B2 uptime_ms is never negative') FROM session.get_session_info(:z::bigint);
SELECT ok(last_comm_ms >= 0, 'B2 last_comm_ms is never negative') FROM session.get_session_info(:z::bigint);
-- B3: the session. prefix is reserved, so a typo is refused
SELECT throws_ok('SET session.idle_timout = 5', '42602', NULL, 'B3 a misspelt session.* setting is refused');
-- B4: active_sessions.username and session_info.username share a collation
SELECT lives_ok($x$DO $d$ DECLARE a record; b record; BEGIN
	SELECT * INTO a FROM session.active_sessions LIMIT 1;
	SELECT * INTO b FROM session.get_session_info() LIMIT 1;
	PERFORM a IS DISTINCT FROM b; END $d$$x$, 'B4 view rows compare with function rows');
-- B5: (?b) and (?e) switch to BRE/ERE syntax, which cannot be anchored safely: refused
SELECT throws_ok($$SELECT * FROM session.get_session_info('(?e)billy')$$, '2201B', NULL, 'B5 (?e) is refused with 2201B');
SELECT * FROM finish();
ROLLBACK;
