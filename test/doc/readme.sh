#!/usr/bin/env bash
# Doc-test of README.md and of every page of doc/: replays every psql session they
# show (a fenced block whose first line starts with the prompt "=> ") and compares the
# output with the text; fails when any of it differs. The convention and what is
# normalized are in test/doc/doctest.pl and doc/development.md.
#
#   test/doc/readme.sh            README.md, then doc/*.md
#   test/doc/readme.sh FILE...    only these files
#
# Runs against the server named by PGHOST / PGPORT / PGUSER (a superuser, the library
# preloaded, as in make test). README.md runs in a fresh database, session_readme,
# where its Getting started creates the extension; each page of doc/ runs in a fresh
# database of its own, session_doc, where the extension is already created, so a page
# starts from an empty registry whatever the README did. The databases are dropped at
# the end (SESSION_TEST_KEEP=1 keeps the last one), with the roles the sessions
# create. The background worker never runs in them: examples that need an expiry
# call session.expire_sessions(). A page of doc/ may show no session at all; the
# README must show at least one.
set -euo pipefail

ROOT=${SESSION_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
if [ $# -gt 0 ]; then
	FILES=("$@")
else
	FILES=(README.md doc/*.md)
fi
PG_BINDIR=${PG_BINDIR:-$( (${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config} --bindir) 2>/dev/null || echo /usr/lib/postgresql/15/bin)}
PATH=$PG_BINDIR:$PATH
# what the output shown assumes, whatever the caller's environment says
export PGTZ=UTC PGDATESTYLE='ISO, MDY' PGOPTIONS='-c lc_messages=C' PGAPPNAME=psql
unset PGDATABASE PGCLIENTENCODING

# The roles the sessions create (cluster-wide: dropped before, between files and after).
roles=$(sed -n 's/^[=-]> *CREATE ROLE \([a-z_][a-z0-9_]*\).*/\1/p' "${FILES[@]}" | sort -u | paste -sd, -)
DB=

admin() {
	psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"
}

drop_all() {
	if [ -n "$DB" ]; then
		admin -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
	fi
	if [ -n "$roles" ]; then
		admin -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS $roles" >/dev/null
	fi
}

cleanup() {
	if [ "${SESSION_TEST_KEEP:-0}" = 1 ]; then
		echo "kept database $DB"
		return
	fi
	drop_all >/dev/null 2>&1 || true
}
trap cleanup EXIT

failed_files=()
for file in "${FILES[@]}"; do
	echo "== $file"
	DB=session_readme
	drop_all
	DB=session_doc
	drop_all
	if [ "$file" = README.md ]; then
		DB=session_readme
		admin -c "CREATE DATABASE $DB" >/dev/null
		perl "$ROOT/test/doc/doctest.pl" "$file" "$DB" || failed_files+=("$file")
	else
		admin -c "CREATE DATABASE $DB" >/dev/null
		psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "CREATE EXTENSION session" >/dev/null
		perl "$ROOT/test/doc/doctest.pl" --may-have-none "$file" "$DB" || failed_files+=("$file")
	fi
done
if [ ${#failed_files[@]} -gt 0 ]; then
	echo "doc-test failed in: ${failed_files[*]}"
	exit 1
fi
echo "doc-test: ${#FILES[@]} files, every psql session as shown"
