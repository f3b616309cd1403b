#!/usr/bin/env bash
# make ha: session on pg_auto_failover. Installs what is missing (deps.sh, as root),
# builds and installs the extension, then runs test/ha/ha.py: a monitor and two data
# nodes on loopback ports in a temporary directory, four clients, three failovers
# under full load (kill -9 of the primary's postmaster and keeper, a clean
# `pg_autoctl stop`, a switchover), the checks after each failover and each rejoin,
# and the figures. Everything is removed afterwards.
#
#   bash test/ha/run.sh            the long form (make ha)
#   bash test/ha/run.sh --short    a kill -9 and a switchover, light load (what make
#                                  test runs, through test/reliability/ha.sh)
#
# pg_autoctl refuses to run as root: as root the scenario runs as the postgres OS
# user in a copy of the tree. It runs under test/scripts/subreaper so that a
# postmaster killed with -9 is reaped instead of lingering as a zombie whose
# postmaster.pid still looks alive.
#
# Environment: PG_CONFIG, SESSION_HA_PORT (first port tried, default 6500),
# SESSION_HA_PARENT (where the temporary directory goes, default /tmp),
# SESSION_TEST_KEEP=1 (keep the temporary directory and the copy of the tree).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
# shellcheck source=test/scripts/lib.sh
source test/scripts/lib.sh

PYTHON=/usr/bin/python3 # Debian's, which sees python3-psycopg
WORK=
CHILD=

# The pids of every descendant of process $1.
# shellcheck disable=SC2317 # called by interrupted, a trap
descendants() {
	local f child
	local -a kids
	for f in /proc/"$1"/task/*/children; do
		[ -r "$f" ] || continue
		kids=()
		# the file has no final newline: read fills kids and returns 1
		read -r -a kids <"$f" 2>/dev/null || true
		for child in "${kids[@]}"; do
			echo "$child"
			descendants "$child"
		done
	done
}

# INT/TERM: passed on to ha.py, which stops the nodes and removes its directory.
# shellcheck disable=SC2317 # a trap
interrupted() {
	local pid
	for pid in $(descendants "$$"); do
		case $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") in
			"$PYTHON "*test/ha/ha.py*) kill -TERM "$pid" 2>/dev/null ;;
		esac
	done
}

# shellcheck disable=SC2317 # the EXIT trap
cleanup() {
	[ -z "$WORK" ] || drop_tree_for_postgres "$ROOT" "$WORK"
}
trap cleanup EXIT
trap interrupted INT TERM

say "dependencies: test/scripts/deps.sh test"
bash test/scripts/deps.sh test || exit 1
for tool in pg_autoctl "$PYTHON"; do
	command -v "$tool" >/dev/null || {
		echo "ha: $tool is missing (test/scripts/deps.sh installs it as root)" >&2
		exit 1
	}
done
"$PYTHON" -c 'import psycopg' || {
	echo "ha: $PYTHON cannot import psycopg (Debian package python3-psycopg)" >&2
	exit 1
}

say "build and install"
pgxs_make -s || exit 1
if [ "$(id -u)" -ne 0 ] && [ ! -w "$("$PG_CONFIG" --pkglibdir)" ] && sudo -n true 2>/dev/null; then
	sudo make -s install PG_CONFIG="$PG_CONFIG" || exit 1
else
	pgxs_make -s install || exit 1
fi

say "session on pg_auto_failover: monitor + primary + secondary, 4 clients"
clean_pg_env
WORK=$(tree_for_postgres "$ROOT") || exit 1
[ "$WORK" = "$ROOT" ] || echo "running as postgres in $WORK"
# in the background, so that the traps run at once
as_postgres "$WORK/test/scripts/subreaper" "$PYTHON" "$WORK/test/ha/ha.py" "$@" &
CHILD=$!
while :; do
	wait "$CHILD"
	rc=$?
	# wait returns early (status > 128) when a trapped signal arrives
	kill -0 "$CHILD" 2>/dev/null || break
done
exit "$rc"
