#!/usr/bin/env bash
# make test: installs the Debian dependencies, builds and installs the extension, then
# on a throwaway cluster runs the pg_regress tests (pgTAP inside), the isolation specs,
# the TAP tests in test/t and every executable test/checks/*.sh, and ends with the line
#   tests: N passed, M failed
# Every step continues after a failure; the exit status is 1 when anything failed.
#
# As root (CI), the cluster steps run as the postgres OS user in a copy of the work
# tree, since initdb refuses to run as root; their outputs (results/, output_iso/,
# regression.diffs, tmp_check/) are copied back to the work tree afterwards.
#
# Environment: PG_CONFIG, SESSION_TEST_PORT (first cluster port, default 5600),
# SESSION_TEST_KEEP=1 (keep temporary directories), PROVE_FLAGS,
# SESSION_TEST_CONF (extra postgresql.conf lines), SESSION_REGRESS_TIMEOUT /
# SESSION_TAP_TIMEOUT / SESSION_CHECK_TIMEOUT (seconds per run or file, default
# 1800 / 900 / 600).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
# shellcheck source=test/scripts/cluster.sh
source "$ROOT/test/scripts/cluster.sh"

PASSED=0
FAILED=0
FAILED_NAMES=()
INNER_RESULTS=
WORK_COPY=
SCRATCH=$(mktemp -d /tmp/session-test-out.XXXXXX)

pass() {
	PASSED=$((PASSED + 1))
	printf 'ok      %s\n' "$1"
}

fail() {
	FAILED=$((FAILED + 1))
	FAILED_NAMES+=("$1")
	printf 'FAILED  %s\n' "$1"
}

# check NAME COMMAND...: runs the command and counts it as one test.
check() {
	local name=$1
	shift
	if "$@"; then
		pass "$name"
	else
		fail "$name"
	fi
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	cluster_stop >/dev/null 2>&1
	if [ -n "$INNER_RESULTS" ] || [ "$(id -u)" -ne 0 ]; then
		stop_servers_under "$ROOT/tmp_check"
	fi
	if [ -n "$WORK_COPY" ]; then
		# the run as postgres may have been killed before it could stop its servers
		stop_servers_under "$WORK_COPY"
		if [ "${SESSION_TEST_KEEP:-0}" = 1 ]; then
			echo "kept $WORK_COPY"
		else
			rm -rf "$WORK_COPY"
		fi
	fi
	rm -rf "$SCRATCH"
}
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

# The value of a variable of the project's Makefile (REGRESS, ISOLATION).
makefile_var() {
	# shellcheck disable=SC2016 # make expands it
	printf 'print-var-%%:\n\t@echo $($*)\n' |
		make --no-print-directory -s -f Makefile -f - PG_CONFIG="$PG_CONFIG" \
			"print-var-$1" 2>/dev/null
}

# Counts the "test NAME ... ok|FAILED" lines of a pg_regress run (output in $2).
# Tests the Makefile lists ($3) that have no line count as failed.
count_pg_regress() {
	local label=$1 out=$2 expected=$3 rc=$4
	local line name result seen=" " n=0
	while IFS= read -r line; do
		if [[ $line =~ ^(test[[:space:]]+|[[:space:]]+)?([^[:space:]]+)[[:space:]]+\.\.\.[[:space:]]+(ok|FAILED|failed) ]]; then
			name=${BASH_REMATCH[2]}
			result=${BASH_REMATCH[3]}
			seen+="$name "
			n=$((n + 1))
			if [ "$result" = FAILED ]; then
				fail "$label/$name"
			else
				pass "$label/$name"
			fi
		fi
	done <"$out"
	for name in $expected; do
		if [[ $seen != *" $name "* ]]; then
			fail "$label/$name (did not run)"
			n=$((n + 1))
		fi
	done
	if [ "$rc" -ne 0 ] && [ "$n" -eq 0 ]; then
		fail "$label (make installcheck exited $rc)"
	fi
}

phase_regress() {
	local tests rc
	tests=$(makefile_var REGRESS)
	say "pg_regress: make installcheck (REGRESS: ${tests:-none})"
	if [ -z "$tests" ]; then
		echo "no REGRESS tests in the Makefile"
		return
	fi
	run_child --log "$SCRATCH/regress.out" \
		timeout --kill-after=30 "${SESSION_REGRESS_TIMEOUT:-1800}" \
		make PG_CONFIG="$PG_CONFIG" -s installcheck ISOLATION= TAP_TESTS=
	rc=$?
	count_pg_regress regress "$SCRATCH/regress.out" "$tests" "$rc"
}

phase_isolation() {
	local tests rc
	tests=$(makefile_var ISOLATION)
	say "isolation: make installcheck (ISOLATION: ${tests:-none})"
	if [ -z "$tests" ]; then
		if compgen -G 'test/specs/*.spec' >/dev/null; then
			fail "isolation (test/specs has specs but the Makefile sets no ISOLATION)"
		else
			echo "no isolation specs"
		fi
		return
	fi
	run_child --log "$SCRATCH/isolation.out" \
		timeout --kill-after=30 "${SESSION_REGRESS_TIMEOUT:-1800}" \
		make PG_CONFIG="$PG_CONFIG" -s installcheck REGRESS= TAP_TESTS=
	rc=$?
	count_pg_regress isolation "$SCRATCH/isolation.out" "$tests" "$rc"
}

phase_tap() {
	local t name perl_dir="$PG_PGXS_DIR/test/perl"
	say "TAP: prove test/t/*.pl"
	if ! compgen -G 'test/t/*.pl' >/dev/null; then
		echo "no TAP tests"
		return
	fi
	rm -rf tmp_check
	mkdir -p tmp_check
	for t in test/t/*.pl; do
		name=$(basename "$t" .pl)
		# shellcheck disable=SC2086 # PROVE_FLAGS is a list of flags
		if run_child env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE \
			TESTDIR="$ROOT" PG_REGRESS="$PG_PGXS_DIR/test/regress/pg_regress" \
			timeout --kill-after=30 "${SESSION_TAP_TIMEOUT:-900}" \
			prove ${PROVE_FLAGS:-} -I "$perl_dir" -I test/t "$t"; then
			pass "tap/$name"
		else
			fail "tap/$name"
			if [ -f "tmp_check/log/regress_log_$name" ]; then
				echo "---- last 40 lines of tmp_check/log/regress_log_$name ----"
				tail -n 40 "tmp_check/log/regress_log_$name"
				echo "----"
			fi
		fi
	done
}

phase_checks() {
	local c name
	say "checks: test/checks/*.sh"
	if ! compgen -G 'test/checks/*.sh' >/dev/null; then
		echo "no checks"
		return
	fi
	for c in test/checks/*.sh; do
		name=$(basename "$c" .sh)
		if [ ! -x "$c" ]; then
			echo "skipped $c (not executable)"
			continue
		fi
		echo "-- $c"
		if run_child timeout --kill-after=30 "${SESSION_CHECK_TIMEOUT:-600}" "$c" </dev/null; then
			pass "check/$name"
		else
			fail "check/$name"
		fi
	done
}

# Prints the diffs of failed pg_regress / isolation tests.
show_diffs() {
	local d
	while IFS= read -r d; do
		echo "---- $d ----"
		head -n 1000 "$d"
		echo "---- end of $d ----"
	done < <(find . -path ./.git -prune -o -name regression.diffs -size +0 -print 2>/dev/null)
}

# The steps that need a running cluster; in the copy (as postgres) or in place.
cluster_phases() {
	local d
	for d in . test; do
		rm -rf "$d/results" "$d/output_iso" "$d/regression.diffs" "$d/regression.out"
	done
	say "start a throwaway cluster"
	# shellcheck disable=SC2119 # no extra settings
	if cluster_start; then
		pass "cluster start"
	else
		fail "cluster start"
		return
	fi
	phase_regress
	phase_isolation
	phase_tap
	phase_checks
	if [ "$FAILED" -gt 0 ]; then
		say "failure details"
		show_diffs
		cluster_log_tail 80
	fi
	say "stop the cluster"
	check "cluster stop" cluster_stop
}

# Copies the test outputs of the copy back into the work tree.
copy_back_outputs() {
	local d item
	for d in . test; do
		for item in results output_iso regression.diffs regression.out tmp_check log; do
			rm -rf "${ROOT:?}/$d/$item"
			[ -e "$WORK_COPY/$d/$item" ] || continue
			cp -a "$WORK_COPY/$d/$item" "$ROOT/$d/$item"
		done
	done
}

finish() {
	local name
	echo
	if [ "$FAILED" -gt 0 ]; then
		echo "failed:"
		for name in "${FAILED_NAMES[@]}"; do
			echo "  $name"
		done
	fi
	echo "tests: $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	exit
}

# --inner RESULTS: only the cluster steps, results written to RESULTS for the caller.
if [ "${1:-}" = --inner ]; then
	INNER_RESULTS=$2
	cluster_phases
	{
		echo "passed $PASSED"
		echo "failed $FAILED"
		for name in "${FAILED_NAMES[@]}"; do
			echo "name $name"
		done
	} >"$INNER_RESULTS"
	exit 0
fi

say "dependencies: test/scripts/deps.sh"
check deps bash test/scripts/deps.sh
say "build: make"
check build pgxs_make -s
say "install: make install"
if [ "$(id -u)" -ne 0 ] && [ ! -w "$("$PG_CONFIG" --pkglibdir)" ] && sudo -n true 2>/dev/null; then
	check install sudo make -s install PG_CONFIG="$PG_CONFIG"
else
	check install pgxs_make -s install
fi

# Adds the counts an --inner run wrote to $1.
merge_results() {
	local key value
	if [ ! -f "$1" ]; then
		fail "cluster steps (no results from the inner run)"
		return
	fi
	while read -r key value; do
		case $key in
			passed) PASSED=$((PASSED + value)) ;;
			failed) FAILED=$((FAILED + value)) ;;
			name) FAILED_NAMES+=("$value") ;;
		esac
	done <"$1"
}

# The cluster steps run in a child process that is a child subreaper (see
# cluster.sh), so that a postmaster killed with -9 by a test does not linger as a
# zombie.
if [ "$(id -u)" -eq 0 ]; then
	say "copying the work tree for the postgres OS user"
	if WORK_COPY=$(copy_tree_for_postgres "$ROOT"); then
		echo "running the cluster steps as postgres in $WORK_COPY"
		cd "$WORK_COPY" || exit 1
		SESSION_CLUSTER_PARENT=$WORK_COPY SESSION_PASS_ENV=SESSION_CLUSTER_PARENT \
			run_child run_as_postgres "${SUBREAPER[@]}" bash "$WORK_COPY/test/scripts/test.sh" \
			--inner "$WORK_COPY/.test-results"
		cd "$ROOT" || exit 1
		merge_results "$WORK_COPY/.test-results"
		copy_back_outputs
	else
		fail "copy of the work tree for postgres"
	fi
else
	run_child "${SUBREAPER[@]}" bash "$ROOT/test/scripts/test.sh" --inner "$SCRATCH/results"
	merge_results "$SCRATCH/results"
fi
finish
