-- make demo: the session registry of a three-node application, walked through in psql.
--
-- test/scripts/demo.sh feeds this file to psql -X -e on a throwaway cluster where
-- shared_preload_libraries = 'session', session.database = 'demo' and
-- session.reaper_interval = '1s', so the background worker expires idle sessions here.

\set ON_ERROR_STOP on
\set SHOW_CONTEXT never
\set QUIET on
\pset null '(null)'
\set QUIET off

\echo
\echo '########################################################################'
\echo '# 1. Install the extension'
\echo '########################################################################'
CREATE EXTENSION session;

\echo
\echo '########################################################################'
\echo '# 2. Three application nodes open sessions for their users'
\echo '########################################################################'
\echo
\echo '-- gw-1, the gateway: billy works in a browser and in the Designer, ann designs Other'
SELECT session.open_session('billy', 'MyProject', address => '10.1.0.11',
                            client_id => 'br-7f3a', node => 'gw-1',
                            user_agent => 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0')
       AS billy_browser \gset
SELECT session.open_session('billy', 'MyProject', address => '10.1.0.11', scope => 'designer',
                            client_id => 'designer-billy', node => 'gw-1',
                            user_agent => 'Ignition Designer 8.1')
       AS billy_designer \gset
SELECT session.open_session('ann', 'Other', address => '10.1.0.20', scope => 'designer',
                            client_id => 'designer-ann', node => 'gw-1',
                            user_agent => 'Ignition Designer 8.1')
       AS ann_designer \gset

\echo
\echo '-- web-1, a frontend: bill.smith, bilbo and ann in browsers, and a visitor still on the login page'
SELECT session.open_session('bill.smith', 'MyProject', address => '10.2.0.31',
                            client_id => 'br-11c0', node => 'web-1',
                            user_agent => 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0')
       AS bill_browser \gset
SELECT session.open_session('bilbo', 'Other', address => '10.2.0.32',
                            client_id => 'br-5e21', node => 'web-1',
                            user_agent => 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15')
       AS bilbo_browser \gset
SELECT session.open_session('ann', 'Other', address => '10.2.0.20',
                            client_id => 'br-a9d4', node => 'web-1',
                            user_agent => 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0')
       AS ann_browser \gset
SELECT session.open_session(NULL, 'MyProject', address => '203.0.113.77',
                            client_id => 'br-0b1d', node => 'web-1',
                            user_agent => 'Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) Safari/604.1')
       AS visitor \gset

\echo
\echo '-- mobile-1, the mobile node: bill.smith on iOS, and a session that logs in as bobby on Android'
SELECT session.open_session('bill.smith', 'Other', address => '172.16.4.8', scope => 'ios',
                            client_id => 'iphone-bs', node => 'mobile-1',
                            user_agent => 'Perspective/8.1 iOS/17.5')
       AS bill_ios \gset
SELECT session.open_session(NULL, 'MyProject', address => '172.16.4.9', scope => 'android',
                            client_id => 'pixel-bb', node => 'mobile-1',
                            user_agent => 'Perspective/8.1 Android/14')
       AS bobby_android \gset
SELECT session.set_session_user(:bobby_android, 'bobby');

\echo
\echo '-- every node sees every session'
SELECT id, username, authenticated, project, scope, node, address
FROM session.get_session_info();

\echo
\echo '########################################################################'
\echo '# 3. Heartbeats: bytes sent and the pages open now'
\echo '########################################################################'
SELECT session.heartbeat(:billy_browser, 5120, ARRAY['/overview', '/alarms']);
SELECT session.heartbeat(:billy_browser, 2048);    -- NULL page_ids: the pages stay as they are
SELECT session.heartbeat(:bobby_android, 1024, ARRAY['/mobile/home']);
\echo '-- one call for many sessions (a node heartbeats all of its sessions at once)'
SELECT session.heartbeat(ARRAY[:bill_browser, :bilbo_browser, :ann_browser]::bigint[],
                         ARRAY[4096, 512, 256]::bigint[]) AS sessions_touched;

SELECT id, username, scope, active_pages, page_ids, recent_bytes_sent, total_bytes_sent,
       last_comm >= start_time AS last_comm_moved
FROM session.get_session_info()
WHERE total_bytes_sent > 0;

\echo
\echo '########################################################################'
\echo '# 4. A clientless session runs a nightly job on gw-1 on behalf of ann'
\echo '########################################################################'
SELECT session.open_clientless_session('ann', 'Other', node => 'gw-1',
                                       attributes => '{"job": "nightly-export"}')
       AS job \gset
\echo '-- the application records who did what through the user context'
CREATE TABLE export_log (
    at          timestamptz NOT NULL DEFAULT now(),
    acting_user text DEFAULT session.get_user_context(),
    session_id  bigint DEFAULT session.current_session_id(),
    what        text NOT NULL
);
\echo '-- the job acts as ann for one transaction (is_local => true, like SET LOCAL)'
BEGIN;
SELECT session.set_user_context('ann', is_local => true) AS previous_context;
SELECT session.get_user_context() AS user_context;
INSERT INTO export_log (what) VALUES ('exported 1200 rows of Other');
COMMIT;
SELECT session.get_user_context() AS user_context_after_commit;
\echo '-- or it attaches the connection to its session: the context is then the session''s user'
BEGIN;
SELECT session.attach_session(:job, is_local => true) AS previous_context;
SELECT session.get_user_context() AS user_context, session.current_session_id() = :job AS attached_to_job;
SELECT user_context, session_id = :job AS attached_to_job
FROM session.connections
WHERE pid = pg_backend_pid();
INSERT INTO export_log (what) VALUES ('mailed the export');
COMMIT;
SELECT session.get_user_context() AS user_context, session.current_session_id() AS session_id;
SELECT acting_user, session_id = :job AS by_the_job, what FROM export_log ORDER BY at;

SELECT id, username, project, scope, address, attributes
FROM session.get_session_info(:job);
SELECT session.close_clientless_session(:job);

\echo
\echo '########################################################################'
\echo '# 5. Sessions end: a logout, an administrator terminates one, with NOTIFY events'
\echo '########################################################################'
LISTEN session_events;
SELECT session.close_session(:billy_designer);                   -- reason logout
SELECT session.terminate_session(:bobby_android);                -- reason terminated
UNLISTEN session_events;
\echo '-- closing an ended session changes nothing'
SELECT session.close_session(:billy_designer) AS closed_again;

\echo
\echo '########################################################################'
\echo '# 6. Listing with regular expressions (the whole value must match)'
\echo '########################################################################'
SELECT count(*) FROM session.get_session_info('billy');
SELECT count(*) FROM session.get_session_info('bi.*');
SELECT count(*) FROM session.get_session_info('bi.ly');
SELECT count(*) FROM session.get_session_info('bill\.smith');
SELECT count(*) FROM session.get_session_info(project_regex => 'MyProject');
SELECT count(*) FROM session.get_session_info('Unauthenticated');
SELECT username, project, scope, node
FROM session.get_session_info('(?i)ANN', 'Other');

\echo
\echo '########################################################################'
\echo '# 7. An ended session stays queryable by id'
\echo '########################################################################'
\x on
SELECT id, uuid, username, project, scope, node, start_time, end_time, end_reason,
       uptime_ms, total_bytes_sent
FROM session.get_session_info(:bobby_android);
\x off
SELECT session.get_session_user(:bobby_android);
\echo '-- an unknown id is an error with SQLSTATE SE404'
DO $$
BEGIN
    PERFORM session.get_session_user(424242);
EXCEPTION WHEN SQLSTATE 'SE404' THEN
    RAISE NOTICE 'SQLSTATE %: %', SQLSTATE, SQLERRM;
END
$$;

\echo
\echo '########################################################################'
\echo '# 8. Reporting views'
\echo '########################################################################'
SELECT id, username, project, scope, node, active_pages, last_comm_ms < 60000 AS recently_seen
FROM session.active_sessions;

SELECT project, open_sessions, users, designers, clientless,
       oldest_start <= now() AS oldest_start_known
FROM session.project_usage
ORDER BY project;

SELECT id, username, project, scope, end_reason, duration > '0'::interval AS has_duration
FROM session.history
ORDER BY end_time, id;

SELECT project, peak_sessions, distinct_users
FROM session.concurrency(now() - interval '1 hour', now() + interval '1 minute', '1 day')
ORDER BY project;

\echo
\echo '########################################################################'
\echo '# 9. An idle session is expired by the background worker'
\echo '########################################################################'
\echo '-- the nodes send their regular heartbeats'
SELECT session.heartbeat(array_agg(id)) AS sessions_touched FROM session.active_sessions;
\echo '-- ann leaves a tab open on web-1 and walks away'
SELECT session.open_session('ann', 'MyProject', address => '10.2.0.20', client_id => 'forgotten-tab',
                            node => 'web-1')
       AS idle \gset
\echo '-- the operator lowers the idle timeout to 5 seconds (the worker runs every second)'
ALTER SYSTEM SET session.idle_timeout = '5s';
SELECT pg_reload_conf();
SELECT 'waited 3 s' AS wait FROM pg_sleep(3);
\echo '-- every other session keeps sending heartbeats'
SELECT session.heartbeat(array_agg(id)) AS kept_alive
FROM session.active_sessions
WHERE id <> :idle;
SELECT 'waited 4 s more' AS wait FROM pg_sleep(4);

\x on
SELECT id, username, client_id, last_comm, end_time, end_reason,
       end_time - last_comm >= interval '5 seconds' AS idle_past_timeout
FROM session.get_session_info(:idle);
\x off
SELECT count(*) AS still_open FROM session.active_sessions;
SELECT end_reason, count(*) FROM session.history GROUP BY end_reason ORDER BY end_reason;

ALTER SYSTEM RESET session.idle_timeout;
SELECT pg_reload_conf();
