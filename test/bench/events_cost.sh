#!/usr/bin/env bash
# What the event log costs the session lifecycle (open, two heartbeats, close):
# pgbench with session.notify = on (two events logged per loop, nobody
# listening) against session.notify = off (nothing logged), in alternating
# rounds.  Two figures per round: lifecycles per second (wall clock, which a
# busy machine disturbs) and the server's CPU time per lifecycle (every
# process of the cluster, read from /proc, which it disturbs much less).
# Prints each round and the medians.  Runs against the local server of
# PGHOST/PGPORT/PGUSER (a superuser, the library preloaded), in a database
# of its own.
#
#   test/bench/events_cost.sh [rounds=7] [seconds=10] [clients=2]
set -euo pipefail
ROUNDS=${1:-7}
SECONDS_PER_RUN=${2:-10}
CLIENTS=${3:-2}
DB=session_events_cost
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" 2>/dev/null
psql -X -q -d "$DB" -c "CREATE EXTENSION session"
trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1' EXIT
PM=$(head -n 1 "$(psql -X -At -d "$DB" -c 'SHOW data_directory')/postmaster.pid")

# CPU ticks used so far by the cluster: the postmaster, its reaped children,
# and its live children
cpu_ticks() {
	local total=0 pid stat
	stat=$(sed 's/^.*) //' "/proc/$PM/stat")
	total=$(awk '{print $12 + $13 + $14 + $15}' <<<"$stat")
	for pid in $(ps -o pid= --ppid "$PM"); do
		stat=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
		total=$((total + $(awk '{print $12 + $13}' <<<"$stat")))
	done
	echo "$total"
}

# run on|off: prints "tps cpu_us_per_lifecycle"
run() {
	local before after out tps n
	before=$(cpu_ticks)
	out=$(PGOPTIONS="-c session.notify=$1" pgbench -n -d "$DB" -c "$CLIENTS" -j "$CLIENTS" \
		-T "$SECONDS_PER_RUN" -D users=1000 -f "$HERE/pgbench/lifecycle_session.sql" 2>/dev/null)
	after=$(cpu_ticks)
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out")
	n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
	echo "$tps $(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$n" \
		'BEGIN {printf "%.0f", t / hz * 1e6 / n}')"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

tps_on=() tps_off=() cpu_on=() cpu_off=()
run on >/dev/null	# warm-up
for ((i = 1; i <= ROUNDS; i++)); do
	for mode in $([ $((i % 2)) = 1 ] && echo "on off" || echo "off on"); do
		read -r tps cpu < <(run "$mode")
		if [ "$mode" = on ]; then tps_on+=("$tps"); cpu_on+=("$cpu"); else tps_off+=("$tps"); cpu_off+=("$cpu"); fi
	done
	echo "round $i: on ${tps_on[-1]} lifecycles/s, ${cpu_on[-1]} us CPU each; off ${tps_off[-1]}/s, ${cpu_off[-1]} us"
done
m() { printf '%s\n' "$@" | median; }
t_on=$(m "${tps_on[@]}") t_off=$(m "${tps_off[@]}") c_on=$(m "${cpu_on[@]}") c_off=$(m "${cpu_off[@]}")
echo "medians: notify on $t_on lifecycles/s, $c_on us server CPU per lifecycle;" \
	"off $t_off/s, $c_off us; on/off: throughput $(awk -v a="$t_on" -v b="$t_off" 'BEGIN {printf "%.2f", a / b}')," \
	"CPU $(awk -v a="$c_on" -v b="$c_off" 'BEGIN {printf "%.2f", a / b}')"
