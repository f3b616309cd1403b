#!/usr/bin/env bash
# The background worker's expiry with the heartbeat buffer on: IDLE idle sessions
# (last heard from 2 hours ago) and ACTIVE active ones; 4 pgbench clients heartbeat
# the active ones at full speed (one heartbeat a transaction, logged); then
# session.idle_timeout becomes 30min and the worker's next pass ends the idle ones,
# committing every batch of 1,000. Prints how long the idle sessions took to go
# (wall clock from the reload, polled every 0.1 s), how many heartbeats went
# through meanwhile and the slowest of them, the heartbeats' latency percentiles
# over the whole run, and how many active sessions were wrongly ended (must be 0).
#
# make bench times session.expire_sessions() instead: one transaction, which holds
# the sessions it ends (their heartbeat buffer entries, as it would their rows)
# until it commits; heartbeats of other sessions never wait for it. This is the
# worker's way, one batch at a time.
#
#   test/bench/worker_expiry.sh [idle=100000] [active=10000] [seconds=25]
#
# As root it builds and installs the extension first (make, make install) unless
# BENCH_BUILD=0, and runs in a throwaway cluster (pg_virtualenv) as postgres.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=test/scripts/lib.sh
source "$ROOT/test/scripts/lib.sh"
IDLE=${1:-100000}
ACTIVE=${2:-10000}
DURATION=${3:-25}
DB=b_wexpire

if [ "${4:-}" != --in-cluster ]; then
	if [ "$(id -u)" -eq 0 ] && [ "${BENCH_BUILD:-1}" = 1 ]; then
		(cd "$ROOT" && pgxs_make -s && pgxs_make -s install) >/dev/null || exit 1
	fi
	clean_pg_env
	WORK=$(tree_for_postgres "$ROOT") || exit 1
	(cd "$WORK" && as_postgres "${VIRTUALENV[@]}" -o "session.database=$DB" \
		-o "session.reaper_interval=1s" -o "session.heartbeat_slots=$((IDLE + ACTIVE + 10000))" \
		-o "synchronous_commit=off" -o "shared_buffers=1GB" -o "max_wal_size=8GB" \
		-o "log_min_messages=warning" \
		bash test/bench/worker_expiry.sh "$IDLE" "$ACTIVE" "$DURATION" --in-cluster)
	rc=$?
	drop_tree_for_postgres "$ROOT" "$WORK"
	exit $rc
fi

set -e
q() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" -c "$*"; }
LOGS=$(mktemp -d /tmp/session-wexpire.XXXXXX)
trap 'rm -rf "$LOGS"' EXIT
psql -X -q -d postgres -c "CREATE DATABASE $DB"
q "CREATE EXTENSION session"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f "$HERE/sql/gen.sql" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f "$HERE/sql/load_session.sql" \
	-v first=1 -v last="$IDLE" -v users=10000 -v age=7200 >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f "$HERE/sql/load_session.sql" \
	-v first=$((IDLE + 1)) -v last=$((IDLE + ACTIVE)) -v users=10000 -v age=0 >/dev/null
q "VACUUM ANALYZE"

pgbench -n -M prepared -c 4 -j 2 -T "$DURATION" -l --log-prefix="$LOGS/hb" \
	-D afirst=$((IDLE + 1)) -D alast=$((IDLE + ACTIVE)) \
	-f "$HERE/pgbench/hbuf_single_session.sql" "$DB" >"$LOGS/pgbench.out" 2>&1 &
hb=$!
sleep 5	# every active session has a slot by now
t0=$(date +%s.%N)
psql -X -q -d postgres -c "ALTER SYSTEM SET session.idle_timeout = '30min'" -c "SELECT pg_reload_conf()" >/dev/null
left=$((IDLE + ACTIVE))
for ((i = 0; i < 600 && left > ACTIVE; i++)); do
	sleep 0.1
	left=$(q "SELECT count(*) FROM session_storage.sessions")
done
t1=$(date +%s.%N)
wait "$hb"
psql -X -q -d postgres -c "ALTER SYSTEM RESET session.idle_timeout" -c "SELECT pg_reload_conf()" >/dev/null

echo "idle sessions: $IDLE, active: $ACTIVE, 4 clients heartbeating the active ones at full speed"
awk -v a="$t0" -v b="$t1" 'BEGIN {printf "the idle sessions were gone %.2f s after the reload\n", b - a}'
echo "open sessions left: $left; active sessions ended: $(q "SELECT count(*) FROM session_storage.ended_sessions WHERE id > $IDLE")"
q "SELECT 'worker expired ' || value::bigint || ' in all' FROM session.stats() WHERE name = 'worker_expired_total'"
sed -n 's/^tps = \([0-9.]*\) .*/heartbeats per second over the run: \1/p' "$LOGS/pgbench.out"
# pgbench's log: client transaction latency_us script epoch_s epoch_us
cat "$LOGS"/hb.* | awk -v a="$t0" -v b="$t1" '
	{t = $5 + $6 / 1e6; if (t >= a && t <= b) {n++; if ($3 > m) m = $3}}
	END {printf "heartbeats that ended while the idle sessions went: %d, the slowest %.1f ms\n", n, m / 1000}'
cat "$LOGS"/hb.* | awk '{print $3}' | sort -n | awk '{x[NR] = $1}
	END {printf "all %d heartbeats: p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.1f ms\n",
		NR, x[int(NR * 0.5)] / 1000, x[int(NR * 0.99)] / 1000, x[int(NR * 0.999)] / 1000, x[NR] / 1000}'
