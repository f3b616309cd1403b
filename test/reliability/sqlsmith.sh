#!/usr/bin/env bash
# sqlsmith: a bounded run of the random SQL generator (Debian package
# sqlsmith) against a database with the extension, some open and ended
# sessions, and the user-context set; as a role that holds session_admin
# (so every function of the extension can be called) and may read the
# tables, with statement_timeout = 1s.  The queries' own errors are fine;
# the check fails on a backend crash (or a lost server).
# SQLSMITH_QUERIES (default 2000) and SQLSMITH_SEED (default 42) change it.
set -uo pipefail
# shellcheck source=test/reliability/lib.sh
source "$(dirname "$0")/lib.sh"

START=$(now_s)
QUERIES=${SQLSMITH_QUERIES:-2000}
SEED=${SQLSMITH_SEED:-42}
NAME=${SQLSMITH_NAME:-sqlsmith}
SMITH=session_smith
if ! command -v sqlsmith >/dev/null; then
	echo "$NAME: FAILED: the sqlsmith binary is missing (Debian package sqlsmith; test/scripts/deps.sh test)"
	exit 1
fi
check_begin "$NAME"
WORK=$(mktemp -d /tmp/session-sqlsmith.XXXXXX)
cleanup() {
	check_end
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS $SMITH" >/dev/null 2>&1
	[ "${SESSION_TEST_KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT

q >/dev/null <<SQL || die "setup failed"
SET client_min_messages = warning;
SELECT session.expire_sessions();
SELECT count(session.open_session(CASE WHEN g % 7 = 0 THEN NULL ELSE 'u' || g END, 'p' || (g % 3),
	('10.0.0.' || g)::inet, (ARRAY['browser', 'designer', 'ios', 'android', 'client'])[1 + g % 5],
	'c' || g, 'agent', 'n' || (g % 2), jsonb_build_object('g', g)))
FROM generate_series(1, 200) g;
SELECT count(session.open_clientless_session('svc' || g, 'p0')) FROM generate_series(1, 20) g;
SELECT count(session.heartbeat(id, id, ARRAY['home', 'p' || id])) FROM session_storage.sessions;
SELECT count(session.close_session(id, 'r' || (id % 4))) FROM session_storage.sessions WHERE id % 3 = 0;
DO \$\$ BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$SMITH') THEN
		CREATE ROLE $SMITH LOGIN;
	END IF;
END \$\$;
GRANT session_admin TO $SMITH;
GRANT SELECT ON ALL TABLES IN SCHEMA session TO $SMITH;
ALTER ROLE $SMITH IN DATABASE $CHECK_DB SET statement_timeout = '1s';
ALTER ROLE $SMITH IN DATABASE $CHECK_DB SET lock_timeout = '1s';
SQL

TARGET="dbname=$CHECK_DB user=$SMITH"
[ -n "${PGHOST:-}" ] && TARGET="$TARGET host=$PGHOST"
[ -n "${PGPORT:-}" ] && TARGET="$TARGET port=$PGPORT"
(cd "$WORK" && timeout --kill-after=10 300 sqlsmith --target="$TARGET" --seed="$SEED" \
	--max-queries="$QUERIES" --exclude-catalog --dump-all-queries --verbose \
	>"$WORK/queries.sql" 2>"$WORK/log")
RC=$?

RAN=$(awk '/^queries: / { n = $2 } END { print n + 0 }' "$WORK/log")
RATE=$(awk '/^error rate: / { r = $3 } END { print r }' "$WORK/log")
CALLS=$(grep -o 'session\.[a-z_]*(' "$WORK/queries.sql" | sort | uniq -c | sort -rn |
	awk '{ printf "%s%s %s", sep, $2, $1; sep = ", " }')

FAILED=0
CRASHES=$(crash_count)
if [ "$CRASHES" -gt 0 ]; then
	echo "$NAME: FAILED: $CRASHES backend crash(es); the queries are in $WORK/queries.sql"
	SESSION_TEST_KEEP=1
	FAILED=1
fi
if [ "$RC" -ne 0 ]; then
	echo "$NAME: sqlsmith exited $RC; last lines:"
	tail -n 15 "$WORK/log"
	if ! psql -X -q -d postgres -c 'SELECT 1' >/dev/null 2>&1; then
		echo "$NAME: FAILED: the server does not answer"
		FAILED=1
	fi
fi
if [ "$RAN" -eq 0 ]; then
	echo "$NAME: FAILED: sqlsmith ran no query"
	FAILED=1
fi
echo "$NAME: most frequent errors of the generated queries (expected):"
awk '/^queries: / { n = 0 } /^[0-9]+[[:space:]]+ERROR/ { e[n++] = $0 } END { for (i = 0; i < n; i++) print e[i] }' "$WORK/log" |
	sort -rn | head -n 8 | sed "s/^/$NAME:   /" | cut -c1-120
VIOLATIONS=$(invariants)
if [ -n "$VIOLATIONS" ]; then
	echo "$NAME: FAILED: invariants violated:"
	echo "$VIOLATIONS"
	FAILED=1
fi
echo "$NAME: calls of the extension's functions: ${CALLS:-none}"
echo "$NAME: $RAN queries (seed $SEED) on the session.* tables and views, error rate ${RATE:-?};" \
	"backend crashes: $CRASHES; invariants: ${VIOLATIONS:-hold}; $(elapsed "$START") s"
[ "$FAILED" -eq 0 ] && echo "$NAME: passed" || echo "$NAME: FAILED"
[ "$FAILED" -eq 0 ]
