#!/usr/bin/env bash
# make test: installs the Debian packages the tests need (deps.sh test), builds with
# -Werror (make DEVELOPMENT=1), installs, then runs test/scripts/suites.sh (every
# test of the tree) in one throwaway cluster made by Debian's pg_virtualenv, checks
# that the cluster shuts down cleanly, and ends with the line
#   tests: N passed, M failed
# Every step continues after a failure; the exit status is 1 when anything failed or
# when no test ran.
#
# As root (CI), the cluster and the tests run as the postgres OS user in a copy of
# the tree (initdb and the TAP tests refuse root; pg_regress and prove write into the
# tree); results/, output_iso/, output_iso_hbuf/, regression.diffs and tmp_check/ are
# copied back.
#
# Environment: see test/scripts/lib.sh and test/scripts/suites.sh; SESSION_TEST_DEPS
# (the profiles of deps.sh to install, default "test"; make matrix runs "core", for the
# major version of PG_CONFIG).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
# shellcheck source=test/scripts/lib.sh
source test/scripts/lib.sh

# Inside the throwaway cluster (as its owner): the suites, then a fast shutdown, which
# must end with the worker gone (pg_virtualenv itself would stop it in immediate mode).
if [ "${1:-}" = --in-cluster ]; then
	bash test/scripts/suites.sh
	say "shutdown: pg_ctlcluster stop -m fast"
	verdict=FAILED
	timeout 90 pg_ctlcluster "$PG_MAJOR" regress stop -m fast && verdict=ok
	printf '%-7s %s\n' "$verdict" shutdown
	echo "$verdict shutdown" >>"$SESSION_TEST_RESULTS"
	exit 0
fi

# the results of every step, one line each ("ok NAME" / "FAILED NAME"), in a
# directory that the user of the cluster may write to
RESULTS_DIR=$(mktemp -d /tmp/session-results.XXXXXX)
RESULTS=$RESULTS_DIR/results
: >"$RESULTS"
[ "$(id -u)" -ne 0 ] || chown -R postgres: "$RESULTS_DIR"
WORK=
cleanup() {
	rm -rf "$RESULTS_DIR"
	[ -z "$WORK" ] || drop_tree_for_postgres "$ROOT" "$WORK"
}
trap cleanup EXIT

# step NAME COMMAND...: runs a step outside the cluster and records its result.
step() {
	local name=$1
	shift
	local verdict=FAILED
	"$@" && verdict=ok
	printf '%-7s %s\n' "$verdict" "$name"
	echo "$verdict $name" >>"$RESULTS"
}

say "dependencies: test/scripts/deps.sh ${SESSION_TEST_DEPS:-test}"
# shellcheck disable=SC2086 # a list of profiles
step deps bash test/scripts/deps.sh ${SESSION_TEST_DEPS:-test}
say "build: make DEVELOPMENT=1 (-Werror), every object rebuilt"
step build pgxs_make -s -B DEVELOPMENT=1
say "install: make install"
if [ "$(id -u)" -ne 0 ] && [ ! -w "$("$PG_CONFIG" --pkglibdir)" ] && sudo -n true 2>/dev/null; then
	step install sudo make -s install PG_CONFIG="$PG_CONFIG"
else
	step install pgxs_make -s install
fi

say "throwaway cluster: pg_virtualenv"
clean_pg_env
if WORK=$(tree_for_postgres "$ROOT"); then
	[ "$WORK" = "$ROOT" ] || echo "the tests run as postgres in $WORK"
	(cd "$WORK" && SESSION_TEST_RESULTS=$RESULTS as_postgres \
		"${VIRTUALENV[@]}" bash test/scripts/test.sh --in-cluster)
	grep -q '^[a-zA-Z]* server$' "$RESULTS" || echo "FAILED cluster (pg_virtualenv could not start one)" >>"$RESULTS"
	if [ "$WORK" != "$ROOT" ]; then
		for item in results output_iso output_iso_hbuf regression.diffs regression.out tmp_check; do
			rm -rf "${ROOT:?}/$item"
			[ -e "$WORK/$item" ] && cp -a "$WORK/$item" "$ROOT/$item"
		done
	fi
else
	echo "FAILED copy of the tree for postgres" >>"$RESULTS"
fi

passed=$(grep -c '^ok ' "$RESULTS")
failed=$(grep -c '^FAILED ' "$RESULTS")
echo
if [ "$failed" -gt 0 ]; then
	echo "failed:"
	sed -n 's/^FAILED /  /p' "$RESULTS"
fi
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
