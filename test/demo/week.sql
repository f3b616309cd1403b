-- A realistic week of sessions, for developing dashboards and for the README's
-- reporting examples: psql -f test/demo/week.sql (as a member of session_admin).
--
-- The seven whole days (UTC) before today: three application nodes (gw-1 and gw-2
-- serve browsers and the Designer, mobile-1 the iOS and Android apps) and a service
-- account's clientless sessions; four projects; a daily curve (busy from 07:00 to
-- 18:00 UTC, quiet at night); users who log in a minute or two after the session
-- opens, some who log out before it ends and some who then log in as someone else;
-- every end reason, gw-2 restarting on the fourth day at 10:00 (node_shutdown). Then
-- twelve sessions open now. The same database gets the same data whatever the day
-- it runs (setseed): only the times move with the clock.
--
-- It goes through session.import_sessions, so it needs nothing the extension does
-- not offer; the history partitions of the week are created on the way.

SELECT setseed(0.2026);

WITH w AS (
	SELECT date_trunc('day', now(), 'UTC') - interval '7 days' AS week_start,
		   date_trunc('day', now(), 'UTC') AS week_end),
-- 330 sessions a day; s orders them within the day so random() draws are stable
raw AS (
	SELECT d, s, random() AS r_busy, random() AS r_hour, random() AS r_min, random() AS r_scope,
		   random() AS r_len, random() AS r_user, random() AS r_login, random() AS r_out,
		   random() AS r_switch, random() AS r_reason, random() AS r_node, random() AS r_proj
	FROM generate_series(0, 6) d, generate_series(1, 330) s
	ORDER BY d, s),
g AS (
	SELECT raw.*, w.*,
		   CASE WHEN r_scope < 0.55 THEN 'browser' WHEN r_scope < 0.70 THEN 'designer'
				WHEN r_scope < 0.82 THEN 'ios' WHEN r_scope < 0.94 THEN 'android' ELSE 'clientless' END AS scope,
		   -- the daily curve: most sessions start in working hours
		   w.week_start + make_interval(days => d)
			 + make_interval(hours => CASE WHEN r_busy < 0.85 THEN 7 + floor(r_hour * 11)::int ELSE floor(r_hour * 24)::int END,
							 secs => floor(r_min * 3600)::int) AS st
	FROM raw, w),
h AS (
	SELECT g.*,
		   CASE scope WHEN 'browser' THEN 5 + r_len * 115 WHEN 'designer' THEN 30 + r_len * 450
					  WHEN 'clientless' THEN 60 + r_len * 600 ELSE 2 + r_len * 28 END AS minutes,
		   CASE WHEN scope IN ('ios', 'android') THEN 'mobile-1' WHEN scope = 'clientless' THEN 'gw-1'
				WHEN r_node < 0.5 THEN 'gw-1' ELSE 'gw-2' END AS node,
		   CASE WHEN scope IN ('ios', 'android') THEN 'Mobile' WHEN scope = 'clientless' THEN 'Integration'
				WHEN r_proj < 0.6 THEN 'Plant' ELSE 'Warehouse' END AS project,
		   (ARRAY['ann', 'billy', 'bilbo', 'carla', 'dmitri', 'elena', 'farid', 'grace', 'hiro', 'ines',
				  'jonas', 'kemal', 'lena', 'marco', 'nadia', 'oskar', 'priya', 'quinn', 'rosa', 'sven'])
			 [1 + floor(r_user * 20)::int] AS who
	FROM g),
e AS (
	SELECT h.*,
		   -- gw-2 restarts on the fourth day at 10:00: what was open there ends then
		   CASE WHEN node = 'gw-2' AND st < week_start + interval '3 days 10 hours'
					 AND st + make_interval(mins => minutes::int) > week_start + interval '3 days 10 hours'
				THEN week_start + interval '3 days 10 hours'
				ELSE LEAST(st + make_interval(secs => (minutes * 60)::int), week_end - interval '1 second') END AS et
	FROM h),
f AS (
	SELECT e.*,
		   CASE WHEN et = week_start + interval '3 days 10 hours' AND node = 'gw-2' THEN 'node_shutdown'
				WHEN scope = 'clientless' THEN 'closed'
				WHEN r_reason < 0.55 THEN 'logout' WHEN r_reason < 0.80 THEN 'timeout'
				WHEN r_reason < 0.88 THEN 'max_lifetime' WHEN r_reason < 0.95 THEN 'terminated'
				ELSE 'evicted' END AS reason,
		   -- a minute or two after opening, someone logs in (most of the time)
		   st + make_interval(secs => 30 + floor(r_login * 90)::int) AS login_at
	FROM e)
SELECT session.import_sessions(jsonb_agg(jsonb_build_object(
		'project', project, 'node', node, 'scope', scope,
		'address', CASE WHEN scope <> 'clientless' THEN '10.' || (1 + d) || '.' || s % 250 || '.' || (s * 7) % 250 END,
		'client_id', CASE WHEN scope <> 'clientless' THEN 'c-' || d || '-' || s END,
		'start_time', st, 'last_comm', et, 'end_time', et, 'end_reason', reason,
		'total_bytes_sent', floor(minutes * 2048), 'recent_bytes_sent', 512)
	|| CASE
		WHEN scope = 'clientless' THEN jsonb_build_object('username', 'svc-sync')
		-- nobody logs in (the login page, a crawler)
		WHEN r_login < 0.12 OR login_at >= et THEN '{}'::jsonb
		-- logs in, logs out before the end, and someone else logs in
		WHEN r_out < 0.15 AND minutes > 10 THEN jsonb_build_object('logins', jsonb_build_array(
			jsonb_build_object('username', who, 'login_time', login_at,
							   'logout_time', login_at + (et - login_at) * 0.4),
			jsonb_build_object('username', (ARRAY['ann', 'carla', 'hiro', 'sven'])[1 + floor(r_switch * 4)::int],
							   'login_time', login_at + (et - login_at) * 0.5)))
		-- logs in and logs out before the session ends
		WHEN r_out < 0.40 THEN jsonb_build_object('logins', jsonb_build_array(
			jsonb_build_object('username', who, 'login_time', login_at,
							   'logout_time', login_at + (et - login_at) * 0.8)))
		ELSE jsonb_build_object('logins', jsonb_build_array(
			jsonb_build_object('username', who, 'login_time', login_at)))
		END
	ORDER BY d, s)) AS imported_last_week
FROM f;

-- twelve sessions open now, opened during the last hours
SELECT session.import_sessions(jsonb_agg(jsonb_build_object(
		'project', (ARRAY['Plant', 'Plant', 'Warehouse', 'Mobile'])[1 + i % 4],
		'node', (ARRAY['gw-1', 'gw-2', 'gw-1', 'mobile-1'])[1 + i % 4],
		'scope', (ARRAY['browser', 'designer', 'browser', 'ios'])[1 + i % 4],
		'address', '10.9.0.' || i, 'client_id', 'c-now-' || i,
		'start_time', now() - make_interval(mins => 20 * i),
		'last_comm', now() - make_interval(mins => 20 * i) + interval '1 minute')
	|| CASE WHEN i % 5 = 0 THEN '{}'::jsonb
			ELSE jsonb_build_object('logins', jsonb_build_array(jsonb_build_object(
				'username', (ARRAY['ann', 'billy', 'carla', 'dmitri', 'elena', 'grace'])[1 + i % 6],
				'login_time', now() - make_interval(mins => 20 * i) + interval '1 minute'))) END
	ORDER BY i), include_open => true) AS open_now
FROM generate_series(1, 12) i;
