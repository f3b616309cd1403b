#!/usr/bin/env bash
# make demo: installs the dependencies, builds and installs the extension, starts a
# throwaway cluster (session.database = 'demo', reaper every second), creates the
# database demo and walks through test/demo/demo.sql with psql. Cleans up on exit.
# As root, the cluster part runs as the postgres OS user in a copy of the work tree.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=test/scripts/cluster.sh
source "$ROOT/test/scripts/cluster.sh"

WORK_COPY=

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	cluster_stop >/dev/null 2>&1 || true
	if [ -n "$WORK_COPY" ]; then
		stop_servers_under "$WORK_COPY"
		if [ "${SESSION_TEST_KEEP:-0}" = 1 ]; then
			echo "kept $WORK_COPY"
		else
			rm -rf "$WORK_COPY"
		fi
	fi
}
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

# The cluster part (as the invoking user, or as postgres in the copy).
run_demo() {
	local rc=0
	say "starting a throwaway cluster"
	cluster_start "session.database = 'demo'" "session.reaper_interval = '1s'"
	createdb demo
	say "running test/demo/demo.sql"
	run_child psql -X -e -v ON_ERROR_STOP=1 -d demo <test/demo/demo.sql 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "demo: psql failed (exit $rc)" >&2
		cluster_log_tail 40 >&2
	fi
	say "stopping the cluster"
	cluster_stop
	return "$rc"
}

if [ "${1:-}" = --inner ]; then
	run_demo
	exit
fi

say "dependencies"
bash test/scripts/deps.sh
say "build and install"
pgxs_make -s
if [ "$(id -u)" -ne 0 ] && [ ! -w "$("$PG_CONFIG" --pkglibdir)" ] && sudo -n true 2>/dev/null; then
	sudo make -s install PG_CONFIG="$PG_CONFIG"
else
	pgxs_make -s install
fi

if [ "$(id -u)" -eq 0 ]; then
	WORK_COPY=$(copy_tree_for_postgres "$ROOT")
	cd "$WORK_COPY"
	SESSION_CLUSTER_PARENT=$WORK_COPY SESSION_PASS_ENV=SESSION_CLUSTER_PARENT \
		run_child run_as_postgres bash "$WORK_COPY/test/scripts/demo.sh" --inner
else
	run_demo
fi
