#!/usr/bin/env bash
# What the event log costs the session lifecycle (open, two heartbeats, close):
# session.notify = on (two events logged per lifecycle, nobody listening)
# against session.notify = off (nothing logged), in alternating rounds.  Two
# figures per round and mode:
#   - lifecycles per second from pgbench with CLIENTS clients for SECONDS
#     (wall clock: other load on the machine disturbs it);
#   - CPU time of one backend per lifecycle, over 2,000 lifecycles run one
#     statement per transaction from psql, read from /proc/self/stat by the
#     backend itself (far less disturbed by other load).
# Prints each round and the medians.  Runs against a local server
# (PGHOST/PGPORT/PGUSER a superuser, the library preloaded), in a database
# of its own.
#
#   test/bench/events_cost.sh [rounds=5] [seconds=10] [clients=2]
set -euo pipefail
ROUNDS=${1:-5}
SECONDS_PER_RUN=${2:-10}
CLIENTS=${3:-2}
LIFECYCLES=2000
DB=session_events_cost
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" 2>/dev/null
psql -X -q -d "$DB" -c "CREATE EXTENSION session"
trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1' EXIT

tps() {
	PGOPTIONS="-c session.notify=$1" pgbench -n -d "$DB" -c "$CLIENTS" -j "$CLIENTS" \
		-T "$SECONDS_PER_RUN" -D users=1000 -f "$HERE/pgbench/lifecycle_session.sql" 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

# microseconds of backend CPU per lifecycle
cpu() {
	local ticks="(string_to_array(split_part(pg_catalog.pg_read_file('/proc/self/stat'), ') ', 2), ' '))"
	{
		echo "SET session.notify = $1;"
		echo "SELECT session.close_session(session.open_session('warm', 'p'));"
		echo "SELECT $ticks[12]::bigint + $ticks[13]::bigint AS c0 \\gset"
		for ((i = 0; i < LIFECYCLES; i++)); do
			echo "SELECT session.open_session('user$((i % 1000))', 'project$((i % 10))', '10.20.30.40', 'browser', 'client-bench', 'Mozilla/5.0', 'node1') AS id \\gset"
			echo "SELECT session.heartbeat(:id, 1024, '{/main,/page/1}');"
			echo "SELECT session.heartbeat(:id, 2048);"
			echo "SELECT session.close_session(:id, 'logout');"
		done
		echo "SELECT round(($ticks[12]::bigint + $ticks[13]::bigint - :c0) * 1e6 / $(getconf CLK_TCK) / $LIFECYCLES);"
	} | psql -X -q -At -d "$DB" | tail -n 1
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

declare -A T C
tps on >/dev/null	# warm-up
for ((i = 1; i <= ROUNDS; i++)); do
	for mode in $([ $((i % 2)) = 1 ] && echo "on off" || echo "off on"); do
		T[$mode]+="$(tps "$mode") "
		C[$mode]+="$(cpu "$mode") "
	done
	echo "round $i: on $(awk '{print $NF}' <<<"${T[on]}") lifecycles/s, $(awk '{print $NF}' <<<"${C[on]}") us CPU each;" \
		"off $(awk '{print $NF}' <<<"${T[off]}")/s, $(awk '{print $NF}' <<<"${C[off]}") us"
done
m() { tr ' ' '\n' <<<"$1" | grep . | median; }
t_on=$(m "${T[on]}") t_off=$(m "${T[off]}") c_on=$(m "${C[on]}") c_off=$(m "${C[off]}")
echo "medians: notify on $t_on lifecycles/s, $c_on us backend CPU per lifecycle;" \
	"off $t_off/s, $c_off us; on/off: throughput $(awk -v a="$t_on" -v b="$t_off" 'BEGIN {printf "%.2f", a / b}')," \
	"CPU $(awk -v a="$c_on" -v b="$c_off" 'BEGIN {printf "%.2f", a / b}')"
