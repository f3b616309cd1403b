-- Events: the log of every open, close, expiry, termination, eviction and
-- user change, read with session.events_since(); what a rollback,
-- session.notify = off and PREPARE TRANSACTION do; who may read and LISTEN.
-- (Notifications themselves, disconnects and retention: test/t/002_listen.pl;
-- events committed out of id order: test/specs/events_order.spec.)
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;

-------------------------------------------------------------------------------
-- Part 1, outside a transaction block: changes that commit (or not), checked
-- below through psql variables
-------------------------------------------------------------------------------

SELECT coalesce(max(event_id), 0) AS ev0 FROM session.events_since(0, 1000000) \gset
SELECT session.open_session('ev_ann', 'ev_proj', '10.1.1.1', 'designer', node => 'ev_n1') AS s1 \gset
SELECT session.set_session_user(:s1, 'ev_bob') AS ignored \gset
SELECT session.set_session_user(:s1, NULL) AS ignored \gset
SELECT session.close_session(:s1) AS ignored \gset
SELECT session.close_session(:s1) AS ignored \gset
-- a heartbeat is no event
SELECT session.open_session('ev_cat', 'ev_proj', scope => 'ios') AS s2 \gset
SELECT session.heartbeat(:s2, 10) AS ignored \gset
SELECT session.heartbeat(ARRAY[:s2]::bigint[]) AS ignored \gset
SELECT session.terminate_session(:s2, 'abuse') AS ignored \gset
SELECT session.open_clientless_session('ev_bot', 'ev_proj', 'ev_n2') AS s3 \gset
SELECT session.close_clientless_session(:s3) AS ignored \gset
-- rolled back, in a failed transaction, and with session.notify off: nothing
BEGIN;
SELECT session.open_session('ev_gone', 'ev_proj') AS ignored \gset
ROLLBACK;
BEGIN;
SELECT session.open_session('ev_kept', 'ev_proj') AS s4 \gset
SAVEPOINT a;
SELECT session.open_session('ev_gone', 'ev_proj') AS ignored \gset
ROLLBACK TO SAVEPOINT a;
COMMIT;
SET session.notify = off;
SELECT session.open_session('ev_quiet', 'ev_proj') AS s5 \gset
SELECT session.close_session(:s5) AS ignored \gset
RESET session.notify;
-- a transaction that wrote events cannot be prepared (its floor would stay)
\set VERBOSITY sqlstate
BEGIN;
SELECT session.open_session('ev_gone', 'ev_proj') AS ignored \gset
PREPARE TRANSACTION 'ev_prepared';
\set VERBOSITY default
-- eviction, node shutdown, expiry
SET session.max_sessions_per_user = 1;
SET session.limit_policy = 'evict_oldest';
SELECT session.open_session('ev_eve', 'ev_proj', node => 'ev_n9') AS s6 \gset
SELECT session.open_session('ev_eve', 'ev_proj', node => 'ev_n9') AS s7 \gset
RESET session.max_sessions_per_user;
RESET session.limit_policy;
SELECT session.close_node_sessions('ev_n9') AS ignored \gset
SELECT session.close_session(:s4) AS ignored \gset
SELECT session.open_session('ev_old', 'ev_proj', scope => 'android') AS s8 \gset
SELECT pg_sleep(1.1) AS ignored \gset
SET session.idle_timeout = '1s';
SELECT session.expire_sessions() AS ignored \gset
RESET session.idle_timeout;

-------------------------------------------------------------------------------
-- Part 2: the pgTAP transaction
-------------------------------------------------------------------------------

BEGIN;
SELECT plan(27);

CREATE TEMP TABLE got AS
SELECT * FROM session.events_since(:ev0, 1000) WHERE project = 'ev_proj';
CREATE TEMP TABLE want (ord serial, event text, id bigint, username text, project text,
						node text, scope text, reason text);
INSERT INTO want (event, id, username, project, node, scope, reason) VALUES
	('open', :s1, 'ev_ann', 'ev_proj', 'ev_n1', 'designer', NULL),
	('user', :s1, 'ev_bob', 'ev_proj', 'ev_n1', 'designer', 'login'),
	('user', :s1, 'Unauthenticated', 'ev_proj', 'ev_n1', 'designer', 'logout'),
	('close', :s1, 'Unauthenticated', 'ev_proj', 'ev_n1', 'designer', 'logout'),
	('open', :s2, 'ev_cat', 'ev_proj', NULL, 'ios', NULL),
	('terminate', :s2, 'ev_cat', 'ev_proj', NULL, 'ios', 'abuse'),
	('open', :s3, 'ev_bot', 'ev_proj', 'ev_n2', 'clientless', NULL),
	('close', :s3, 'ev_bot', 'ev_proj', 'ev_n2', 'clientless', 'closed'),
	('open', :s4, 'ev_kept', 'ev_proj', NULL, 'browser', NULL),
	('open', :s6, 'ev_eve', 'ev_proj', 'ev_n9', 'browser', NULL),
	('evict', :s6, 'ev_eve', 'ev_proj', 'ev_n9', 'browser', 'evicted'),
	('open', :s7, 'ev_eve', 'ev_proj', 'ev_n9', 'browser', NULL),
	('close', :s7, 'ev_eve', 'ev_proj', 'ev_n9', 'browser', 'node_shutdown'),
	('close', :s4, 'ev_kept', 'ev_proj', NULL, 'browser', 'logout'),
	('open', :s8, 'ev_old', 'ev_proj', NULL, 'android', NULL),
	('expire', :s8, 'ev_old', 'ev_proj', NULL, 'android', 'timeout');

SELECT results_eq($$SELECT event, id, username, project, node, scope, reason FROM got ORDER BY event_id$$,
				  $$SELECT event, id, username, project, node, scope, reason FROM want ORDER BY ord$$,
				  'every change wrote one event, in order, with its session''s fields; nothing for heartbeats, rollbacks, a second close or session.notify = off');
SELECT is((SELECT count(*) FROM got g JOIN session.history h ON h.id = g.id WHERE h.uuid = g.uuid),
		  (SELECT count(*) FROM got), 'each event carries its session''s uuid');
SELECT ok((SELECT bool_and(event_time BETWEEN now() - interval '5 minutes' AND now()) FROM got),
		  'each event carries its time');
SELECT is((SELECT array_agg(event_id ORDER BY event_id) FROM got),
		  (SELECT array_agg(DISTINCT event_id) FROM got), 'event ids are unique and come in order');
SELECT is((SELECT event_time FROM got WHERE event = 'close' AND id = :s1),
		  (SELECT end_time FROM session.history WHERE id = :s1), 'a close event has the end time of the session');
SELECT is((SELECT count(*)::int FROM session_storage.events WHERE username IN ('ev_gone', 'ev_quiet')), 0,
		  'the log has no row of a rolled-back, prepared or session.notify = off change');
SELECT is((SELECT count(*)::int FROM pg_prepared_xacts WHERE gid = 'ev_prepared'), 0,
		  'the transaction that wrote events was not prepared');

-- the cursor
SELECT is((SELECT array_agg(event_id ORDER BY event_id) FROM session.events_since(:ev0, 3) WHERE project = 'ev_proj'),
		  (SELECT (array_agg(event_id ORDER BY event_id))[1:3] FROM got), 'max_rows bounds the rows, the first ones first');
SELECT is((SELECT array_agg(e.event_id ORDER BY e.event_id)
		   FROM session.events_since((SELECT event_id FROM got ORDER BY event_id OFFSET 2 LIMIT 1), 1000) e
		   WHERE e.project = 'ev_proj'),
		  (SELECT (array_agg(event_id ORDER BY event_id))[4:] FROM got), 'events_since(last) continues after last');
SELECT is_empty($$SELECT * FROM session.events_since(9223372036854775807, 10)$$, 'nothing after the end');
SELECT ok((SELECT count(*) FROM session.events_since()) > 0, 'the defaults read from the start');
SELECT throws_ok($$SELECT * FROM session.events_since(NULL, 10)$$, '22004', NULL, 'after_event_id NULL is refused with 22004');
SELECT throws_ok($$SELECT * FROM session.events_since(0, NULL)$$, '22004', NULL, 'max_rows NULL is refused with 22004');
SELECT throws_ok($$SELECT * FROM session.events_since(0, 0)$$, '22023', NULL, 'max_rows 0 is refused with 22023');
SELECT throws_ok($$SELECT * FROM session.events_since(0, 1000001)$$, '22023', NULL, 'max_rows over a million is refused with 22023');

-- this transaction's own events: in the table, not yet in events_since
SELECT coalesce(max(event_id), 0) AS ev1 FROM session.events_since(0, 1000000) \gset
SELECT session.open_session('ev_mine', 'ev_proj') AS s9 \gset
SELECT is((SELECT count(*)::int FROM session_storage.events WHERE id = :s9 AND event = 'open'), 1,
		  'an open in this transaction wrote its event');
SELECT is_empty(format('SELECT * FROM session.events_since(%s, 1000) WHERE id = %s', :ev1, :s9),
				'events_since does not return events before they commit, not even to their own transaction');

-- who may read and listen
CREATE ROLE ev_none NOLOGIN;
CREATE ROLE ev_reader NOLOGIN IN ROLE session_reader;
CREATE ROLE ev_app NOLOGIN IN ROLE session_app;
-- runs q as role r (include/as_role.sql wants a result; LISTEN has none)
CREATE FUNCTION pg_temp.run_as(r name, q text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('SET LOCAL ROLE %I', r);
	EXECUTE q;
	RESET ROLE;
END
$$;
SELECT throws_ok($$SELECT pg_temp.run_as('ev_none', 'SELECT count(*) FROM session.events_since(0, 10)')$$,
				 '42501', NULL, 'a PUBLIC role cannot read events');
SELECT throws_ok($$SELECT pg_temp.run_as('ev_none', 'SELECT count(*) FROM session_storage.events')$$,
				 '42501', NULL, 'a PUBLIC role cannot read the log table');
SELECT throws_ok($$SELECT pg_temp.run_as('ev_reader', 'SELECT count(*) FROM session_storage.events')$$,
				 '42501', NULL, 'a reader cannot read the log table either, only events_since');
SELECT throws_ok($$SELECT pg_temp.run_as('ev_none', 'LISTEN session_events')$$,
				 '42501', NULL, 'a PUBLIC role cannot LISTEN session_events');
SELECT throws_ok($$SELECT pg_temp.run_as('ev_app', 'LISTEN session_events')$$,
				 '42501', NULL, 'nor can session_app');
SELECT lives_ok($$SELECT pg_temp.run_as('ev_none', 'LISTEN other_channel')$$,
				'other channels are left alone');
SELECT lives_ok($$SELECT pg_temp.run_as('ev_reader', 'LISTEN session_events')$$,
				'a member of session_reader can LISTEN session_events');
SELECT lives_ok($$SELECT pg_temp.run_as('ev_reader', 'SELECT count(*) FROM session.events_since(0, 10)')$$,
				'and read events');
-- anyone can NOTIFY the channel; the wake-up carries nothing a reader acts on
SELECT lives_ok($$SELECT pg_temp.run_as('ev_none', $q$SELECT pg_notify('session_events', '{"event":"terminate","id":1}')$q$)$$,
				'a PUBLIC role can still send a NOTIFY on the channel');
SELECT is_empty(format('SELECT * FROM session.events_since(%s, 1000) WHERE id <> %s', :ev1, :s9),
				'but it adds no event: a reader woken by it finds nothing new');
UNLISTEN *;

SELECT * FROM finish();
ROLLBACK;
