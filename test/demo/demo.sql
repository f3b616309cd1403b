-- make demo: the session registry of a two-node application, walked through in psql.
--
-- test/scripts/demo.sh feeds this file to psql -X -e on a throwaway cluster where
-- shared_preload_libraries = 'session', session.database = 'demo' and
-- session.reaper_interval = '1s', so the background worker expires idle sessions here.
-- The database is new, so the ids are 1, 2, 3, ... in the order the sessions open:
-- every id used below is one the output showed when it was opened.

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
\echo '# 2. Two application nodes open sessions for their users'
\echo '########################################################################'
\echo
\echo '-- gw-1, the gateway: billy in a browser and in the Designer, ann and bilbo in'
\echo '-- browsers, and a visitor still on the login page'
SELECT session.open_session('billy', 'MyProject', address => '10.1.0.11',
                            client_id => 'br-7f3a', node => 'gw-1',
                            user_agent => 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0');
SELECT session.open_session('billy', 'MyProject', address => '10.1.0.11', scope => 'designer',
                            client_id => 'designer-billy', node => 'gw-1',
                            user_agent => 'Ignition Designer 8.1');
SELECT session.open_session('ann', 'Other', address => '10.1.0.20',
                            client_id => 'br-a9d4', node => 'gw-1',
                            user_agent => 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0');
SELECT session.open_session('bilbo', 'Other', address => '10.1.0.32',
                            client_id => 'br-5e21', node => 'gw-1',
                            user_agent => 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15');
SELECT session.open_session(NULL, 'MyProject', address => '203.0.113.77',
                            client_id => 'br-0b1d', node => 'gw-1',
                            user_agent => 'Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) Safari/604.1');

\echo
\echo '-- mobile-1, the mobile node: bill.smith on iOS, and an Android phone whose user'
\echo '-- logs in as bobby a moment later'
SELECT session.open_session('bill.smith', 'Other', address => '172.16.4.8', scope => 'ios',
                            client_id => 'iphone-bs', node => 'mobile-1',
                            user_agent => 'Perspective/8.1 iOS/17.5');
SELECT session.open_session(NULL, 'MyProject', address => '172.16.4.9', scope => 'android',
                            client_id => 'pixel-bb', node => 'mobile-1',
                            user_agent => 'Perspective/8.1 Android/14');
SELECT session.set_session_user(7, 'bobby');

\echo
\echo '-- every node sees every session'
SELECT id, username, authenticated, project, scope, node, address
FROM session.get_session_info();

\echo
\echo '########################################################################'
\echo '# 3. Heartbeats: bytes sent and the pages open now'
\echo '########################################################################'
SELECT session.heartbeat(1, 5120, ARRAY['/overview', '/alarms']);
SELECT session.heartbeat(1, 2048);    -- NULL page_ids: the pages stay as they are
SELECT session.heartbeat(7, 1024, ARRAY['/mobile/home']);
\echo '-- a node heartbeats all the sessions that communicated in one call; it returns'
\echo '-- how many open sessions it touched'
SELECT session.heartbeat(ARRAY[3, 4, 6], ARRAY[4096, 512, 256]);
\echo '-- a session that is not open is not touched'
SELECT session.heartbeat(42);

SELECT id, username, scope, active_pages, page_ids, recent_bytes_sent, total_bytes_sent,
       last_comm >= start_time AS last_comm_moved
FROM session.get_session_info()
WHERE total_bytes_sent > 0;

\echo
\echo '########################################################################'
\echo '# 4. Listing with regular expressions: the whole value must match'
\echo '########################################################################'
SELECT pattern,
       (SELECT string_agg(username || ' (' || id || ')', ', ')
        FROM session.get_session_info(pattern)) AS open_sessions_matched
FROM (VALUES ('billy'), ('bi.*'), ('bi.ly'), ('bil'), ('bill\.smith'),
             ('(?i)ANN|BOBBY'), ('Unauthenticated')) AS p(pattern);
\echo '-- both filters at once: users starting with b on project Other'
SELECT id, username, project, node FROM session.get_session_info('b.*', 'Other');
\echo '-- an invalid pattern is an error that names the parameter (SQLSTATE 2201B)'
\set ON_ERROR_STOP off
SELECT * FROM session.get_session_info(project_regex => 'My(Project');
\set ON_ERROR_STOP on

\echo
\echo '########################################################################'
\echo '# 5. The user context: row-level security for the application''s users'
\echo '########################################################################'
\echo '-- the application keeps orders; each user may see only their own'
CREATE TABLE orders (id integer PRIMARY KEY, owner text NOT NULL, item text NOT NULL);
INSERT INTO orders VALUES (1, 'ann', 'pump'), (2, 'bill.smith', 'valve'), (3, 'ann', 'sensor'),
                          (4, 'billy', 'motor');
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_orders ON orders USING (owner = (SELECT session.get_user_context()));
\echo '-- the nodes connect as demo_app: it may use the registry and read orders, nothing more'
CREATE ROLE demo_app LOGIN IN ROLE session_app;
GRANT SELECT ON orders TO demo_app;
SET ROLE demo_app;
\echo '-- no user context: the policy shows nothing'
SELECT * FROM orders;
\echo '-- gw-1 serves a request of ann''s session 3 (is_local: for this transaction only)'
BEGIN;
SELECT session.attach_session(3, is_local => true);
SELECT session.get_user_context(), session.current_session_id();
SELECT * FROM orders;
COMMIT;
\echo '-- the transaction is over: the context is gone'
SELECT session.get_user_context(), session.current_session_id();
\echo '-- a request of bill.smith''s session 6'
BEGIN;
SELECT session.attach_session(6, is_local => true);
SELECT * FROM orders;
COMMIT;
\echo '-- the context cannot be forged with SET (SQLSTATE 42501)'
\set ON_ERROR_STOP off
SET session.user_context = 'billy';
\set ON_ERROR_STOP on
\echo '-- a clientless session: a nightly job on gw-1 that acts for ann'
SELECT session.open_clientless_session('ann', 'Other', node => 'gw-1',
                                       attributes => '{"job": "nightly-export"}');
RESET ROLE;
\echo '-- what it does is recorded with the acting user, by column defaults'
CREATE TABLE export_log (
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    acting_user text DEFAULT session.get_user_context(),
    session_id  bigint DEFAULT session.current_session_id(),
    what        text NOT NULL
);
GRANT INSERT ON export_log TO demo_app;
SET ROLE demo_app;
BEGIN;
SELECT session.attach_session(8, is_local => true);
SELECT count(*) AS orders_exported FROM orders;
INSERT INTO export_log (what) VALUES ('exported 2 orders');
RESET ROLE;
\echo '-- the administrator sees, in session.connections, which user each connection acts for'
SELECT datname, application_name, user_context, session_id
FROM session.connections
WHERE pid = pg_backend_pid();
COMMIT;
SELECT acting_user, session_id, what FROM export_log;
SELECT session.close_clientless_session(8);

\echo
\echo '########################################################################'
\echo '# 6. Sessions end: a logout and an administrator''s termination; the event log'
\echo '########################################################################'
\echo '-- a reader of the event log keeps the last event_id it processed'
SELECT max(event_id) AS last_event FROM session.events_since(0, 1000000);
LISTEN session_events;                           -- an empty wake-up per commit
SELECT session.close_session(2);                 -- billy closes the Designer: reason logout
SELECT session.terminate_session(7);             -- the administrator ends bobby's session
UNLISTEN session_events;
\echo '-- what a reader woken up by session_events reads, from its last event_id on (10)'
SELECT event_id, event, id, username, project, scope, reason FROM session.events_since(10);
\echo '-- closing an ended session changes nothing'
SELECT session.close_session(2);
\echo '-- an ended session stays queryable by id'
\x on
SELECT id, uuid, username, project, scope, node, start_time, end_time, end_reason,
       uptime_ms, total_bytes_sent
FROM session.get_session_info(7::bigint);
\x off
SELECT session.get_session_user(7);
\echo '-- an id that never existed is an error (SQLSTATE SE404)'
\set ON_ERROR_STOP off
SELECT session.get_session_user(424242);
\set ON_ERROR_STOP on

\echo
\echo '########################################################################'
\echo '# 7. An idle session is expired by the background worker'
\echo '########################################################################'
\echo '-- ann leaves a tab open on gw-1 and walks away'
SELECT session.open_session('ann', 'MyProject', address => '10.1.0.20', client_id => 'forgotten-tab',
                            node => 'gw-1');
\echo '-- the operator lowers the idle timeout to 5 seconds (the worker runs every second)'
ALTER SYSTEM SET session.idle_timeout = '5s';
SELECT pg_reload_conf();
SELECT 'waited 3 s' AS wait FROM pg_sleep(3);
\echo '-- every other session keeps sending heartbeats'
SELECT session.heartbeat(array_agg(id)) AS kept_alive
FROM session.active_sessions
WHERE id <> 9;
SELECT 'waited 4 s more' AS wait FROM pg_sleep(4);
SELECT id, username, client_id, end_reason,
       end_time - last_comm >= interval '5 seconds' AS idle_past_timeout
FROM session.get_session_info(9::bigint);
ALTER SYSTEM RESET session.idle_timeout;
SELECT pg_reload_conf();

\echo
\echo '########################################################################'
\echo '# 8. History and reports'
\echo '########################################################################'
\echo '-- who is on now'
SELECT id, username, project, scope, node, active_pages, last_comm_ms < 60000 AS seen_last_minute
FROM session.active_sessions
ORDER BY start_time, id;
\echo '-- per project'
SELECT project, open_sessions, users, designers, clientless
FROM session.project_usage
ORDER BY project NULLS LAST;
\echo '-- the history: every ended session, how and after how long'
SELECT id, username, project, scope, node, end_reason, duration
FROM session.history
ORDER BY end_time, id;
SELECT end_reason, count(*) FROM session.history GROUP BY end_reason ORDER BY end_reason;
\echo '-- peak concurrency per project and hour over the last three hours: the most sessions'
\echo '-- open at one moment; buckets start on the hour, and include_empty gives the hours'
\echo '-- without sessions a row of zeros (a point for every bucket of a time-series panel)'
SELECT bucket_start, project, peak_sessions, distinct_users
FROM session.concurrency(now() - interval '3 hours', now(), '1 hour', include_empty => true)
ORDER BY bucket_start, project;

\echo
\echo '########################################################################'
\echo '# 9. A week of history (test/demo/week.sql, through session.import_sessions)'
\echo '########################################################################'
