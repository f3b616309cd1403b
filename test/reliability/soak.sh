#!/usr/bin/env bash
# Soak: pgbench, 8 clients, custom scripts mixing open (plain and under a
# per-user limit with eviction), heartbeat, batched heartbeat, listings,
# lookups by id, close, terminate, log in/out, attach, clientless sessions,
# node shutdown and expire_sessions, with session.idle_timeout = 1s so expiry
# ends sessions all the time (test/reliability/soak/*.sql).  Passes when no
# transaction failed and no client aborted, no backend crashed, the
# invariants hold, and every session opened during the run is either still
# open or ended exactly once (open now = open before + opens - ends).
# SOAK_SECONDS (default 20) and SOAK_CLIENTS (default 8) change the run.
set -uo pipefail
# shellcheck source=test/reliability/lib.sh
source "$(dirname "$0")/lib.sh"

START=$(now_s)
SECONDS_RUN=${SOAK_SECONDS:-20}
CLIENTS=${SOAK_CLIENTS:-8}
NAME=${SOAK_NAME:-soak}
command -v pgbench >/dev/null || { echo "$NAME: FAILED: pgbench is missing"; exit 1; }
check_begin "$NAME"
WORK=$(mktemp -d /tmp/session-soak.XXXXXX)
trap '[ "${SESSION_TEST_KEEP:-0}" = 1 ] || rm -rf "$WORK"; check_end' EXIT

S=$HERE/soak
# today's partitions first, and 200 sessions to start from
q >/dev/null <<'SQL' || die "setup failed"
SELECT session.expire_sessions();
SELECT count(session.open_session('u' || g, 'proj' || (g % 8), node => 'n' || (g % 10)))
  FROM generate_series(1, 200) g;
SQL
OPEN0=$(q1 "SELECT count(*) FROM session_storage.sessions")
SEQ0=$(q1 "SELECT last_value FROM session_storage.sessions_id_seq")
ENDED0=$(q1 "SELECT count(*) FROM session_storage.ended_sessions")

PGOPTIONS="${PGOPTIONS:-} -c session.idle_timeout=1s -c session.max_lifetime=0" \
	pgbench -n -c "$CLIENTS" -j 2 -T "$SECONDS_RUN" --failures-detailed -r \
	-f "$S/open.sql@10" -f "$S/open_limited.sql@3" -f "$S/heartbeat.sql@30" -f "$S/batch.sql@8" \
	-f "$S/list.sql@6" -f "$S/byid.sql@5" -f "$S/close.sql@6" -f "$S/terminate.sql@1" \
	-f "$S/setuser.sql@3" -f "$S/attach.sql@3" -f "$S/clientless.sql@3" -f "$S/expire.sql@2" \
	-f "$S/node.sql@1" "$CHECK_DB" >"$WORK/out" 2>"$WORK/err"
RC=$?

# transactions of one script
script_tx() {
	awk -v s="$1" '/^SQL script [0-9]+:/ { cur = ($4 ~ s) } cur && /^ - [0-9]+ transactions/ { print $2; exit }' "$WORK/out"
}
TX=$(awk -F': ' '/number of transactions actually processed/ { split($2, a, "/"); print a[1]; exit }' "$WORK/out")
FAILED_TX=$(awk -F': ' '/number of failed transactions/ { split($2, a, " "); print a[1]; exit }' "$WORK/out")
DEADLOCKS=$(awk -F': ' '/number of deadlock failures/ { split($2, a, " "); print a[1]; exit }' "$WORK/out")
TPS=$(awk '/^tps = / { print $3; exit }' "$WORK/out")
ABORTED=$(grep -c 'aborted' "$WORK/err")
# pgbench counts the transactions it finished; one running when the time
# was up may have committed uncounted, so opens are counted by the ids
# handed out (no open is rolled back: a failed transaction fails the check)
PGB_OPENS=$(( $(script_tx '/open.sql$') + $(script_tx 'open_limited.sql$') + $(script_tx 'clientless.sql$') ))

OPEN1=$(q1 "SELECT count(*) FROM session_storage.sessions")
ENDED1=$(q1 "SELECT count(*) FROM session_storage.ended_sessions")
OPENS=$(( $(q1 "SELECT last_value FROM session_storage.sessions_id_seq") - SEQ0 ))
ENDS=$((ENDED1 - ENDED0))
REASONS=$(q1 "SELECT string_agg(end_reason || ' ' || n, ', ' ORDER BY n DESC)
	FROM (SELECT end_reason, count(*) n FROM session_storage.ended_sessions GROUP BY 1) r")

FAILED=0
if [ "$RC" -ne 0 ] || [ "${TX:-0}" -eq 0 ]; then
	echo "$NAME: FAILED: pgbench exited $RC after ${TX:-0} transactions"
	FAILED=$((FAILED + 1))
fi
if [ "${FAILED_TX:-0}" -ne 0 ] || [ "$ABORTED" -ne 0 ]; then
	echo "$NAME: FAILED: ${FAILED_TX:-0} failed transactions (${DEADLOCKS:-0} deadlocks), $ABORTED aborted clients"
	FAILED=$((FAILED + 1))
fi
if [ -s "$WORK/err" ]; then
	echo "$NAME: pgbench said:"
	head -n 20 "$WORK/err"
fi
if [ "$OPEN1" -ne $((OPEN0 + OPENS - ENDS)) ] || [ "$OPENS" -lt "$PGB_OPENS" ] ||
	[ "$OPENS" -gt $((PGB_OPENS + CLIENTS)) ]; then
	echo "$NAME: FAILED: open now $OPEN1, open before $OPEN0 + opens $OPENS - ends $ENDS = $((OPEN0 + OPENS - ENDS)) (pgbench counted $PGB_OPENS opens)"
	FAILED=$((FAILED + 1))
fi
CRASHES=$(crash_count)
[ "$CRASHES" -eq 0 ] || { echo "$NAME: FAILED: $CRASHES backend crash(es)"; FAILED=$((FAILED + 1)); }
VIOLATIONS=$(invariants)
if [ -n "$VIOLATIONS" ]; then
	echo "$NAME: FAILED: invariants violated:"
	echo "$VIOLATIONS"
	FAILED=$((FAILED + 1))
fi

echo "$NAME: per script: transactions, failed (deadlocks)"
awk -v n="$NAME" '/^SQL script [0-9]+:/ { name = $4; sub(".*/", "", name) }
	/^ - [0-9]+ transactions/ { tx = $2 }
	/^ - number of failed transactions/ { f = $6 }
	/^ - number of deadlock failures/ { printf "%s:   %-18s %8s %6s (%s)\n", n, name, tx, f, $6 }' "$WORK/out"
echo "$NAME: $CLIENTS clients, ${SECONDS_RUN}s: ${TX:-0} transactions (${TPS:-0} tps), ${FAILED_TX:-0} failed, $ABORTED aborted clients"
echo "$NAME: sessions opened $OPENS (pgbench counted $PGB_OPENS), ended $ENDS ($REASONS); open before $OPEN0, now $OPEN1 = $OPEN0 + $OPENS - $ENDS"
echo "$NAME: backend crashes: $CRASHES; invariants: ${VIOLATIONS:-hold}; $(elapsed "$START") s"
[ "$FAILED" -eq 0 ] && echo "$NAME: passed" || echo "$NAME: FAILED"
[ "$FAILED" -eq 0 ]
