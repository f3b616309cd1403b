#!/usr/bin/env bash
# The old scripting API where gateway scripts run: clients/jython/session_compat.py
# under Debian's jython (2.7) with libpostgresql-jdbc-java, against the cluster named
# by PGHOST/PGPORT/PGUSER (a superuser; JDBC connects over TCP to 127.0.0.1:PGPORT when
# PGHOST is a socket directory), in a database of its own. Three JVMs, each started
# once (a JVM takes seconds to start):
#   1. clients/jython/tests/run_cases.py: the behaviour cases shared with the CPython
#      module (clients/python/tests/compat_cases.py) and the JVM's own ones, one
#      result per case;
#   2. clients/python/tests/old_gateway_script.py with only its import line changed,
#      importing the module from a zip on sys.path (one way the README installs it);
#   3. the Jython blocks of clients/jython/README.md, in order, as one script.
# Ends with the line
#   N passed, M failed
# Environment: SESSION_ROOT (the tree, default: this script's), SESSION_JDBC_JAR
# (default /usr/share/java/postgresql.jar), SESSION_JYTHON_JAR (default
# /usr/share/java/jython.jar).
set -uo pipefail

ROOT=${SESSION_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
JAR=${SESSION_JDBC_JAR:-/usr/share/java/postgresql.jar}
JYTHON_JAR=${SESSION_JYTHON_JAR:-/usr/share/java/jython.jar}
: "${PGHOST:?PGHOST must name the cluster}" "${PGPORT:?}" "${PGUSER:?}"
export PGHOST PGPORT PGUSER
DB=session_jython_$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/session-jython.XXXXXX")
PASSED=0
FAILED=0

cleanup() {
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT

ok() {
	PASSED=$((PASSED + 1))
	echo "ok      $1"
}
not_ok() {
	FAILED=$((FAILED + 1))
	echo "FAILED  $1"
}
finish() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	exit
}

for file in "$JYTHON_JAR" "$JAR"; do
	if [ ! -r "$file" ]; then
		not_ok "$file is missing (test/scripts/deps.sh test installs jython and libpostgresql-jdbc-java)"
		finish
	fi
done

# Jython as /usr/bin/jython starts it, but with the JDBC driver on the class path (the
# wrapper uses java -jar, which ignores -cp); no bytecode cache (the tree is read-only
# for the tests), HOME for whatever else wants one.
# (JYTHON_PATH: where it imports session_compat from).
JYTHON_PATH=$ROOT/clients/jython
jython() {
	HOME=$WORK timeout 300 java -Dpython.home=/usr/share/jython -Dpython.cachedir.skip=true \
		-Dpython.path="$JYTHON_PATH" -cp "$JYTHON_JAR:$JAR" org.python.util.jython "$@"
}

if ! psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB" ||
	! psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "CREATE EXTENSION session"; then
	not_ok "create the database"
	finish
fi
host=$PGHOST
[[ $host == /* ]] && host=127.0.0.1
URL="jdbc:postgresql://$host:$PGPORT/$DB"

# 1. the shared cases and the JVM's own, one result per "ok   NAME" / "FAIL NAME" line
jython "$ROOT/clients/jython/tests/run_cases.py" "$URL" "$PGUSER" "$ROOT/clients/python/tests" \
	>"$WORK/cases.out" 2>&1
status=$?
cat "$WORK/cases.out"
while read -r verdict name; do
	case $verdict in
		ok) ok "jython: $name" ;;
		FAIL) not_ok "jython: $name" ;;
	esac
done < <(grep -E '^(ok|FAIL) +test_' "$WORK/cases.out")
if [ "$status" -ne 0 ] && ! grep -q '^FAIL ' "$WORK/cases.out"; then
	not_ok "jython run_cases.py (exit status $status)"
fi

# 2. the old script, with its import line changed and nothing else, the module in a zip
(cd "$ROOT/clients/jython" && python3 -m zipfile -c "$WORK/session_compat.zip" session_compat.py)
sed 's/^from session_registry\.compat import \*$/from session_compat import */' \
	"$ROOT/clients/python/tests/old_gateway_script.py" >"$WORK/old_gateway_script.py"
changed=$(diff "$ROOT/clients/python/tests/old_gateway_script.py" "$WORK/old_gateway_script.py" | grep -c '^>')
if [ "$changed" -ne 1 ]; then
	not_ok "old_gateway_script.py: exactly one import line to change (changed $changed)"
elif (cd "$WORK" && JYTHON_PATH=$WORK/session_compat.zip PGDATABASE=$DB jython old_gateway_script.py) \
	>"$WORK/old.out" 2>&1 &&
	[ "$(tail -n 1 "$WORK/old.out")" = "old script: all checks passed" ]; then
	ok "jython: old_gateway_script.py after changing its import, the module from a zip"
else
	cat "$WORK/old.out"
	not_ok "jython: old_gateway_script.py after changing its import, the module from a zip"
fi

# 3. the README's python blocks (Jython 2.7 code), in order, as one script
awk '/^```python$/ {inside = 1; next} /^```$/ && inside {inside = 0; next} inside' \
	"$ROOT/clients/jython/README.md" >"$WORK/readme.py"
if [ "$(grep -c '' "$WORK/readme.py")" -lt 10 ]; then
	not_ok "clients/jython/README.md has its python blocks"
elif (cd "$WORK" && PGDATABASE=$DB jython readme.py) >"$WORK/readme.out" 2>&1 &&
	[ "$(tail -n 1 "$WORK/readme.out")" = "readme: done" ]; then
	cat "$WORK/readme.out"
	ok "jython: the README's blocks run"
else
	cat "$WORK/readme.out"
	not_ok "jython: the README's blocks run (the script is $WORK/readme.py)"
fi

finish
