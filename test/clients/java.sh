#!/usr/bin/env bash
# The JDBC examples (clients/java/Example.java and Events.java, shown in doc/clients.md's
# "Java" part): checks that the page shows exactly the files, compiles them with Debian's
# default-jdk-headless against libpostgresql-jdbc-java (-Xlint:all -Werror), and runs
# it against the cluster named by PGHOST/PGPORT/PGUSER (a superuser; JDBC connects to
# 127.0.0.1:PGPORT when PGHOST is a socket directory) in a database of its own.
# Ends with the line
#   N passed, M failed
# Environment: SESSION_ROOT (the tree, default: this script's), SESSION_JDBC_JAR
# (default /usr/share/java/postgresql.jar).
set -uo pipefail

ROOT=${SESSION_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
JAR=${SESSION_JDBC_JAR:-/usr/share/java/postgresql.jar}
: "${PGHOST:?PGHOST must name the cluster}" "${PGPORT:?}" "${PGUSER:?}"
export PGHOST PGPORT PGUSER
DB=session_java_$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/session-java.XXXXXX")
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

# 1. doc/clients.md shows the files themselves, in this order, so that they cannot drift apart
awk -v dir="$WORK" '/^```java$/ {n++; inside = 1; next} /^```$/ && inside {inside = 0; next}
	inside {print > (dir "/readme" n ".java")}' "$ROOT/doc/clients.md"
n=0
for class in Example Events; do
	n=$((n + 1))
	if [ -s "$WORK/readme$n.java" ] && diff -u "$ROOT/clients/java/$class.java" "$WORK/readme$n.java"; then
		ok "doc/clients.md shows clients/java/$class.java"
	else
		not_ok "doc/clients.md shows clients/java/$class.java (diff above; copy the file into java block $n)"
	fi
done

# 2. they compile without a warning
mkdir -p "$WORK/classes"
if javac -Xlint:all -Werror -cp "$JAR" -d "$WORK/classes" "$ROOT/clients/java/Example.java" \
	"$ROOT/clients/java/Events.java"; then
	ok "javac Example.java Events.java"
else
	not_ok "javac Example.java Events.java"
	echo "$PASSED passed, $((FAILED + 1)) failed"
	exit 1
fi

# 3. it runs, and does what it says
if ! psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB" ||
	! psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "CREATE EXTENSION session"; then
	not_ok "create the database"
	echo "$PASSED passed, $FAILED failed"
	exit 1
fi
if PGDATABASE=$DB timeout 120 java -cp "$JAR:$WORK/classes" Example >"$WORK/out" 2>&1; then
	ok "java Example"
else
	not_ok "java Example"
fi
cat "$WORK/out"
expect() {
	if grep -Eq "$2" "$WORK/out"; then ok "$1"; else not_ok "$1 (no line matching /$2/)"; fi
}
expect "setObject with casts for inet and jsonb" '^1 billy 10\.0\.0\.7 /main,/alarms \{"locale": "de"\}$'
expect "createArrayOf for a batch heartbeat" '^batch touched: 1$'
expect "getSQLState() SE404" '^SE404: .*session 424242 not found'
expect "getSQLState() SE429" '^SE429: .*already has 1 open session'

# 4. the events, from the event log of the events work of 0.2.0
if PGDATABASE=$DB timeout 120 java -cp "$JAR:$WORK/classes" Events >"$WORK/out" 2>&1; then
	ok "java Events"
else
	not_ok "java Events"
fi
cat "$WORK/out"
expect "getNotifications() woken by the commit" '^woken: [1-9]'
expect "events_since() after the wake-up" '^event open ann$'

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
