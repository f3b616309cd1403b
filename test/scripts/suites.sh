#!/usr/bin/env bash
# Runs every test of the tree against the running server named by PGHOST, PGPORT,
# PGUSER (a superuser; PGPASSWORD if needed), which must preload the library with
# session.database = 'contrib_regression':
#
#   1. the server check: the library is preloaded and its worker runs
#   2. make installcheck: the pg_regress files (test/sql), then the isolation specs
#      (test/specs), one result per file, twice: in isolation_regression, which the
#      worker does not serve, so heartbeats write their rows (isolation/NAME), and in
#      contrib_regression, which it serves, so heartbeats go to the shared-memory
#      buffer and the worker flushes them (isolation-hbuf/NAME; output_iso_hbuf/).
#      Both compare with the same test/expected/NAME.out (or its NAME_N.out
#      alternatives, where the buffer really changes an outcome).
#   3. make prove_installcheck: the TAP tests (test/t), one result per file
#   4. every executable test/{reliability,upgrade,clients,ops,doc}/*.sh, in that order,
#      one result each; run with SESSION_ROOT (the tree's root), SESSION_TEST_LOG (the
#      server log, when known) and no standard input
#
# make test runs it inside its throwaway cluster (test/scripts/test.sh); run it by
# hand against a server of your own as the OS user that owns the tree (not root:
# the TAP tests refuse it). Prints "ok NAME" / "FAILED NAME" per test and the line
# "tests: N passed, M failed"; with SESSION_TEST_RESULTS=FILE, appends those result
# lines to FILE instead of the summary (test.sh counts them). Exits 1 when anything
# failed.
#
# Environment: SESSION_TEST_ONLY (run only the tests whose result names match these
# shell patterns, e.g. "regress/050_context isolation/* tap/008*"; the server check
# always runs), SESSION_SCRIPT_TIMEOUT (seconds per script, default 900),
# SESSION_REGRESS_TIMEOUT (per make installcheck, default 1800),
# SESSION_TAP_TIMEOUT (make prove_installcheck, default 2700), PROVE_FLAGS.
set -uo pipefail

SESSION_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export SESSION_ROOT
cd "$SESSION_ROOT" || exit 1
# shellcheck source=test/scripts/lib.sh
source test/scripts/lib.sh

PASSED=0
FAILED=0
OUT=$(mktemp -d /tmp/session-suites.XXXXXX)
trap 'rm -rf "$OUT"' EXIT

result() {
	local verdict=$1 name=$2
	if [ "$verdict" = ok ]; then
		PASSED=$((PASSED + 1))
	else
		FAILED=$((FAILED + 1))
	fi
	printf '%-7s %s\n' "$verdict" "$name"
	if [ -n "${SESSION_TEST_RESULTS:-}" ]; then
		printf '%s %s\n' "$verdict" "$name" >>"$SESSION_TEST_RESULTS"
	fi
}

# The server log, for the reliability checks to spot backend crashes: the log of the
# pg_virtualenv cluster (pg_lsclusters sees it through PG_CLUSTER_CONF_ROOT).
if [ -z "${SESSION_TEST_LOG:-}" ] && [ -n "${PG_CLUSTER_CONF_ROOT:-}" ]; then
	SESSION_TEST_LOG=$(pg_lsclusters -h "$PG_MAJOR" regress 2>/dev/null | awk '{ print $7 }')
	[ -r "${SESSION_TEST_LOG:-}" ] && export SESSION_TEST_LOG
fi

say "server: library preloaded, worker running (PGHOST=${PGHOST:-} PGPORT=${PGPORT:-})"
worker=$(psql -X -A -t -d postgres -c "SELECT current_setting('shared_preload_libraries')
	~ '(^|[ ,])session($|[ ,])' AND current_setting('session.database') = 'contrib_regression'" 2>&1)
if [ "$worker" = t ]; then
	result ok server
else
	echo "the server does not preload session with session.database = 'contrib_regression': $worker"
	result FAILED server
fi

# pg_regress_results LABEL OUTPUT NAMES...: one result per test NAME, from the
# "test NAME ... ok|FAILED" lines of pg_regress 15 (or "ok N - NAME" of 16 and later);
# a NAME without a line failed.
pg_regress_results() {
	local label=$1 out=$2 name line verdict
	shift 2
	for name in "$@"; do
		verdict=FAILED
		while IFS= read -r line; do
			if [[ $line =~ ^(test[[:space:]]+|[[:space:]]+)?${name}[[:space:]]+\.\.\.[[:space:]]+(ok|FAILED|failed) ]]; then
				[ "${BASH_REMATCH[2]}" = ok ] && verdict=ok
				break
			elif [[ $line =~ ^(not[[:space:]]+)?ok[[:space:]]+[0-9]+[[:space:]]+[-+][[:space:]]+${name}([[:space:]]|$) ]]; then
				[ -z "${BASH_REMATCH[1]}" ] && verdict=ok
				break
			fi
		done <"$out"
		result "$verdict" "$label/$name"
	done
}

# wanted KIND/NAME: whether SESSION_TEST_ONLY (shell patterns over the result names,
# separated by spaces, e.g. "regress/050_* isolation/close_races tap/008*") selects it;
# everything is selected when it is empty.
wanted() {
	local -a patterns
	local p
	[ -n "${SESSION_TEST_ONLY:-}" ] || return 0
	read -ra patterns <<<"$SESSION_TEST_ONLY"
	for p in "${patterns[@]}"; do
		# shellcheck disable=SC2053 # p is a pattern
		[[ $1 == $p ]] && return 0
	done
	return 1
}

# names KIND FILES...: the test names of FILES (without folder and extension) that
# SESSION_TEST_ONLY selects.
names() {
	local kind=$1 f
	shift
	for f in "$@"; do
		[ -e "$f" ] || continue
		f=${f##*/}
		f=${f%.*}
		wanted "$kind/$f" && printf '%s\n' "$f"
	done
}

rm -rf results output_iso output_iso_hbuf regression.diffs regression.out test/results test/output_iso

mapfile -t tests < <(names regress test/sql/*.sql)
if [ ${#tests[@]} -gt 0 ]; then
	say "regression: make installcheck (test/sql)"
	timeout --kill-after=30 "${SESSION_REGRESS_TIMEOUT:-1800}" \
		make -s installcheck PG_CONFIG="$PG_CONFIG" REGRESS="${tests[*]}" ISOLATION= TAP_TESTS= 2>&1 | tee "$OUT/regress"
	pg_regress_results regress "$OUT/regress" "${tests[@]}"
	[ -s regression.diffs ] && head -n 400 regression.diffs
elif [ -z "${SESSION_TEST_ONLY:-}" ]; then
	result FAILED "regress (no test/sql/*.sql)"
fi

mapfile -t tests < <(names isolation test/specs/*.spec)
if [ ${#tests[@]} -gt 0 ]; then
	say "isolation: make installcheck (test/specs), heartbeats written through"
	timeout --kill-after=30 "${SESSION_REGRESS_TIMEOUT:-1800}" \
		make -s installcheck PG_CONFIG="$PG_CONFIG" REGRESS= ISOLATION="${tests[*]}" TAP_TESTS= 2>&1 | tee "$OUT/isolation"
	pg_regress_results isolation "$OUT/isolation" "${tests[@]}"
	[ -s output_iso/regression.diffs ] && head -n 400 output_iso/regression.diffs
fi

# hbuf_ready: contrib_regression has the extension and the worker buffers its
# heartbeats (a session opened there gets an entry in the buffer).
hbuf_ready() {
	psql -X -q -d postgres -c "CREATE DATABASE contrib_regression" >/dev/null 2>&1
	psql -X -q -v ON_ERROR_STOP=1 -d contrib_regression -c "CREATE EXTENSION IF NOT EXISTS session CASCADE" >/dev/null || return 1
	local i id used
	for i in $(seq 1 60); do
		id=$(psql -X -A -t -d contrib_regression -c "SELECT session.open_session('hbuf-probe', 'hbuf-probe')")
		used=$(psql -X -A -t -d contrib_regression -c "SELECT used FROM session.heartbeat_buffer_status()")
		psql -X -q -d contrib_regression -c "SELECT session.close_session($id)" \
			-c "DELETE FROM session_storage.ended_sessions WHERE project = 'hbuf-probe'" >/dev/null
		[ "$used" -gt 0 ] 2>/dev/null && return 0
		sleep 0.5
	done
	echo "the worker does not buffer the heartbeats of contrib_regression: $used"
	return 1
}

# The same specs with the buffer on. The worker must not expire the specs' sessions
# by itself (they set the timeouts they test in their own sessions): its timeouts are
# off for the run (ALTER SYSTEM, reset afterwards).
mapfile -t tests < <(names isolation-hbuf test/specs/*.spec)
if [ ${#tests[@]} -gt 0 ]; then
	say "isolation-hbuf: the specs again in contrib_regression, heartbeats buffered"
	psql -X -q -d postgres -c "ALTER SYSTEM SET session.idle_timeout = 0" -c "SELECT pg_reload_conf()" >/dev/null
	if hbuf_ready; then
		timeout --kill-after=30 "${SESSION_REGRESS_TIMEOUT:-1800}" \
			make -s installcheck PG_CONFIG="$PG_CONFIG" REGRESS= ISOLATION="${tests[*]}" TAP_TESTS= \
			ISOLATION_OPTS="--inputdir=test --outputdir=output_iso_hbuf --dbname=contrib_regression --use-existing" \
			2>&1 | tee "$OUT/isolation-hbuf"
	fi
	psql -X -q -d postgres -c "ALTER SYSTEM RESET session.idle_timeout" -c "SELECT pg_reload_conf()" >/dev/null
	pg_regress_results isolation-hbuf "$OUT/isolation-hbuf" "${tests[@]}"
	[ -s output_iso_hbuf/regression.diffs ] && head -n 400 output_iso_hbuf/regression.diffs
fi

mapfile -t tests < <(names tap test/t/*.pl)
if [ ${#tests[@]} -gt 0 ]; then
	say "TAP: make prove_installcheck (test/t)"
	timeout --kill-after=30 "${SESSION_TAP_TIMEOUT:-2700}" \
		make -s prove_installcheck PG_CONFIG="$PG_CONFIG" PROVE_TESTS="$(printf 'test/t/%s.pl ' "${tests[@]}")" 2>&1 | tee "$OUT/tap"
	# prove names every failed file in its summary report, and ends with "Result:"
	for name in "${tests[@]}"; do
		if grep -q '^Result: ' "$OUT/tap" &&
			! grep -q "^test/t/$name\.pl[[:space:]]*(Wstat" "$OUT/tap"; then
			result ok "tap/$name"
		else
			result FAILED "tap/$name"
			if [ -f "tmp_check/log/regress_log_$name" ]; then
				echo "---- last 40 lines of tmp_check/log/regress_log_$name ----"
				tail -n 40 "tmp_check/log/regress_log_$name"
			fi
		fi
	done
fi

for kind in reliability upgrade clients ops doc; do
	for script in test/"$kind"/*.sh; do
		[ -x "$script" ] || continue
		name=${script##*/}
		wanted "$kind/${name%.sh}" || continue
		say "$kind: $script"
		if timeout --kill-after=30 "${SESSION_SCRIPT_TIMEOUT:-900}" "$script" </dev/null; then
			result ok "$kind/${name%.sh}"
		else
			result FAILED "$kind/${name%.sh}"
		fi
	done
done

# test.sh prints the summary of the whole run
if [ -z "${SESSION_TEST_RESULTS:-}" ]; then
	echo
	echo "tests: $PASSED passed, $FAILED failed"
fi
[ "$FAILED" -eq 0 ]
