-- Whole-value matching under every embedded option, and the fast paths
-- (exact value and prefix through the index, LIKE) against the regex engine
-- alone: for the issue's cases and for thousands of generated patterns,
-- get_session_info(pattern) must list exactly the usernames that
-- PostgreSQL's own ~ matches with the pattern anchored at both ends of the
-- value, a wrapper this file builds itself from the options and the body.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
BEGIN;
SELECT plan(22);

-- usernames: the issue's, newlines and spaces around them, cases, a few
-- multibyte ones, and every string of up to three characters of a small
-- alphabet (so that generated patterns find something to match)
CREATE TEMP TABLE names (u text PRIMARY KEY);
INSERT INTO names VALUES ('admin'), (E'admin\nx'), (E'evil\nadmin'), ('a'), ('ab'), ('a b'),
	(E'ad\nin'), ('adXin'), ('Admin'), ('ADMIN'), ('a.b'), ('a\b'), ('a%b'), ('a_b'), (E'a\tb'),
	('user12'), ('user123'), ('Émile'), ('émile'), ('日本'), ('Unauthenticated');
INSERT INTO names
SELECT DISTINCT x || coalesce(y, '') || coalesce(z, '')
FROM unnest(ARRAY['a', 'b', 'A', ' ', E'\n', '.']) x,
	 unnest(ARRAY[NULL, 'a', 'b', 'A', ' ', E'\n', '.']) y,
	 unnest(ARRAY[NULL, 'a', 'b', ' ', E'\n']) z
WHERE y IS NOT NULL OR z IS NULL
ON CONFLICT DO NOTHING;
SELECT count(session.open_session(u, 'regex_paths')) AS ignored FROM names \gset

-- The answer of the registry, and of the engine alone (NULL: an error; the
-- SQLSTATE must then be the same on both sides)
CREATE FUNCTION pg_temp.listed(p text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	RETURN coalesce((SELECT string_agg(username, '|' ORDER BY username COLLATE "C")
					 FROM session.get_session_info(p, 'regex_paths')), '');
EXCEPTION WHEN OTHERS THEN
	RETURN 'error ' || SQLSTATE;
END
$$;

-- opts: the embedded options (without parentheses), body: the rest.  Under
-- q the body is a literal string, compared as such.
CREATE FUNCTION pg_temp.engine(opts text, body text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	icase boolean := coalesce(substring(opts FROM '([ic])[^ic]*$') = 'i', false);
	expanded boolean := coalesce(substring(opts FROM '([xt])[^xt]*$') = 'x', false);
	wrapped text;
BEGIN
	IF strpos(opts, 'q') > 0 THEN
		RETURN coalesce((SELECT string_agg(u, '|' ORDER BY u COLLATE "C") FROM names
						 WHERE CASE WHEN icase THEN lower(u) = lower(body) ELSE u = body END), '');
	END IF;
	-- \A and \Z are the ends of the value under every option; a trailing
	-- comment of expanded syntax ends at the newline
	wrapped := CASE WHEN opts = '' THEN '' ELSE '(?' || opts || ')' END
		|| '\A(?:' || body || CASE WHEN expanded THEN E'\n' ELSE '' END || ')\Z';
	PERFORM '' ~ (CASE WHEN opts = '' THEN '' ELSE '(?' || opts || ')' END || body);
	RETURN coalesce((SELECT string_agg(u, '|' ORDER BY u COLLATE "C") FROM names WHERE u ~ wrapped), '');
EXCEPTION WHEN OTHERS THEN
	RETURN 'error ' || SQLSTATE;
END
$$;

-------------------------------------------------------------------------------
-- The issue's cases, with their answers
-------------------------------------------------------------------------------

SELECT is(pg_temp.listed('(?n)admin'), 'admin', '(?n)admin matches only admin, not the names with a newline');
SELECT is(pg_temp.listed('(?w)admin'), 'admin', '(?w)admin matches only admin');
SELECT is(pg_temp.listed('(?m)ad.in'), 'adXin|admin', '(?m)ad.in matches whole values only, and . no newline');
SELECT is(pg_temp.listed('(?p)ad.in'), 'adXin|admin', '(?p)ad.in: . matches no newline');
SELECT is(pg_temp.listed('(?s)ad.in'), E'ad\nin|adXin|admin', '(?s)ad.in: . matches a newline');
SELECT ok(pg_temp.listed('(?n)a.*') LIKE '%admin%' AND strpos(pg_temp.listed('(?n)a.*'), E'\n') = 0,
		  '(?n)a.* lists admin but no name with a newline');
SELECT is(pg_temp.listed('a\0'), '', E'a\\0 matches nothing (no value holds a NUL)');
SELECT is(pg_temp.listed('a\u0000'), '', E'a\\u0000 matches nothing');
SELECT is(pg_temp.listed('a\x00.*'), '', E'a\\x00.* matches nothing');
SELECT is(pg_temp.listed('(?xq)a b'), 'a b', '(?xq)a b is the literal a b, as PostgreSQL''s engine reads it');
SELECT is(pg_temp.listed('(?qx)a b'), 'a b', '(?qx)a b too');
SELECT is(pg_temp.listed('(?x)a b'), 'ab', '(?x)a b without q ignores the space');
SELECT is(pg_temp.listed('(?qi)A B'), 'A b|a b', '(?qi) is a case-insensitive literal');
SELECT is(pg_temp.listed('(?=x)a'), '', 'an exact value that a lookahead forbids matches nothing');
SELECT is(pg_temp.listed('a^b'), '', 'an exact value with ^ inside matches nothing');
SELECT is(pg_temp.listed('***=a b'), 'a b', 'the ***= director is a literal');

-------------------------------------------------------------------------------
-- Fixed and generated patterns: the registry against the engine
-------------------------------------------------------------------------------

CREATE TEMP TABLE cases (n serial, opts text, body text);

-- fixed bodies under every option set
INSERT INTO cases (opts, body)
SELECT o, b
FROM unnest(ARRAY['', 'n', 'w', 'm', 'p', 's', 'x', 'q', 'i', 'c', 't', 'xq', 'qx', 'nx', 'wi', 'pq', 'mx',
				  'ni', 'sx', 'tq', 'qi', 'xi', 'nwx', 'psq']) o,
	 unnest(ARRAY['admin', 'ad.in', 'a', 'a b', 'a.*', '.*', '.', 'a\0', 'a\u0000', 'a\x00', 'a\000',
				  'ab\0.*', 'a b # comment', 'a\nb', 'a\n.*', '.*\n.*', '^a', 'a$', 'a$\n', '^.*$',
				  'a|b', '(a|b)', 'a\.b', 'a\\b', 'a%b', 'a_b', '(?=a)a.*', '(a)\1', 'a\y', '\ma.*',
				  'user1.*', 'user12.', '[ab]', '[ab]*', 'a b.*', ' ', 'A', 'É.*', '日.', 'ad.in.*']) b;

-- generated: random options and bodies of literals, wildcards, classes,
-- groups, alternations, anchors, escapes (NULs and newlines among them)
SELECT setseed(0.1107) AS ignored \gset
CREATE FUNCTION pg_temp.gen_body(depth int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	atoms text[] := ARRAY['a', 'b', 'A', ' ', '.', '.*', 'a', 'b', '\.', '\n', '\0', '\u0000',
						  '[ab]', '[^a]', '^', '$', '\A', '\Z', '\s', '\w', '\y', '+', '*', '?', '{1,2}',
						  '%', '_', '\\', 'ad', 'min', '# c' || E'\n', E'\n', 'É', '(?=a)', '(?!b)', '\1'];
	body text := '';
BEGIN
	FOR i IN 1 .. 1 + floor(random() * 4)::int LOOP
		IF depth < 2 AND random() < 0.15 THEN
			body := body || '(' || pg_temp.gen_body(depth + 1)
				|| CASE WHEN random() < 0.4 THEN '|' || pg_temp.gen_body(depth + 1) ELSE '' END || ')';
		ELSE
			body := body || atoms[1 + floor(random() * array_length(atoms, 1))::int];
		END IF;
	END LOOP;
	RETURN body;
END
$$;
CREATE FUNCTION pg_temp.gen_opts() RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(string_agg(o, ''), '') FROM unnest(ARRAY['n', 'w', 'm', 'p', 's', 'x', 'q', 'i', 'c', 't']) o
	WHERE random() < 0.15
$$;
INSERT INTO cases (opts, body)
SELECT CASE WHEN random() < 0.4 THEN '' ELSE pg_temp.gen_opts() END, pg_temp.gen_body(0)
FROM generate_series(1, 3000);

CREATE TEMP TABLE answers AS
SELECT n, opts, body, CASE WHEN opts = '' THEN '' ELSE '(?' || opts || ')' END || body AS pattern,
	   pg_temp.listed(CASE WHEN opts = '' THEN '' ELSE '(?' || opts || ')' END || body) AS listed,
	   pg_temp.engine(opts, body) AS engine
FROM cases;

SELECT ok((SELECT count(*) FROM answers) >= 3900, 'thousands of patterns were compared');
SELECT ok((SELECT count(*) FROM answers WHERE engine NOT IN ('', 'error 2201B')) >= 1000,
		  'more than a thousand of them match something (agreement is not two empty lists)');
SELECT ok((SELECT count(*) FROM answers WHERE engine = '' AND body !~ '\\[0ux]') >= 100,
		  'and many match nothing');
SELECT ok((SELECT count(*) FROM answers WHERE body ~ '^[a-zA-Z ]+(\.\*)?$' AND opts = '') >= 50,
		  'many are literals or literal prefixes (the index and LIKE paths)');
SELECT ok((SELECT count(*) FROM answers WHERE opts <> '' AND engine NOT IN ('', 'error 2201B')) >= 500,
		  'many with embedded options match something');
SELECT is_empty($$SELECT format('%s: listed %s, engine %s', pattern, listed, engine) FROM answers
				  WHERE listed IS DISTINCT FROM engine AND NOT (listed LIKE 'error%' AND engine LIKE 'error%')
				  ORDER BY n$$,
				'every pattern lists exactly what the regex engine matches on the whole value');

SELECT * FROM finish();
ROLLBACK;
