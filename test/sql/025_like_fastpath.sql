-- Patterns made of literals, "." and ".*" are evaluated as LIKE; every other
-- pattern by the regex engine.  A leading (?c) (case-sensitive, the default)
-- means the same but forces the regex engine: both must list the same rows.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
BEGIN;
SELECT plan(26);
DELETE FROM session_storage.sessions;
SELECT session.open_session(u, 'P') FROM unnest(ARRAY[
	'billy', 'bilby', 'bill.smith', 'billxsmith', 'b_lly', 'b%lly', 'user99', 'user199',
	'user12', 'user120', 'a\b', E'line\nbreak', 'Émile', 'émile', '日本語', 'x', ''::text]) u
WHERE u <> '' \g /dev/null

CREATE TEMP TABLE pats (p text);
INSERT INTO pats VALUES ('bi.*'), ('.*99'), ('bi.ly'), ('bill\.smith'), ('b\_lly'), ('b_lly'),
	('b\%lly'), ('b%lly'), ('.*'), ('.'), ('a\\b'), ('line.break'), ('.mile'), ('日.語'),
	('user12.*'), ('.*smith'), ('..'), ('user1.9');

SELECT is(
	(SELECT array_agg(id ORDER BY id) FROM session.get_session_info(p)),
	(SELECT array_agg(id ORDER BY id) FROM session.get_session_info('(?c)' || p)),
	format('LIKE path and regex path agree on %s', p))
FROM pats ORDER BY p;

-- and the answers themselves (so agreement cannot be two empty lists)
SELECT is((SELECT count(*) FROM session.get_session_info('bi.*')), 4::bigint, 'bi.* finds the four bi names');
SELECT is((SELECT count(*) FROM session.get_session_info('.*99')), 2::bigint, '.*99 finds user99 and user199');
SELECT is((SELECT array_agg(username) FROM session.get_session_info('b_lly')), ARRAY['b_lly'], 'an underscore is literal, not LIKE''s wildcard');
SELECT is((SELECT array_agg(username) FROM session.get_session_info('b%lly')), ARRAY['b%lly'], 'a percent sign is literal, not LIKE''s wildcard');
SELECT is((SELECT array_agg(username) FROM session.get_session_info('a\\b')), ARRAY['a\b'], 'an escaped backslash is one literal backslash');
SELECT is((SELECT count(*) FROM session.get_session_info('.')), 1::bigint, '. is exactly one character');
SELECT is((SELECT count(*) FROM session.get_session_info('line.break')), 1::bigint, '. matches a newline, as in the regex engine');
SELECT is((SELECT count(*) FROM session.get_session_info('.mile')), 2::bigint, '. matches one multibyte character');

SELECT * FROM finish();
ROLLBACK;
