#!/usr/bin/env bash
# Fuzz: 3000 random calls of every SQL function (fixed seed, arguments drawn
# from interesting values, with transaction blocks, savepoints and setting
# changes; test/reliability/fuzz.py), then checks that every error carried a
# SQLSTATE the contract allows, that no backend crashed, and that the tables'
# invariants hold.  FUZZ_CALLS and FUZZ_SEED override the defaults;
# FUZZ_PARALLEL=P runs P generators at once (seeds SEED..SEED+P-1, FUZZ_CALLS
# each, autocommit only, today's partitions created first).  FUZZ_NAME names
# the run (and its database).
set -uo pipefail
# shellcheck source=test/reliability/lib.sh
source "$(dirname "$0")/lib.sh"

START=$(now_s)
NAME=${FUZZ_NAME:-fuzz}
[ -x /usr/bin/python3 ] || { echo "$NAME: FAILED: /usr/bin/python3 is missing (deps.sh test)"; exit 1; }
PARALLEL=${FUZZ_PARALLEL:-1}
check_begin "$NAME"
trap check_end EXIT
if [ "$PARALLEL" -gt 1 ]; then
	q -c 'SELECT session.expire_sessions()' >/dev/null || die "setup failed"
fi

FAILED=0
/usr/bin/python3 "$HERE/fuzz.py" --dbname "$CHECK_DB" --calls "${FUZZ_CALLS:-3000}" \
	--seed "${FUZZ_SEED:-20240601}" --parallel "$PARALLEL" | sed "s/^fuzz:/$NAME:/"
[ "${PIPESTATUS[0]}" -eq 0 ] || FAILED=$((FAILED + 1))

CRASHES=$(crash_count)
[ "$CRASHES" -eq 0 ] || { echo "$NAME: FAILED: $CRASHES backend crash(es)"; FAILED=$((FAILED + 1)); }
VIOLATIONS=$(invariants)
LISTED=$(q1 "SELECT (SELECT count(*) FROM session.get_session_info()) = (SELECT count(*) FROM session_storage.sessions)")
[ "$LISTED" = t ] || VIOLATIONS="$VIOLATIONS get_session_info() does not list every open session"
if [ -n "$VIOLATIONS" ]; then
	echo "$NAME: FAILED: invariants violated: $VIOLATIONS"
	FAILED=$((FAILED + 1))
fi
echo "$NAME: open $(q1 'SELECT count(*) FROM session_storage.sessions'), ended $(q1 'SELECT count(*) FROM session_storage.ended_sessions');" \
	"backend crashes: $CRASHES; invariants: ${VIOLATIONS:-hold}; $(elapsed "$START") s"
[ "$FAILED" -eq 0 ] && echo "$NAME: passed" || echo "$NAME: FAILED"
[ "$FAILED" -eq 0 ]
