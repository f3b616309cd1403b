-- The database make matrix dumps on PostgreSQL 15 and restores into each later
-- version: open sessions with every column filled in some way, logins and
-- logouts, sessions ended each way (history in a daily partition and in the
-- default one), and the events of all that. Only the extension's functions write.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

SELECT session.open_session('alice', 'plant', '10.0.0.1', 'browser', 'c1', 'Mozilla/5.0', 'n1',
	'{"theme": "dark", "n": [1, 2.5, null], "s": "\u00e4"}') AS alice \gset
SELECT session.open_session(NULL, 'plant', '::1', 'ios') AS anon \gset
SELECT session.open_session('bob', U&'pl\00E4nt "2"', '192.168.1.7/32', 'designer', node => 'n2') AS bob \gset
SELECT session.open_session('zoe', 'office', '2001:db8::7', 'android', 'phone-7', NULL, 'n2') AS zoe \gset
SELECT session.open_clientless_session('svc', NULL, 'n3', '{"job": 7}') AS svc \gset

-- a session that ends in history while no daily partition exists yet (default
-- partition), then the partitions expire_sessions creates
SELECT session.open_session('carol', 'office') AS carol \gset
SELECT session.close_session(:carol, 'logout');
SELECT session.open_session('dave', 'office') AS dave \gset

SELECT session.heartbeat(:alice, 1234, ARRAY['home', 'trend''s']);
SELECT session.heartbeat(:alice, 66, NULL);
SELECT session.heartbeat(ARRAY[:anon, :bob, :zoe]::bigint[], ARRAY[10, 20, 30]::bigint[]);
SELECT session.set_session_user(:anon, 'frank');
SELECT session.set_session_user(:anon, NULL);
SELECT session.set_session_user(:anon, 'grace');

-- dave idles past a one-second timeout; everyone else was heard from just now
SELECT pg_sleep(1.2);
SELECT session.heartbeat(ARRAY[:alice, :anon, :bob, :zoe, :svc]::bigint[], NULL);
SET session.idle_timeout = '1s';
SELECT session.expire_sessions();
RESET session.idle_timeout;

SELECT session.open_session('erin', 'office', scope => 'client') AS erin \gset
SELECT session.terminate_session(:erin, 'audit');
SELECT session.open_clientless_session('batch', 'plant') AS batch \gset
SELECT session.close_clientless_session(:batch);
SELECT session.open_session('henry', 'lab', node => 'n9') AS henry \gset
SELECT session.close_node_sessions('n9');
