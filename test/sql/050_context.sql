-- The user context: set/get/reset, its scopes (session, is_local, savepoints,
-- RESET ALL, DISCARD ALL), attach_session, protection against forging, a
-- row-level security policy that uses it, and session.connections.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;

-------------------------------------------------------------------------------
-- Part 1, outside a transaction block: values are captured into psql
-- variables here and checked below (pgTAP runs inside the transaction).
-------------------------------------------------------------------------------

SELECT session.get_user_context() IS NULL AS p_unset_null \gset
SELECT session.set_user_context('sam') IS NULL AS p_first_prev_null \gset
-- a session-level value outlives the statement's transaction
SELECT coalesce(session.get_user_context(), '<null>') AS p_next_stmt \gset
-- is_local outside a transaction block lasts for that one statement, and
-- warns as SET LOCAL does (SQLSTATE 25P01, shown by VERBOSITY sqlstate)
\set VERBOSITY sqlstate
SELECT coalesce(session.set_user_context('lou', true), '<null>') AS p_local_prev \gset
SELECT coalesce(session.get_user_context(), '<null>') AS p_after_local_stmt \gset
SELECT session.open_session('warn', 'ctx_project') AS p_warn_sid \gset
SELECT session.attach_session(:p_warn_sid, true) AS ignored \gset
SELECT coalesce(session.get_user_context(), '<null>') AS p_after_local_attach \gset
SELECT session.close_session(:p_warn_sid) AS ignored \gset
\set VERBOSITY default
-- is_local in an explicit transaction lasts until COMMIT
BEGIN;
SELECT session.set_user_context('lou', true) AS ignored \gset
SELECT coalesce(session.get_user_context(), '<null>') AS p_local_in_tx \gset
COMMIT;
SELECT coalesce(session.get_user_context(), '<null>') AS p_after_local_commit \gset
-- a session-level value set in a rolled-back transaction is undone
BEGIN;
SELECT session.set_user_context('ann') AS ignored \gset
ROLLBACK;
SELECT coalesce(session.get_user_context(), '<null>') AS p_after_rollback \gset
-- and kept when the transaction commits
BEGIN;
SELECT session.set_user_context('ann') AS ignored \gset
COMMIT;
SELECT coalesce(session.get_user_context(), '<null>') AS p_after_commit \gset
SELECT coalesce((SELECT user_context FROM session.connections WHERE pid = pg_backend_pid()), '<null>') AS p_conn_before_discard \gset
-- DISCARD ALL cannot run in a transaction block, so it is tested here
DISCARD ALL;
SELECT session.get_user_context() IS NULL AND session.current_session_id() IS NULL AS p_discard_null \gset
SELECT (SELECT user_context IS NULL AND session_id IS NULL FROM session.connections WHERE pid = pg_backend_pid()) AS p_conn_after_discard \gset
SET client_min_messages = warning;

-------------------------------------------------------------------------------
-- Part 2: the pgTAP transaction
-------------------------------------------------------------------------------

BEGIN;
SELECT plan(123);

SELECT ok(:'p_unset_null'::boolean, 'get_user_context() is NULL when never set');
SELECT ok(:'p_first_prev_null'::boolean, 'the first set_user_context returns NULL (no previous context)');
SELECT is(:'p_next_stmt'::text, 'sam', 'a session-level context persists into the next statement');
SELECT is(:'p_local_prev'::text, 'sam', 'set_user_context(is_local => true) returns the previous context');
SELECT is(:'p_after_local_stmt'::text, 'sam', 'is_local outside a transaction block ends with its statement');
SELECT is(:'p_after_local_attach'::text, 'sam', 'attach_session(is_local => true) outside a transaction block ends with its statement');
SELECT is(:'p_local_in_tx'::text, 'lou', 'is_local applies inside the transaction');
SELECT is(:'p_after_local_commit'::text, 'sam', 'is_local ends at COMMIT and the session value comes back');
SELECT is(:'p_after_rollback'::text, 'sam', 'a session-level set in a rolled-back transaction is undone');
SELECT is(:'p_after_commit'::text, 'ann', 'a session-level set in a committed transaction is kept');
SELECT is(:'p_conn_before_discard'::text, 'ann', 'session.connections shows this backend''s context');
SELECT ok(:'p_discard_null'::boolean, 'DISCARD ALL clears the context');
SELECT ok(:'p_conn_after_discard'::boolean, 'after DISCARD ALL session.connections shows no context for this backend');

-------------------------------------------------------------------------------
-- Function properties
-------------------------------------------------------------------------------

SELECT is((SELECT provolatile::text || proparallel::text FROM pg_proc
		   WHERE oid = 'session.get_user_context()'::regprocedure),
		  'ss', 'get_user_context() is STABLE and PARALLEL SAFE');
SELECT is((SELECT provolatile::text || proparallel::text FROM pg_proc
		   WHERE oid = 'session.current_session_id()'::regprocedure),
		  'ss', 'current_session_id() is STABLE and PARALLEL SAFE');

-------------------------------------------------------------------------------
-- set / get / reset
-------------------------------------------------------------------------------

SELECT is(session.get_user_context(), NULL, 'the context starts unset in this transaction');
SELECT is(session.set_user_context('alice'), NULL, 'set_user_context returns NULL when there was none');
SELECT is(session.get_user_context(), 'alice', 'get_user_context returns the value set');
SELECT is(session.set_user_context('bob'), 'alice', 'set_user_context returns the previous context');
SELECT is(session.get_user_context(), 'bob', 'the new context replaces the old one');
SELECT is(session.set_user_context(NULL), 'bob', 'set_user_context(NULL) returns the previous context');
SELECT is(session.get_user_context(), NULL, 'set_user_context(NULL) clears the context');

SELECT session.set_user_context('alice') AS ignored \gset
SELECT throws_ok($$SELECT session.set_user_context('')$$, '22023', NULL,
				 'set_user_context('''') is refused with 22023');
SELECT throws_ok($$SELECT session.set_user_context(repeat('x', 257))$$, '22001', NULL,
				 'a context of 257 characters is refused with 22001');
SELECT throws_ok($$SELECT session.set_user_context(repeat(chr(233), 257))$$, '22001', NULL,
				 'the limit counts characters (257 non-ASCII characters are refused)');
SELECT throws_ok($$SELECT session.set_user_context('x', NULL)$$, '22004', NULL,
				 'is_local NULL is refused with 22004');
SELECT is(session.get_user_context(), 'alice', 'refused calls leave the context unchanged');
SELECT is(session.set_user_context(repeat(chr(233), 256)), 'alice', 'a context of 256 characters is accepted');
SELECT is(session.get_user_context(), repeat(chr(233), 256), 'and is returned whole');
SELECT is(session.set_user_context(repeat('x', 256)), repeat(chr(233), 256), '256 ASCII characters are accepted');

SELECT session.set_user_context('carl') AS ignored \gset
SELECT lives_ok($$SELECT session.reset_user_context()$$, 'reset_user_context() runs');
SELECT is(session.get_user_context(), NULL, 'reset_user_context() clears the context');

-- RESET ALL (in a transaction block too)
SELECT session.set_user_context('rita') AS ignored \gset
RESET ALL;
SET client_min_messages = warning;
SELECT is(session.get_user_context(), NULL, 'RESET ALL clears the context');

-- clearing is forging too: only the functions may set either setting, to any value
SELECT session.set_user_context('emma') AS ignored \gset
SELECT throws_ok($$SET session.user_context = ''$$, '42501', NULL,
				 'SET session.user_context = '''' is refused with 42501');
SELECT throws_ok($$SET session.session_id = ''$$, '42501', NULL,
				 'SET session.session_id = '''' is refused with 42501');
SELECT throws_ok($$SELECT set_config('session.user_context', '', false)$$, '42501', NULL,
				 'set_config(session.user_context, '''', false) is refused with 42501');
SELECT throws_ok($$SELECT set_config('session.session_id', '', true)$$, '42501', NULL,
				 'set_config(session.session_id, '''', true) is refused with 42501');
SELECT throws_ok($$ALTER ROLE CURRENT_USER SET session.user_context = ''$$, '42501', NULL,
				 'ALTER ROLE ... SET session.user_context = '''' is refused with 42501');
SELECT throws_ok(format('ALTER DATABASE %I SET session.session_id = %L', current_database(), ''),
				 '42501', NULL, 'ALTER DATABASE ... SET session.session_id = '''' is refused with 42501');
SELECT is(session.get_user_context(), 'emma', 'the refused clears left the context alone');

-------------------------------------------------------------------------------
-- Scopes inside the transaction: savepoints
-- (pgTAP records its results in tables, so nothing is asserted between a
-- SAVEPOINT and its ROLLBACK TO; values are captured and checked after)
-------------------------------------------------------------------------------

SELECT session.set_user_context('bob') AS ignored \gset

SAVEPOINT sp1;
SELECT session.set_user_context('carol', true) AS sp1_prev \gset
SELECT session.get_user_context() AS sp1_inside \gset
ROLLBACK TO SAVEPOINT sp1;
SELECT is(:'sp1_prev'::text, 'bob', 'is_local in a savepoint returns the previous context');
SELECT is(:'sp1_inside'::text, 'carol', 'is_local in a savepoint applies there');
SELECT is(session.get_user_context(), 'bob', 'ROLLBACK TO SAVEPOINT restores the context set before it (is_local)');

SAVEPOINT sp2;
SELECT session.set_user_context('dave') AS ignored \gset
SELECT session.get_user_context() AS sp2_inside \gset
ROLLBACK TO SAVEPOINT sp2;
SELECT is(:'sp2_inside'::text, 'dave', 'a session-level set in a savepoint applies there');
SELECT is(session.get_user_context(), 'bob', 'ROLLBACK TO SAVEPOINT undoes a session-level set too');

SAVEPOINT sp3;
SELECT session.set_user_context('erin', true) AS ignored \gset
RELEASE SAVEPOINT sp3;
SELECT is(session.get_user_context(), 'erin', 'a released savepoint keeps its is_local value for the rest of the transaction');

SAVEPOINT sp4;
SELECT session.set_user_context('fred') AS ignored \gset
SAVEPOINT sp5;
SELECT session.set_user_context('gina', true) AS ignored \gset
SELECT session.get_user_context() AS sp5_inside \gset
ROLLBACK TO SAVEPOINT sp5;
SELECT session.get_user_context() AS sp4_inside \gset
ROLLBACK TO SAVEPOINT sp4;
SELECT is(:'sp5_inside'::text, 'gina', 'nested savepoint: the inner value applies');
SELECT is(:'sp4_inside'::text, 'fred', 'rolling back the inner savepoint restores the outer savepoint''s value');
SELECT is(session.get_user_context(), 'erin', 'rolling back the outer savepoint restores the value before both');

-- the value is read afresh by a plpgsql function that keeps its expression state
CREATE FUNCTION pg_temp.ctx_twice() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	a text;
	b text;
BEGIN
	PERFORM session.set_user_context('one');
	a := session.get_user_context();
	PERFORM session.set_user_context('two');
	b := session.get_user_context();
	PERFORM session.set_user_context(NULL);
	RETURN a || ',' || b || ',' || coalesce(session.get_user_context(), '<null>');
END
$$;
SELECT is(pg_temp.ctx_twice(), 'one,two,<null>', 'get_user_context follows changes within one function');
SELECT is(pg_temp.ctx_twice(), 'one,two,<null>', 'and again on a second call');

-- the answer, NULL included, is cached per call site and checked against a
-- generation number: the one call site of ctx_now (its expression state is
-- kept for the transaction) must follow every change of the pair: set,
-- clear, RESET of one setting, and the restore at a subtransaction's rollback
CREATE FUNCTION pg_temp.ctx_now() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	RETURN coalesce(session.get_user_context(), '<null>');
END
$$;
CREATE FUNCTION pg_temp.ctx_steps() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	seen text := pg_temp.ctx_now();
BEGIN
	PERFORM session.set_user_context('p');
	seen := seen || ',' || pg_temp.ctx_now();
	PERFORM session.set_user_context(NULL);
	seen := seen || ',' || pg_temp.ctx_now();
	PERFORM session.set_user_context('q');
	seen := seen || ',' || pg_temp.ctx_now();
	RESET session.session_id;
	seen := seen || ',' || pg_temp.ctx_now();
	PERFORM session.set_user_context('r');
	BEGIN
		PERFORM session.set_user_context('s');
		seen := seen || ',' || pg_temp.ctx_now();
		RAISE EXCEPTION 'undo';
	EXCEPTION WHEN raise_exception THEN
		seen := seen || ',' || pg_temp.ctx_now();
	END;
	PERFORM session.reset_user_context();
	RETURN seen || ',' || pg_temp.ctx_now();
END
$$;
SELECT is(pg_temp.ctx_steps(), '<null>,p,<null>,q,<null>,s,r,<null>',
		  'one call site follows every change: set, clear, a lone RESET, a subtransaction rollback');

-------------------------------------------------------------------------------
-- Forging: SET, set_config, ALTER ROLE/DATABASE SET, function SET clauses
-------------------------------------------------------------------------------

SELECT session.set_user_context('alice') AS ignored \gset

SELECT throws_ok($$SET session.user_context = 'mallory'$$, '42501', NULL,
				 'SET session.user_context is refused with 42501');
SELECT throws_ok($$SET LOCAL session.user_context = 'mallory'$$, '42501', NULL,
				 'SET LOCAL session.user_context is refused with 42501');
SELECT throws_ok($$SELECT set_config('session.user_context', 'mallory', false)$$, '42501', NULL,
				 'set_config(session.user_context, ..., false) is refused with 42501');
SELECT throws_ok($$SELECT set_config('session.user_context', 'mallory', true)$$, '42501', NULL,
				 'set_config(session.user_context, ..., true) is refused with 42501');
SELECT throws_ok($$ALTER ROLE CURRENT_USER SET session.user_context = 'mallory'$$, '42501', NULL,
				 'ALTER ROLE ... SET session.user_context is refused with 42501');
SELECT throws_ok(format('ALTER ROLE CURRENT_USER IN DATABASE %I SET session.user_context = %L', current_database(), 'mallory'),
				 '42501', NULL, 'ALTER ROLE ... IN DATABASE ... SET session.user_context is refused with 42501');
SELECT throws_ok(format('ALTER DATABASE %I SET session.user_context = %L', current_database(), 'mallory'),
				 '42501', NULL, 'ALTER DATABASE ... SET session.user_context is refused with 42501');
SELECT throws_ok($$CREATE FUNCTION pg_temp.forge_ctx() RETURNS text LANGUAGE sql
				   SET session.user_context = 'mallory' AS 'SELECT session.get_user_context()'$$,
				 '42501', NULL, 'CREATE FUNCTION ... SET session.user_context is refused with 42501');
SELECT is(session.get_user_context(), 'alice', 'the context is unchanged after the forging attempts');

SELECT throws_ok($$SET session.session_id = '42'$$, '42501', NULL,
				 'SET session.session_id is refused with 42501');
SELECT throws_ok($$SET LOCAL session.session_id = '42'$$, '42501', NULL,
				 'SET LOCAL session.session_id is refused with 42501');
SELECT throws_ok($$SELECT set_config('session.session_id', '42', false)$$, '42501', NULL,
				 'set_config(session.session_id, ..., false) is refused with 42501');
SELECT throws_ok($$SELECT set_config('session.session_id', '42', true)$$, '42501', NULL,
				 'set_config(session.session_id, ..., true) is refused with 42501');
SELECT throws_ok($$ALTER ROLE CURRENT_USER SET session.session_id = '42'$$, '42501', NULL,
				 'ALTER ROLE ... SET session.session_id is refused with 42501');
SELECT throws_ok(format('ALTER DATABASE %I SET session.session_id = %L', current_database(), '42'),
				 '42501', NULL, 'ALTER DATABASE ... SET session.session_id is refused with 42501');
SELECT throws_ok($$CREATE FUNCTION pg_temp.forge_sid() RETURNS bigint LANGUAGE sql
				   SET session.session_id = '42' AS 'SELECT session.current_session_id()'$$,
				 '42501', NULL, 'CREATE FUNCTION ... SET session.session_id is refused with 42501');

CREATE FUNCTION pg_temp.plain() RETURNS int LANGUAGE sql AS 'SELECT 1';
SELECT throws_ok($$ALTER FUNCTION pg_temp.plain() SET session.user_context = 'mallory'$$, '42501', NULL,
				 'ALTER FUNCTION ... SET session.user_context is refused with 42501');

SELECT is(session.current_session_id(), NULL, 'current_session_id() is unchanged (NULL) after the forging attempts');
SELECT is(session.get_user_context(), 'alice', 'the context is still unchanged');
SELECT is((SELECT count(*)::int FROM pg_db_role_setting s, unnest(s.setconfig) c
		   WHERE c LIKE 'session.user\_context=%' OR c LIKE 'session.session\_id=%'),
		  0, 'no ALTER ROLE/DATABASE setting of session.* was stored');

-------------------------------------------------------------------------------
-- attach_session
-------------------------------------------------------------------------------

SELECT session.open_session('alice', 'ctx_project') AS s_alice \gset
SELECT session.open_session(NULL, 'ctx_project') AS s_unauth \gset
SELECT session.open_session('bob', 'ctx_project') AS s_closed \gset
SELECT session.close_session(:s_closed) AS ignored \gset
SELECT coalesce(max(id), 0) + 1000000 AS s_unknown FROM
	(SELECT id FROM session_storage.sessions UNION ALL SELECT id FROM session_storage.ended_sessions) AS x \gset

SELECT session.set_user_context('zed') AS ignored \gset
SELECT is(session.attach_session(:s_alice), 'zed', 'attach_session returns the previous context');
SELECT is(session.get_user_context(), 'alice', 'attaching an open session sets the context to its username');
SELECT is(session.current_session_id(), :s_alice::bigint, 'current_session_id() is the attached session');
SELECT is((SELECT user_context FROM session.connections WHERE pid = pg_backend_pid()), 'alice',
		  'session.connections shows this backend''s context');
SELECT is((SELECT session_id FROM session.connections WHERE pid = pg_backend_pid()), :s_alice::bigint,
		  'session.connections shows this backend''s attached session');
SELECT is((SELECT count(*)::int FROM session.connections WHERE pid = pg_backend_pid()), 1,
		  'session.connections has exactly one row for this backend');
SELECT is((SELECT user_context || ':' || session_id FROM session.backend_contexts() WHERE pid = pg_backend_pid()),
		  'alice:' || :s_alice, 'session.backend_contexts() has this backend''s context and session');

SELECT is(session.attach_session(:s_unauth), 'alice', 'attaching another session returns the previous context');
SELECT is(session.get_user_context(), NULL, 'attaching an unauthenticated session leaves the context NULL');
SELECT is(session.current_session_id(), :s_unauth::bigint, 'current_session_id() is the unauthenticated session');
SELECT ok((SELECT user_context IS NULL AND session_id = :s_unauth FROM session.connections WHERE pid = pg_backend_pid()),
		  'session.connections shows no user but the attached unauthenticated session');

SELECT throws_ok(format('SELECT session.attach_session(%s)', :s_closed), 'SE404', NULL,
				 'attaching an ended session raises SE404');
SELECT throws_ok(format('SELECT session.attach_session(%s)', :s_unknown), 'SE404', NULL,
				 'attaching an unknown id raises SE404');
SELECT throws_ok($$SELECT session.attach_session(NULL)$$, '22004', NULL,
				 'attach_session(NULL) raises 22004');
SELECT throws_ok(format('SELECT session.attach_session(%s, NULL)', :s_alice), '22004', NULL,
				 'attach_session(id, NULL) raises 22004');
SELECT is(session.current_session_id(), :s_unauth::bigint, 'failed attaches leave the attached session unchanged');

SELECT is(session.set_user_context('yan'), NULL, 'set_user_context after attaching returns the previous (NULL) context');
SELECT is(session.current_session_id(), NULL, 'set_user_context detaches the session');
SELECT is(session.get_user_context(), 'yan', 'and sets the new context');
SELECT ok((SELECT user_context = 'yan' AND session_id IS NULL FROM session.connections WHERE pid = pg_backend_pid()),
		  'session.connections follows the detach');

SELECT session.attach_session(:s_alice) AS ignored \gset
SELECT session.reset_user_context() AS ignored \gset
SELECT ok(session.get_user_context() IS NULL AND session.current_session_id() IS NULL,
		  'reset_user_context() clears both the context and the attached session');
SELECT ok((SELECT user_context IS NULL AND session_id IS NULL FROM session.connections WHERE pid = pg_backend_pid()),
		  'session.connections shows neither after reset_user_context()');
SELECT ok(NOT EXISTS (SELECT FROM session.backend_contexts() WHERE pid = pg_backend_pid()),
		  'session.backend_contexts() drops a backend with neither');

SELECT session.attach_session(:s_alice) AS ignored \gset
RESET ALL;
SET client_min_messages = warning;
SELECT ok(session.get_user_context() IS NULL AND session.current_session_id() IS NULL,
		  'RESET ALL clears the attached session too');

-- resetting one setting alone clears both: never a context without its
-- session, nor a session without its context
SELECT session.attach_session(:s_alice) AS ignored \gset
RESET session.session_id;
SELECT ok(session.get_user_context() IS NULL AND session.current_session_id() IS NULL,
		  'RESET session.session_id clears the context too');
SELECT ok(NOT EXISTS (SELECT FROM session.backend_contexts() WHERE pid = pg_backend_pid()),
		  'and session.connections shows neither');
SELECT session.attach_session(:s_alice) AS ignored \gset
RESET session.user_context;
SELECT ok(session.get_user_context() IS NULL AND session.current_session_id() IS NULL,
		  'RESET session.user_context detaches the session too');
SELECT session.attach_session(:s_alice) AS ignored \gset
SET session.session_id TO DEFAULT;
SELECT ok(session.get_user_context() IS NULL AND session.current_session_id() IS NULL,
		  'SET session.session_id TO DEFAULT clears both');
SELECT session.attach_session(:s_alice) AS ignored \gset
SET session.user_context TO DEFAULT;
SELECT ok(session.get_user_context() IS NULL AND session.current_session_id() IS NULL,
		  'SET session.user_context TO DEFAULT clears both');
SELECT session.attach_session(:s_alice) AS ignored \gset
SELECT set_config('session.session_id', NULL, false) AS ignored \gset
SELECT ok(session.get_user_context() IS NULL AND session.current_session_id() IS NULL,
		  'set_config(session.session_id, NULL, false) clears both');
SELECT session.attach_session(:s_alice) AS ignored \gset
SELECT set_config('session.user_context', NULL, true) AS ignored \gset
SELECT ok(session.get_user_context() IS NULL AND session.current_session_id() IS NULL,
		  'set_config(session.user_context, NULL, true) clears both');
SELECT session.set_user_context('kurt') AS ignored \gset
RESET session.session_id;
SELECT is(session.get_user_context(), NULL, 'RESET session.session_id clears a context set without a session');
SELECT session.attach_session(:s_unauth) AS ignored \gset
RESET session.user_context;
SELECT is(session.current_session_id(), :s_unauth::bigint,
		  'an attached unauthenticated session has no context to lose: RESET session.user_context keeps it');
SELECT session.set_user_context('lena') AS ignored \gset
SAVEPOINT sp_reset;
RESET session.session_id;
SELECT coalesce(session.get_user_context(), '<null>') AS sp_reset_inside \gset
ROLLBACK TO SAVEPOINT sp_reset;
SELECT is(:'sp_reset_inside'::text, '<null>', 'a lone RESET in a savepoint clears both there');
SELECT is(session.get_user_context(), 'lena', 'rolling the savepoint back restores the pair');
SELECT session.reset_user_context() AS ignored \gset

-- attach with is_local, in a savepoint
SELECT session.set_user_context('hank') AS ignored \gset
SAVEPOINT sp6;
SELECT session.attach_session(:s_alice, true) AS sp6_prev \gset
SELECT session.get_user_context() || ':' || session.current_session_id() AS sp6_inside \gset
ROLLBACK TO SAVEPOINT sp6;
SELECT is(:'sp6_prev'::text, 'hank', 'attach_session(is_local => true) returns the previous context');
SELECT is(:'sp6_inside'::text, 'alice:' || :s_alice, 'attach_session(is_local => true) applies in its scope');
SELECT ok(session.get_user_context() = 'hank' AND session.current_session_id() IS NULL,
		  'rolling back the savepoint restores the context and the detached state');
SELECT is((SELECT user_context FROM session.connections WHERE pid = pg_backend_pid()), 'hank',
		  'session.connections follows the savepoint rollback');

-- a session-level attach inside a savepoint that is rolled back
SAVEPOINT sp7;
SELECT session.attach_session(:s_alice) AS ignored \gset
ROLLBACK TO SAVEPOINT sp7;
SELECT ok(session.get_user_context() = 'hank' AND session.current_session_id() IS NULL,
		  'a session-level attach in a rolled-back savepoint is undone');

-- a close of the attached session is not blocked by this transaction's own lock
SELECT session.attach_session(:s_alice) AS ignored \gset
SELECT is(session.close_session(:s_alice), true, 'the attaching transaction can itself close the attached session');
SELECT session.reset_user_context() AS ignored \gset

-------------------------------------------------------------------------------
-- Row-level security with the context
-------------------------------------------------------------------------------

CREATE ROLE app_user NOLOGIN IN ROLE session_app;
CREATE TABLE public.docs (owner text, body text);
INSERT INTO public.docs VALUES ('alice', 'a1'), ('alice', 'a2'), ('bob', 'b1'), (NULL, 'nobody');
ALTER TABLE public.docs ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.docs FORCE ROW LEVEL SECURITY;
CREATE POLICY docs_owner ON public.docs USING (owner = session.get_user_context());
GRANT SELECT ON public.docs TO app_user;
SELECT session.open_session('alice', 'ctx_project') AS s_alice2 \gset

-- pg_temp.as_role(r, q): runs q as role r and returns its single text result
\i test/sql/include/as_role.sql

SELECT pg_temp.as_role('app_user', $$SELECT session.set_user_context('alice')$$) AS ignored \gset
SELECT is(pg_temp.as_role('app_user', $$SELECT string_agg(body, ',' ORDER BY body) FROM public.docs$$),
		  'a1,a2', 'with context alice the application role sees exactly alice''s rows');
SELECT pg_temp.as_role('app_user', $$SELECT session.set_user_context('bob')$$) AS ignored \gset
SELECT is(pg_temp.as_role('app_user', $$SELECT string_agg(body, ',' ORDER BY body) FROM public.docs$$),
		  'b1', 'switching the context switches the rows');
SELECT pg_temp.as_role('app_user', $$SELECT session.set_user_context(NULL)$$) AS ignored \gset
SELECT is(pg_temp.as_role('app_user', $$SELECT count(*)::text FROM public.docs$$),
		  '0', 'with no context no row is visible');
SELECT pg_temp.as_role('app_user', format('SELECT session.attach_session(%s)', :s_alice2)) AS ignored \gset
SELECT is(pg_temp.as_role('app_user', $$SELECT string_agg(body, ',' ORDER BY body) FROM public.docs$$),
		  'a1,a2', 'attaching alice''s session shows alice''s rows');
SELECT pg_temp.as_role('app_user', format('SELECT session.attach_session(%s)', :s_unauth)) AS ignored \gset
SELECT is(pg_temp.as_role('app_user', $$SELECT count(*)::text FROM public.docs$$),
		  '0', 'attaching an unauthenticated session shows no rows');
SELECT pg_temp.as_role('app_user', $$SELECT session.set_user_context('alice')$$) AS ignored \gset
SELECT throws_ok($$SELECT pg_temp.as_role('app_user', 'SELECT set_config(''session.user_context'', ''bob'', false)')$$,
				 '42501', NULL, 'the application role cannot forge the context with set_config');
SELECT throws_ok($$SELECT pg_temp.as_role('app_user', 'SELECT session.backend_contexts()')$$,
				 '42501', NULL, 'the application role cannot read other connections'' contexts');
SELECT is(pg_temp.as_role('app_user', $$SELECT string_agg(body, ',' ORDER BY body) FROM public.docs$$),
		  'a1,a2', 'after the refused forging the rows are still alice''s');
SELECT pg_temp.as_role('app_user', $$SELECT session.set_user_context('bob', true)$$) AS ignored \gset
SELECT is(pg_temp.as_role('app_user', $$SELECT string_agg(body, ',' ORDER BY body) FROM public.docs$$),
		  'b1', 'an is_local context applies to the policy as well');
SELECT is(pg_temp.as_role('app_user', $$SELECT count(*)::text FROM public.docs WHERE owner IS NULL$$),
		  '0', 'rows without an owner are never visible');
SELECT pg_temp.as_role('app_user', $$SELECT session.reset_user_context()::text$$) AS ignored \gset

SELECT * FROM finish();
ROLLBACK;
