#!/usr/bin/env bash
# Hostile input: every function of the extension called with NULLs, empty
# strings, texts at and just over each limit, odd Unicode, huge and negative
# ids and byte counts, huge arrays, malformed JSON, SQL injection strings,
# invalid and catastrophic regular expressions (cancelled by
# statement_timeout), and each role's privileges.  The cases are in test/reliability/hostile_cases.sql.
#
# Each call runs as its own statement; it passes when it ends with the
# expected SQLSTATE (or succeeds with the expected value) and, when it fails,
# changed nothing: the rows of both tables, the id sequence and the user
# context are the same before and after.  Afterwards: no backend crash, the
# invariants of the tables hold.  Ends with "hostile: N passed, M failed".
set -uo pipefail
# shellcheck source=test/reliability/lib.sh
source "$(dirname "$0")/lib.sh"

START=$(now_s)
check_begin hostile
WORK=$(mktemp -d /tmp/session-hostile.XXXXXX)
cleanup() {
	[ "${SESSION_TEST_KEEP:-0}" = 1 ] || rm -rf "$WORK"
	check_end
	psql -X -q -d postgres -c 'DROP ROLE IF EXISTS hostile_nobody, hostile_reader, hostile_app, hostile_admin' \
		>/dev/null 2>&1
}
trap cleanup EXIT

q -f "$HERE/hostile_cases.sql" >/dev/null || die "loading the cases failed"
q >/dev/null <<'SQL' || die "setup failed"
CREATE FUNCTION hostile_fp() RETURNS text LANGUAGE sql VOLATILE AS $$
	SELECT concat_ws('/',
		(SELECT count(*) || ':' || coalesce(sum(hashtext(s::text)), 0) FROM session_storage.sessions s),
		(SELECT count(*) || ':' || coalesce(sum(hashtext(e::text)), 0) FROM session_storage.ended_sessions e),
		(SELECT last_value FROM session_storage.sessions_id_seq),
		coalesce(session.get_user_context(), '<none>'),
		coalesce(session.current_session_id()::text, '<none>'))
$$;
CREATE TABLE hostile_results (n int, tbl text, state text, value text, nrows bigint,
							  written boolean, ms numeric);
-- the privilege cases run the same way under roles of their own
ALTER FUNCTION hostile_fp() SECURITY DEFINER SET search_path = pg_catalog, public;
GRANT INSERT ON hostile_results TO PUBLIC;
GRANT SELECT ON hostile_ids TO PUBLIC;
SET client_min_messages = warning;
DROP ROLE IF EXISTS hostile_nobody, hostile_reader, hostile_app, hostile_admin;
CREATE ROLE hostile_nobody;
CREATE ROLE hostile_reader IN ROLE session_reader;
CREATE ROLE hostile_app IN ROLE session_app;
CREATE ROLE hostile_admin IN ROLE session_admin;
SQL

# Writes the psql script that runs the cases of table $1, one statement each.
gen_script() {
	q -A -t -c "
	SELECT format(E'\\\\set r_v <no row>\\n\\\\set r_rows 0\\n'
				  'SELECT hostile_fp() AS fp, clock_timestamp() AS t0 \\\\gset\\n'
				  '%s'
				  '%s\\n'
				  '\\\\set st :SQLSTATE\\n'
				  'SELECT clock_timestamp() AS t1 \\\\gset\\n'
				  '%s'
				  'INSERT INTO hostile_results VALUES (%s, %L, :''st'', :''r_v'', :''r_rows'', '
				  'hostile_fp() IS DISTINCT FROM :''fp'', '
				  'round(extract(epoch FROM :''t1''::timestamptz - :''t0''::timestamptz) * 1000, 1));',
				  CASE WHEN timeout THEN E'SET statement_timeout = ''200ms'';\\n' ELSE '' END,
				  CASE WHEN sql ~* '^\\s*SELECT'
					   THEN 'SELECT count(*) AS rows, coalesce(min(j.v), ''<null>'') AS v FROM ('
							|| sql || ') AS x, LATERAL (SELECT value FROM jsonb_each_text(to_jsonb(x)) LIMIT 1) AS j(v) \\gset r_'
					   ELSE sql || ';' END,
				  CASE WHEN timeout THEN E'RESET statement_timeout;\\n' ELSE '' END,
				  n, '$1')
	FROM $1 ORDER BY n"
}

gen_script hostile_cases >"$WORK/cases.psql" || die "could not generate the script"
q -v ON_ERROR_STOP=0 -f "$WORK/cases.psql" >/dev/null 2>"$WORK/cases.err"

# Many rows for the slow regular expressions: 200 sessions on which a
# backtracking pattern takes seconds each, 20000 ordinary long names.
q >/dev/null <<'SQL' || die "loading the rows for the slow cases failed"
SELECT count(session.open_session(repeat('a', 251) || 'b', repeat('a', 251) || 'b'))
  FROM generate_series(1, 200);
SELECT count(session.open_session(repeat(CASE WHEN g % 2 = 0 THEN 'a' ELSE 'x' END, 240) || g, 'proj'))
  FROM generate_series(1, 20000) g;
SQL
gen_script hostile_slow_cases >"$WORK/slow.psql" || die "could not generate the script"
q -v ON_ERROR_STOP=0 -f "$WORK/slow.psql" >/dev/null 2>>"$WORK/cases.err"

VERDICT_SQL="
WITH c AS (
	SELECT n, 'hostile_cases' AS tbl, fn, input, expect FROM hostile_cases
	UNION ALL
	SELECT n, 'hostile_slow_cases', fn, input, expect FROM hostile_slow_cases),
v AS (
	SELECT c.*, r.state, r.value, r.written, r.ms,
		   r.state IS NOT NULL
		   AND EXISTS (SELECT FROM unnest(string_to_array(c.expect, '|')) a
					   WHERE (a = 'ok' AND r.state = '00000')
						  OR (a LIKE '=%' AND r.state = '00000' AND r.value = substr(a, 2))
						  OR (a !~ '^(ok|=)' AND r.state = a))
		   AND (r.state = '00000' OR NOT r.written) AS pass
	FROM c LEFT JOIN hostile_results r ON r.n = c.n AND r.tbl = c.tbl)"

echo "hostile: calls tried (expected: SQLSTATE, ok, or =value; written: tables, id sequence or user context changed)"
q -P pager=off -P footer=off -c "$VERDICT_SQL
SELECT row_number() OVER (ORDER BY tbl, n) AS \"#\", fn AS function, left(input, 60) AS input,
	   expect AS expected,
	   CASE WHEN state = '00000' THEN 'ok' ELSE coalesce(state, 'not run') END
	   || CASE WHEN state = '00000' AND expect ~ '=' THEN ' =' || left(value, 12) ELSE '' END AS got,
	   CASE WHEN written AND state <> '00000' THEN 'WRITTEN' ELSE '' END AS written,
	   ms, CASE WHEN pass THEN 'pass' ELSE 'FAIL' END AS result
FROM v ORDER BY tbl, n"

read -r PASSED FAILED < <(q -A -t -F ' ' -c "$VERDICT_SQL
	SELECT count(*) FILTER (WHERE pass), count(*) FILTER (WHERE NOT pass) FROM v")
NOT_RUN=$(q1 "SELECT count(*) FROM hostile_cases c WHERE NOT EXISTS
	(SELECT FROM hostile_results r WHERE r.n = c.n AND r.tbl = 'hostile_cases')")
if [ "${NOT_RUN:-0}" -gt 0 ]; then
	echo "hostile: $NOT_RUN cases did not run; psql said:"
	grep -v '^psql:.*ERROR:' "$WORK/cases.err" | head -20
fi

CRASHES=$(crash_count)
if [ "$CRASHES" -gt 0 ]; then
	echo "hostile: FAILED: $CRASHES backend crash(es) in the server log"
	FAILED=$((FAILED + 1))
fi
VIOLATIONS=$(invariants)
if [ -n "$VIOLATIONS" ]; then
	echo "hostile: FAILED: invariants violated:"
	echo "$VIOLATIONS"
	FAILED=$((FAILED + 1))
fi
echo "hostile: backend crashes: $CRASHES; invariants: ${VIOLATIONS:-hold}; $(elapsed "$START") s"
echo "hostile: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
