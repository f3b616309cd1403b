#!/usr/bin/env bash
# make stress: the long forms of the reliability checks of test/reliability, in a
# throwaway cluster of their own (pg_virtualenv, test/scripts/lib.sh), and a summary
# with the figures doc/operations.md's Reliability section quotes:
#
#   hostile   every function with hostile input (same cases as the check)
#   fuzz      100000 random calls in one connection, with transaction blocks
#   fuzz_par  4 x 25000 random calls at once, autocommit
#   sqlsmith  2 x 10000 random queries (seeds 1 and 2)
#   soak      pgbench, 8 clients, 180 s, idle_timeout 1s
#   memory    100000 calls of each function, 1000000 sessions listed; the worker
#             flushing 20000 sessions every 100 ms for 10 minutes (its memory at
#             minute 1 and at the end)
#
# Each step continues after a failure; the exit status is 1 when anything
# failed.  Environment: STRESS_ONLY="fuzz soak" runs only those steps;
# STRESS_SOAK_SECONDS, STRESS_FUZZ_CALLS, STRESS_SQLSMITH_QUERIES,
# STRESS_MEMORY_CALLS, STRESS_MEMORY_LIST_ROWS, STRESS_MEMORY_WORKER_SECONDS change the sizes;
# SESSION_TEST_PORT, SESSION_TEST_KEEP as for make test.  As root, the steps
# run as the postgres OS user (as_postgres).  The extension is built, and
# installed only when the installed copy differs from the build;
# STRESS_NO_INSTALL=1 uses the installed one as is.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
# shellcheck source=test/scripts/lib.sh
source "$ROOT/test/scripts/lib.sh"

STEPS=${STRESS_ONLY:-hostile fuzz fuzz_par sqlsmith soak memory}

# Builds, and installs when the installed library or script differ (a
# reinstall overwrites session.so under running servers).
build_and_install() {
	local pkglib share ext
	pgxs_make -s >/dev/null || { echo "stress: build failed" >&2; return 1; }
	pkglib=$("$PG_CONFIG" --pkglibdir)
	share=$("$PG_CONFIG" --sharedir)/extension
	ext=$(grep default_version session.control | sed "s/.*'\(.*\)'/\1/")
	if cmp -s session.so "$pkglib/session.so" &&
		cmp -s "sql/session--$ext.sql" "$share/session--$ext.sql" &&
		cmp -s session.control "$share/session.control"; then
		echo "stress: the installed extension is up to date"
		return 0
	fi
	echo "stress: installing the extension"
	if [ "$(id -u)" -ne 0 ] && [ ! -w "$pkglib" ] && sudo -n true 2>/dev/null; then
		sudo make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
	else
		pgxs_make -s install >/dev/null
	fi
}

if [ "${1:-}" != --in-cluster ]; then
	if [ "${STRESS_NO_INSTALL:-0}" != 1 ]; then
		build_and_install || exit 1
	fi
	clean_pg_env
	WORK=$(tree_for_postgres "$ROOT") || exit 1
	(cd "$WORK" && as_postgres "${VIRTUALENV[@]}" bash test/scripts/stress.sh --in-cluster)
	rc=$?
	drop_tree_for_postgres "$ROOT" "$WORK"
	exit $rc
fi

OUT=$(mktemp -d /tmp/session-stress.XXXXXX)
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	if [ "${SESSION_TEST_KEEP:-0}" = 1 ]; then
		echo "stress: outputs kept in $OUT"
	else
		rm -rf "$OUT"
	fi
}
trap cleanup EXIT
SESSION_TEST_LOG=$(pg_lsclusters -h "$PG_MAJOR" regress 2>/dev/null | awk '{ print $7 }')
export SESSION_TEST_LOG SESSION_ROOT=$ROOT

PASSED=0
FAILED=0
FAILED_NAMES=()
declare -A SECS

# step NAME COMMAND...: runs a check with its environment, output in $OUT/NAME.
step() {
	local name=$1 start
	shift
	case " $STEPS " in *" $name "*) ;; *) return 0 ;; esac
	say "$name"
	start=$(date +%s)
	if env "$@" 2>&1 | tee "$OUT/$name"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
		PASSED=$((PASSED + 1))
	else
		FAILED=$((FAILED + 1))
		FAILED_NAMES+=("$name")
	fi
	SECS[$name]=$(($(date +%s) - start))
}

C=$ROOT/test/reliability
step hostile "$C/hostile.sh"
step fuzz FUZZ_NAME=fuzz FUZZ_CALLS="${STRESS_FUZZ_CALLS:-100000}" FUZZ_SEED=1 "$C/fuzz.sh"
step fuzz_par FUZZ_NAME=fuzz_par FUZZ_PARALLEL=4 FUZZ_CALLS=$((${STRESS_FUZZ_CALLS:-100000} / 4)) \
	FUZZ_SEED=1000 "$C/fuzz.sh"
case " $STEPS " in *" sqlsmith "*) STEPS="$STEPS sqlsmith2" ;; esac
step sqlsmith SQLSMITH_NAME=sqlsmith SQLSMITH_QUERIES="${STRESS_SQLSMITH_QUERIES:-10000}" SQLSMITH_SEED=1 \
	"$C/sqlsmith.sh"
step sqlsmith2 SQLSMITH_NAME=sqlsmith2 SQLSMITH_QUERIES="${STRESS_SQLSMITH_QUERIES:-10000}" SQLSMITH_SEED=2 \
	"$C/sqlsmith.sh"
step soak SOAK_NAME=soak SOAK_SECONDS="${STRESS_SOAK_SECONDS:-180}" SOAK_CLIENTS=8 "$C/soak.sh"
step memory MEMORY_NAME=memory MEMORY_CALLS="${STRESS_MEMORY_CALLS:-100000}" \
	MEMORY_LIST_ROWS="${STRESS_MEMORY_LIST_ROWS:-1000000}" \
	MEMORY_WORKER_SECONDS="${STRESS_MEMORY_WORKER_SECONDS:-600}" MEMORY_WORKER_BASELINE_SECONDS=60 \
	"$C/memory.sh"

# The whole run: crashes anywhere in the server log.
ALL_CRASHES=$(grep -cE 'terminated by signal|was terminated by exception|PANIC:' "$SESSION_TEST_LOG")

# A line of a step's output matching a pattern, without the step's prefix.
line() {
	[ -f "$OUT/$1" ] || return 0
	grep -E "$2" "$OUT/$1" | tail -n 1 | sed "s/^$1: //"
}
secs() {
	[ -n "${SECS[$1]:-}" ] && printf ' [%ss]' "${SECS[$1]}"
}

say "summary"
echo "backend crashes in the server log, whole run: $ALL_CRASHES"
[ -f "$OUT/hostile" ] && echo "hostile:   $(line hostile '^hostile: [0-9]+ passed') ($(grep -cE '^ +[0-9]+ \|' "$OUT/hostile") inputs tried)$(secs hostile)"
[ -f "$OUT/fuzz" ] && echo "fuzz:      $(line fuzz '^fuzz: [0-9]+ calls')$(secs fuzz)"
[ -f "$OUT/fuzz_par" ] && echo "fuzz_par:  $(line fuzz_par '^fuzz_par: [0-9]+ calls')$(secs fuzz_par)"
for s in sqlsmith sqlsmith2; do
	[ -f "$OUT/$s" ] && echo "$s: $(line "$s" 'queries \(seed')$(secs "$s")"
done
if [ -f "$OUT/soak" ]; then
	echo "soak:      $(line soak 'clients, [0-9]+s:')$(secs soak)"
	echo "           $(line soak '^soak: sessions opened')"
fi
if [ -f "$OUT/memory" ]; then
	echo "memory:    $(line memory 'calls per function')$(secs memory)"
	echo "           $(line memory 'backend RssAnon')"
	echo "           $(line memory 'worker \(pid')"
	echo "           $(line memory 'worker RssAnon')"
fi
for name in "${FAILED_NAMES[@]}"; do
	echo "FAILED: $name"
done
echo "stress: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ "$ALL_CRASHES" -eq 0 ]
