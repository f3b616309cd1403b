#!/usr/bin/env bash
# make ha: session on pg_auto_failover. Installs what is missing (as root), builds and
# installs the extension, then runs test/ha/ha.py: a monitor and two data nodes on
# loopback ports in a temporary directory, four clients, three failovers under full
# load (kill -9 of the primary's postmaster and keeper, a clean `pg_autoctl stop`, a
# switchover), the checks after each failover and each rejoin, and the figures.
# Everything is removed afterwards.
#
#   bash test/ha/run.sh            the long form (make ha)
#   bash test/ha/run.sh --short    one failover, light load (make test runs this)
#
# pg_autoctl refuses to run as root: as root the scenario runs as the postgres OS
# user in a copy of the work tree. It runs as a child subreaper (see SUBREAPER in
# test/scripts/cluster.sh) so that a postmaster killed with -9 is reaped instead of
# lingering as a zombie whose postmaster.pid still looks alive.
#
# Environment: PG_CONFIG, SESSION_HA_PORT (first port tried, default 6500),
# SESSION_HA_PARENT (where the temporary directory goes, default /tmp),
# SESSION_TEST_KEEP=1 (keep the temporary directory).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
# shellcheck source=test/scripts/cluster.sh
source "$ROOT/test/scripts/cluster.sh"

PYTHON=/usr/bin/python3    # Debian's, which sees python3-psycopg
WORK_COPY=

# --inner [ARGS]: the scenario itself, already as a non-root user (and a subreaper).
# Python runs in the background so that this bash stays alive to reap orphans, and
# INT/TERM are passed on to it (it stops the nodes and removes its directory).
if [ "${1:-}" = --inner ]; then
	shift
	"$PYTHON" "$ROOT/test/ha/ha.py" "$@" &
	child=$!
	trap 'kill -TERM $child 2>/dev/null' INT TERM
	while :; do
		wait "$child"
		rc=$?
		# wait returns early (status > 128) when a trapped signal arrives
		kill -0 "$child" 2>/dev/null || break
	done
	exit "$rc"
fi

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	if [ -n "$WORK_COPY" ] && [ "${SESSION_TEST_KEEP:-0}" != 1 ]; then
		rm -rf "$WORK_COPY"
	fi
}
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

say "dependencies: test/scripts/deps.sh"
bash test/scripts/deps.sh || exit 1
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
if [ "$(id -u)" -eq 0 ]; then
	WORK_COPY=$(copy_tree_for_postgres "$ROOT") || exit 1
	echo "running as postgres in $WORK_COPY"
	SESSION_PASS_ENV="SESSION_HA_PORT SESSION_HA_PARENT" \
		run_child run_as_postgres "${SUBREAPER[@]}" bash "$WORK_COPY/test/ha/run.sh" --inner "$@"
else
	run_child "${SUBREAPER[@]}" bash "$ROOT/test/ha/run.sh" --inner "$@"
fi
