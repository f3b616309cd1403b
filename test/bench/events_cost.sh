#!/usr/bin/env bash
# What the event log costs the session lifecycle (open, two heartbeats, close):
# pgbench with session.notify = on (two events logged per loop, no listener)
# against session.notify = off (nothing logged), in alternating rounds, and the
# medians of each.  Runs against the server of PGHOST/PGPORT/PGUSER (a
# superuser; the library need not be preloaded), in a database of its own.
#
#   test/bench/events_cost.sh [rounds=5] [seconds=15] [clients=4]
set -euo pipefail
ROUNDS=${1:-5}
SECONDS_PER_RUN=${2:-15}
CLIENTS=${3:-4}
DB=session_events_cost
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql -X -q -d "$DB" -c "CREATE EXTENSION session"
trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1' EXIT

run() {
	PGOPTIONS="-c session.notify=$1" pgbench -n -d "$DB" -c "$CLIENTS" -j 2 -T "$SECONDS_PER_RUN" \
		-D users=1000 -f "$HERE/pgbench/lifecycle_session.sql" 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

on=()
off=()
run on >/dev/null	# warm-up
for ((i = 1; i <= ROUNDS; i++)); do
	on+=("$(run on)")
	off+=("$(run off)")
	echo "round $i: notify on ${on[-1]} tps, off ${off[-1]} tps"
done
m_on=$(printf '%s\n' "${on[@]}" | median)
m_off=$(printf '%s\n' "${off[@]}" | median)
echo "median lifecycles/s: notify on $m_on, off $m_off; on/off = $(echo "$m_on $m_off" | awk '{printf "%.3f", $1/$2}')"
echo "events logged: $(psql -X -At -d "$DB" -c 'SELECT count(*) FROM session_storage.events')"
