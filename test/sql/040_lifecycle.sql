-- The session lifecycle: timeouts applied by expire_sessions(), the per-user
-- limit (reject and evict_oldest), history retention (purge_history) and the
-- settings' validation.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
BEGIN;
SELECT plan(127);

-- start from an empty registry (rolled back at the end)
DELETE FROM session_storage.sessions;
DELETE FROM session_storage.ended_sessions;

SET session.idle_timeout = '1h';
SET session.max_lifetime = 0;
SET session.clientless_idle_timeout = 0;
SET session.max_sessions_per_user = 0;

-- set a session's clock back (superuser only: the tables are not granted)
CREATE FUNCTION pg_temp.backdate(sid bigint, started interval, last interval) RETURNS void
LANGUAGE sql AS $$
	UPDATE session_storage.sessions SET start_time = statement_timestamp() - started,
								last_comm = statement_timestamp() - last
	WHERE id = sid
$$;
CREATE FUNCTION pg_temp.is_open(sid bigint) RETURNS boolean
LANGUAGE sql AS $$ SELECT EXISTS (SELECT FROM session_storage.sessions WHERE id = sid) $$;
CREATE FUNCTION pg_temp.reason(sid bigint) RETURNS text
LANGUAGE sql AS $$ SELECT end_reason FROM session_storage.ended_sessions WHERE id = sid $$;
CREATE FUNCTION pg_temp.open_count(u text) RETURNS bigint
LANGUAGE sql AS $$ SELECT count(*) FROM session_storage.sessions WHERE username = u AND authenticated AND scope <> 'clientless' $$;
\i test/sql/include/err.sql

-------------------------------------------------------------------------------
-- Daily partitions of the history: created by expire_sessions(), and rows
-- that went to the default partition move into their day
-------------------------------------------------------------------------------

SELECT session.open_session('early', 'MyProject') AS early \gset
SELECT session.close_session(:early) \g /dev/null
SELECT ok(session.expire_sessions() IS NOT NULL, 'expire_sessions runs');
SELECT ok(to_regclass('session_storage.ended_sessions_' || to_char(d, 'YYYYMMDD')) IS NOT NULL,
		  'expire_sessions creates the partition of ' || CASE i WHEN 0 THEN 'today' ELSE 'today + ' || i END)
	FROM generate_series(0, 2) i,
		 LATERAL (SELECT ((now() AT TIME ZONE 'UTC')::date + i)) AS x(d)
	ORDER BY i;
SELECT is((SELECT tableoid::regclass::text FROM session_storage.ended_sessions WHERE id = :early),
		  'session_storage.ended_sessions_' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD'),
		  'a session ended today is in today''s partition');
SELECT is(end_reason, 'logout', 'and still readable by id') FROM session.get_session_info(:early::bigint);

-------------------------------------------------------------------------------
-- idle_timeout and max_lifetime
-------------------------------------------------------------------------------

SELECT session.open_session('idle', 'MyProject') AS idle \gset
SELECT session.open_session('fresh', 'MyProject') AS fresh \gset
SELECT session.open_session('old', 'MyProject') AS old \gset
SELECT session.open_session('both', 'MyProject') AS both \gset
SELECT session.open_session('revived', 'MyProject') AS revived \gset
SELECT session.open_clientless_session('svc', 'MyProject') AS svc \gset
SELECT session.open_clientless_session('svc-fresh', 'MyProject') AS svcfresh \gset
SELECT pg_temp.backdate(:idle, '3 hours', '2 hours') \g /dev/null
SELECT pg_temp.backdate(:old, '10 days', '1 minute') \g /dev/null
SELECT pg_temp.backdate(:both, '10 days', '2 hours') \g /dev/null
SELECT pg_temp.backdate(:revived, '3 hours', '2 hours') \g /dev/null
SELECT pg_temp.backdate(:svc, '10 days', '5 days') \g /dev/null
SELECT ok(session.heartbeat(:revived), 'a heartbeat on an idle session');

SELECT is(session.expire_sessions(), 2::bigint, 'idle_timeout: expire_sessions returns how many sessions it ended');
SELECT is(pg_temp.reason(:idle), 'timeout', 'an idle session ends with reason timeout');
SELECT is(pg_temp.reason(:both), 'timeout', 'without max_lifetime an idle old session times out');
SELECT ok(pg_temp.is_open(:fresh), 'a fresh session stays open');
SELECT ok(pg_temp.is_open(:old), 'an old but active session stays open while max_lifetime is 0');
SELECT ok(pg_temp.is_open(:revived), 'a fresh heartbeat keeps a session alive');
SELECT ok(pg_temp.is_open(:svc), 'idle_timeout does not apply to clientless sessions');
SELECT ok(end_time IS NOT NULL AND end_time >= last_comm, 'an expired session has an end_time') FROM session.get_session_info(:idle::bigint);
SELECT is(session.expire_sessions(), 0::bigint, 'a second pass finds nothing more');

SET session.max_lifetime = '1d';
SELECT session.open_session('both2', 'MyProject') AS both2 \gset
SELECT pg_temp.backdate(:both2, '10 days', '2 hours') \g /dev/null
SELECT is(session.expire_sessions(), 2::bigint, 'max_lifetime: expire_sessions returns the count');
SELECT is(pg_temp.reason(:old), 'max_lifetime', 'a session older than max_lifetime ends with reason max_lifetime');
SELECT is(pg_temp.reason(:both2), 'max_lifetime', 'max_lifetime wins when both timeouts apply');
SELECT ok(pg_temp.is_open(:svc), 'max_lifetime does not apply to clientless sessions');
SELECT ok(pg_temp.is_open(:fresh) AND pg_temp.is_open(:revived), 'younger sessions stay open');

-- idle_timeout = 0 disables the idle timeout
SET session.idle_timeout = 0;
SELECT session.open_session('sleepy', 'MyProject') AS sleepy \gset
SELECT pg_temp.backdate(:sleepy, '3 hours', '3 hours') \g /dev/null
SELECT is(session.expire_sessions(), 0::bigint, 'idle_timeout = 0: an idle session is not expired');
SELECT ok(pg_temp.is_open(:sleepy), 'the idle session stays open');
SET session.max_lifetime = 0;
SELECT pg_temp.backdate(:sleepy, '300 days', '300 days') \g /dev/null
SELECT is(session.expire_sessions(), 0::bigint, 'every timeout 0: nothing expires');
SELECT ok(pg_temp.is_open(:sleepy), 'even a very old session');

-- clientless_idle_timeout
SET session.clientless_idle_timeout = '1h';
SELECT is(session.expire_sessions(), 1::bigint, 'clientless_idle_timeout expires an idle clientless session');
SELECT is(pg_temp.reason(:svc), 'timeout', 'with reason timeout');
SELECT ok(pg_temp.is_open(:svcfresh), 'a fresh clientless session stays open');
SELECT ok(pg_temp.is_open(:sleepy), 'clientless_idle_timeout does not apply to other sessions');
SELECT pg_temp.backdate(:svcfresh, '2 hours', '2 hours') \g /dev/null
SELECT ok(session.heartbeat(:svcfresh, 1), 'a heartbeat on a clientless session');
SELECT is(session.expire_sessions(), 0::bigint, 'a heartbeat keeps a clientless session alive');

-- the timeouts are in seconds and accept units
SET session.idle_timeout = '90min';
SELECT is(current_setting('session.idle_timeout'), '90min', 'idle_timeout accepts units');
SELECT is((SELECT setting FROM pg_settings WHERE name = 'session.idle_timeout'), '5400', 'idle_timeout is stored in seconds');
SELECT session.open_session('edge', 'MyProject') AS edge \gset
SELECT pg_temp.backdate(:edge, '100 minutes', '80 minutes') \g /dev/null
SELECT is(session.expire_sessions(), 1::bigint, 'turning idle_timeout back on expires the long-idle session');
SELECT is(pg_temp.reason(:sleepy), 'timeout', 'with reason timeout');
SELECT ok(pg_temp.is_open(:edge), 'idle for less than idle_timeout: not expired');
SELECT pg_temp.backdate(:edge, '100 minutes', '91 minutes') \g /dev/null
SELECT is(session.expire_sessions(), 1::bigint, 'idle for longer than idle_timeout: expired');
SELECT is(pg_temp.reason(:edge), 'timeout', 'the session timed out');

SELECT is((SELECT count(*) FROM session_storage.sessions s JOIN session_storage.ended_sessions e USING (id)), 0::bigint,
		  'no expired session is still open');
SET session.idle_timeout = '1h';
SET session.clientless_idle_timeout = 0;

-------------------------------------------------------------------------------
-- Per-user limit: reject
-------------------------------------------------------------------------------

SET session.max_sessions_per_user = 2;
SET session.limit_policy = 'reject';
SELECT session.open_session('lim', 'MyProject') AS lim1 \gset
SELECT session.open_session('lim', 'MyProject') AS lim2 \gset
SELECT is(pg_temp.open_count('lim'), 2::bigint, 'sessions up to the limit open');
SELECT throws_ok($$SELECT session.open_session('lim', 'MyProject')$$, 'SE429', NULL, 'one over the limit is rejected with SE429');
SELECT is(pg_temp.open_count('lim'), 2::bigint, 'a rejected open writes nothing');
SELECT alike((pg_temp.err($$SELECT session.open_session('lim', 'MyProject')$$)).message, '%"lim"%', 'the SE429 message names the user');
SELECT alike((pg_temp.err($$SELECT session.open_session('lim', 'MyProject')$$)).detail, '%2%', 'the SE429 detail names the limit');
SELECT alike((pg_temp.err($$SELECT session.open_session('lim', 'MyProject')$$)).detail, '%session.max_sessions_per_user%',
			 'the SE429 detail names the setting');
SELECT throws_ok($$SELECT session.open_session('lim', 'OtherProject', scope => 'designer')$$, 'SE429', NULL,
				 'the limit counts every project and scope');
SELECT lives_ok($$SELECT session.open_clientless_session('lim')$$, 'a clientless session is not limited');
SELECT lives_ok($$SELECT session.open_clientless_session('lim')$$, 'nor a second one');
SELECT throws_ok($$SELECT session.open_session('lim', 'MyProject')$$, 'SE429', NULL, 'clientless sessions do not free a place');
SELECT lives_ok($$SELECT session.open_session('other', 'MyProject')$$, 'another user is not limited by lim''s sessions');
SELECT lives_ok($$SELECT session.open_session(NULL, 'MyProject'), session.open_session(NULL, 'MyProject'), session.open_session(NULL, 'MyProject')$$,
				'unauthenticated sessions are not limited');

-- logging in applies the limit too
SELECT session.open_session(NULL, 'MyProject') AS anon \gset
SELECT throws_ok(format('SELECT session.set_session_user(%s, %L)', :anon, 'lim'), 'SE429', NULL,
				 'logging in beyond the limit is rejected');
SELECT ok(username = 'Unauthenticated' AND NOT authenticated, 'the rejected session stays unauthenticated')
	FROM session.get_session_info(:anon::bigint);
SELECT lives_ok(format('SELECT session.set_session_user(%s, %L)', :lim1, 'lim'), 'logging in again as the same user is not over the limit');
SELECT lives_ok(format('SELECT session.set_session_user(%s, NULL)', :lim1), 'logging out frees a place');
SELECT lives_ok(format('SELECT session.set_session_user(%s, %L)', :anon, 'lim'), 'so another session can log in');
SELECT is(pg_temp.open_count('lim'), 2::bigint, 'the user is at the limit again');
SELECT ok(session.close_session(:anon), 'closing a session');
SELECT lives_ok($$SELECT session.open_session('lim', 'MyProject')$$, 'an ended session frees a place');

-- the limit off
SET session.max_sessions_per_user = 0;
SELECT lives_ok($$SELECT session.open_session('lim', 'MyProject') FROM generate_series(1, 3)$$, 'max_sessions_per_user = 0: no limit');
SELECT is(pg_temp.open_count('lim'), 5::bigint, 'the user has five sessions');

-------------------------------------------------------------------------------
-- Per-user limit: evict_oldest
-------------------------------------------------------------------------------

SET session.max_sessions_per_user = 2;
SET session.limit_policy = 'evict_oldest';
SELECT session.open_session('ev', 'MyProject') AS ev1 \gset
SELECT session.open_session('ev', 'MyProject') AS ev2 \gset
-- the oldest by start_time is the second one
SELECT pg_temp.backdate(:ev2, '1 hour', '1 minute') \g /dev/null
SELECT session.open_session('ev', 'MyProject') AS ev3 \gset
SELECT ok(:ev3 > :ev2, 'evict_oldest: one over the limit opens');
SELECT is(pg_temp.open_count('ev'), 2::bigint, 'the user stays at the limit');
SELECT is(pg_temp.reason(:ev2), 'evicted', 'the oldest session (by start_time) ends with reason evicted');
SELECT ok(pg_temp.is_open(:ev1) AND pg_temp.is_open(:ev3), 'the newer sessions stay open');
SELECT session.open_clientless_session('ev') AS evcl \gset
SELECT ok(pg_temp.is_open(:ev1) AND pg_temp.is_open(:evcl), 'a clientless session evicts nothing');

SELECT session.open_session(NULL, 'MyProject') AS evanon \gset
SELECT lives_ok(format('SELECT session.set_session_user(%s, %L)', :evanon, 'ev'), 'evict_oldest: logging in over the limit');
SELECT is(pg_temp.reason(:ev1), 'evicted', 'logging in evicts the oldest session');
SELECT ok(pg_temp.is_open(:ev3) AND pg_temp.is_open(:evanon), 'the logged-in session and the newer one stay open');
SELECT is(pg_temp.open_count('ev'), 2::bigint, 'the user is at the limit');
SELECT ok(pg_temp.is_open(:evcl), 'the clientless session was not evicted');

-- a lower limit evicts as many as needed
SET session.max_sessions_per_user = 1;
SELECT session.open_session('ev', 'MyProject') AS ev4 \gset
SELECT is(pg_temp.open_count('ev'), 1::bigint, 'a lowered limit: the user ends at the limit');
SELECT ok(pg_temp.is_open(:ev4), 'the new session is the one open');
SELECT ok(pg_temp.reason(:ev3) = 'evicted' AND pg_temp.reason(:evanon) = 'evicted', 'both older sessions were evicted');
SET session.max_sessions_per_user = 0;
SET session.limit_policy = 'reject';

-------------------------------------------------------------------------------
-- purge_history
-------------------------------------------------------------------------------

-- history rows of past days (they land in the default partition)
INSERT INTO session_storage.ended_sessions (id, uuid, username, authenticated, project, scope,
									start_time, last_comm, end_time, end_reason)
SELECT -i, gen_random_uuid(), 'hist', true, 'MyProject', 'browser',
	   now() - d - interval '1 hour', now() - d - interval '1 hour', now() - d, 'logout'
FROM (VALUES (1, interval '3 days'), (2, interval '3 days'), (3, interval '10 days'),
			 (4, interval '36 hours'), (5, interval '2 hours'), (6, interval '1 hour')) AS v(i, d);
SELECT count(*) AS hist_before FROM session_storage.ended_sessions \gset

SELECT is(session.get_session_user(-3), 'hist', 'an old history row is readable by id');
SELECT throws_ok($$SELECT session.purge_history(interval '-1 day')$$, '22023', NULL, 'a negative interval is refused');
SELECT throws_ok($$SELECT session.purge_history(interval '-1 second')$$, '22023', NULL, 'a negative interval of seconds is refused');
SELECT throws_ok($$SELECT session.purge_history(interval '-1 month')$$, '22023', NULL, 'a negative interval of months is refused');
SELECT throws_ok($$SELECT session.purge_history(NULL)$$, '22004', NULL, 'a NULL interval is refused');
SELECT is((SELECT count(*) FROM session_storage.ended_sessions), :hist_before::bigint, 'a refused purge removes nothing');

SELECT is(session.purge_history('1 day'), 4::bigint, 'purge_history returns how many sessions it removed');
SELECT is((SELECT count(*) FROM session_storage.ended_sessions WHERE id IN (-1, -2, -3, -4)), 0::bigint, 'sessions that ended before the cutoff are gone');
SELECT is((SELECT count(*) FROM session_storage.ended_sessions WHERE id IN (-5, -6)), 2::bigint, 'sessions that ended after the cutoff stay');
SELECT is((SELECT count(*) FROM session_storage.ended_sessions), :hist_before - 4::bigint, 'nothing else is removed');
SELECT throws_ok('SELECT session.get_session_info(-3::bigint)', 'SE404', NULL, 'a purged session is not found');
SELECT is(session.purge_history('1 day'), 0::bigint, 'a second purge removes nothing');
SELECT is(session.purge_history('90 minutes'), 1::bigint, 'a purge with a shorter interval');
SELECT ok(EXISTS (SELECT FROM session_storage.ended_sessions WHERE id = -6) AND NOT EXISTS (SELECT FROM session_storage.ended_sessions WHERE id = -5),
		  'it removed only the older of the two');
SELECT ok(pg_temp.is_open(:fresh), 'purge_history never touches open sessions');
SELECT is(session.get_session_user(:early), 'early', 'sessions that ended in this transaction stay');

-------------------------------------------------------------------------------
-- Settings
-------------------------------------------------------------------------------

SELECT is((SELECT array_agg(name::text ORDER BY name COLLATE "C") FROM pg_settings
		   WHERE name IN ('session.idle_timeout', 'session.max_lifetime', 'session.clientless_idle_timeout',
						  'session.reaper_interval', 'session.max_sessions_per_user', 'session.limit_policy',
						  'session.history_retention', 'session.notify', 'session.event_retention')),
		  ARRAY['session.clientless_idle_timeout', 'session.event_retention', 'session.history_retention', 'session.idle_timeout',
				'session.limit_policy', 'session.max_lifetime', 'session.max_sessions_per_user',
				'session.notify', 'session.reaper_interval'],
		  'every setting exists');
SELECT is(unit, 's', name || ' is a time in seconds')
	FROM pg_settings
	WHERE name IN ('session.idle_timeout', 'session.max_lifetime', 'session.clientless_idle_timeout',
				   'session.reaper_interval', 'session.history_retention', 'session.event_retention')
	ORDER BY name;
SELECT is(boot_val, v, name || ' defaults to ' || v)
	FROM pg_settings JOIN (VALUES ('session.idle_timeout', '1800'), ('session.max_lifetime', '0'),
								  ('session.clientless_idle_timeout', '0'), ('session.max_sessions_per_user', '0'),
								  ('session.limit_policy', 'reject'), ('session.history_retention', '0'),
								  ('session.notify', 'on'), ('session.event_retention', '86400')) AS d(n, v) ON name = n
	ORDER BY name;
SELECT is(enumvals, ARRAY['reject', 'evict_oldest'], 'limit_policy is reject or evict_oldest')
	FROM pg_settings WHERE name = 'session.limit_policy';
SELECT is(context, 'sighup', 'reaper_interval changes by reload') FROM pg_settings WHERE name = 'session.reaper_interval';
SELECT ok(context IN ('superuser', 'sighup', 'user'), name || ' changes without a restart')
	FROM pg_settings
	WHERE name IN ('session.idle_timeout', 'session.max_lifetime', 'session.clientless_idle_timeout')
	ORDER BY name;

SELECT throws_ok(stmt, '22023', NULL, stmt)
	FROM unnest(ARRAY[
		'SET session.idle_timeout = -1',
		'SET session.idle_timeout = ''abc''',
		'SET session.idle_timeout = ''5 parsecs''',
		'SET session.max_lifetime = -1',
		'SET session.max_lifetime = ''abc''',
		'SET session.clientless_idle_timeout = -1',
		'SET session.history_retention = -1',
		'SET session.max_sessions_per_user = -1',
		'SET session.max_sessions_per_user = ''many''',
		'SET session.max_sessions_per_user = 1000001',
		'SET session.limit_policy = ''bogus''',
		'SET session.notify = ''maybe''']) AS stmt;
SELECT throws_ok('SET session.reaper_interval = 5', '55P02', NULL, 'reaper_interval cannot be SET in a session');
SELECT lives_ok('SET session.notify = off', 'session.notify can be turned off');
SELECT is(current_setting('session.notify'), 'off', 'session.notify is off');
SELECT lives_ok('SET session.notify = on', 'session.notify can be turned on');
SELECT is(current_setting('session.idle_timeout'), '1h', 'refused values left idle_timeout alone');

SELECT * FROM finish();
ROLLBACK;
