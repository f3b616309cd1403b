-- make demo, last part: the four panels every deployment asks for, and who was
-- logged in at an instant, on the week test/demo/week.sql imported (run after it).
-- Times are UTC.
SET TimeZone = 'UTC';

\echo '-- 1. who is logged in now, per project and node'
SELECT project, node, count(*) AS sessions,
       count(DISTINCT username) FILTER (WHERE authenticated) AS users
FROM session.active_sessions
GROUP BY project, node
ORDER BY project, node;

\echo '-- 2. peak concurrent sessions per hour last week: the busiest hours overall, and'
\echo '--    the peak of each node (per-node peaks do not add up to the overall peak)'
SELECT bucket_start, peak_sessions, distinct_users
FROM session.concurrency(date_trunc('day', now(), 'UTC') - interval '7 days',
                         date_trunc('day', now(), 'UTC'), '1 hour', group_by => 'none')
ORDER BY peak_sessions DESC, bucket_start
LIMIT 3;
SELECT node, max(peak_sessions) AS peak
FROM session.concurrency(date_trunc('day', now(), 'UTC') - interval '7 days',
                         date_trunc('day', now(), 'UTC'), '1 hour', group_by => 'node')
GROUP BY node
ORDER BY node;

\echo '-- 3. sessions ended by reason per day'
SELECT date_trunc('day', now(), 'UTC')::date - (end_time AT TIME ZONE 'UTC')::date AS days_ago,
       count(*) FILTER (WHERE end_reason = 'logout') AS logout,
       count(*) FILTER (WHERE end_reason = 'timeout') AS timeout,
       count(*) FILTER (WHERE end_reason = 'max_lifetime') AS max_lifetime,
       count(*) FILTER (WHERE end_reason = 'terminated') AS terminated,
       count(*) FILTER (WHERE end_reason = 'evicted') AS evicted,
       count(*) FILTER (WHERE end_reason = 'node_shutdown') AS node_shutdown,
       count(*) FILTER (WHERE end_reason = 'closed') AS closed
FROM session.history
WHERE end_time >= date_trunc('day', now(), 'UTC') - interval '7 days'
GROUP BY 1
ORDER BY 1 DESC;

\echo '-- 4. average session length per user, from the logins (a user who logged out'
\echo '--    before the session ended still counts)'
SELECT username, count(*) AS logins,
       date_trunc('second', avg(logout_time - login_time)) AS average,
       date_trunc('second', sum(logout_time - login_time)) AS total
FROM session.logins
WHERE session_end_time >= date_trunc('day', now(), 'UTC') - interval '7 days'
  AND logout_time IS NOT NULL
GROUP BY username
ORDER BY total DESC
LIMIT 5;

\echo '-- who was logged in to Plant at 14:02 five days ago, on which node, from where'
SELECT username, node, address, start_time
FROM session.get_session_info_at(date_trunc('day', now(), 'UTC') - interval '5 days' + interval '14:02',
                                 project_regex => 'Plant')
WHERE authenticated
ORDER BY username, start_time;
