#!/usr/bin/env bash
# Doc-test of README.md: replays every psql session the README shows (a fenced block
# whose first line starts with the prompt "=> ") in a fresh database and compares the
# output with the README's text; fails when any of it differs. The convention and
# what is normalized are in test/doc/doctest.pl and the README's Development section.
#
# Runs against the server named by PGHOST / PGPORT / PGUSER (a superuser, the library
# preloaded, as in make test). It creates the database session_readme and drops it at
# the end (SESSION_TEST_KEEP=1 keeps it), with the roles the README's sessions create.
# The background worker never runs in that database: examples that need an expiry
# call session.expire_sessions().
set -euo pipefail

ROOT=${SESSION_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
README=${1:-README.md}
DB=session_readme
PG_BINDIR=${PG_BINDIR:-$( (${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config} --bindir) 2>/dev/null || echo /usr/lib/postgresql/15/bin)}
PATH=$PG_BINDIR:$PATH
# what the README's output assumes, whatever the caller's environment says
export PGTZ=UTC PGDATESTYLE='ISO, MDY' PGOPTIONS='-c lc_messages=C' PGAPPNAME=psql
unset PGDATABASE PGCLIENTENCODING

# The roles the sessions create (cluster-wide: dropped before and after).
roles=$(sed -n 's/^[=-]> *CREATE ROLE \([a-z_][a-z0-9_]*\).*/\1/p' "$README" | sort -u | paste -sd, -)

admin() {
	psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"
}

cleanup() {
	if [ "${SESSION_TEST_KEEP:-0}" = 1 ]; then
		echo "kept database $DB"
		return
	fi
	admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
	if [ -n "$roles" ]; then
		admin -c "DROP ROLE IF EXISTS $roles" >/dev/null 2>&1 || true
	fi
}

admin -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
if [ -n "$roles" ]; then
	admin -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS $roles" >/dev/null
fi
trap cleanup EXIT
admin -c "CREATE DATABASE $DB" >/dev/null
perl "$ROOT/test/doc/doctest.pl" "$README" "$DB"
