#!/usr/bin/env bash
# make matrix: builds the extension with -Werror and runs make installcheck
# (regress and isolation), make prove_installcheck (TAP) and the upgrade check on
# every supported PostgreSQL major version, each against a throwaway cluster that
# preloads the library (test/scripts/test.sh with SESSION_TEST_ONLY=$MATRIX_TESTS),
# then restores a pg_dump made on 15 into each later version
# (test/matrix/dump_restore.sh). Ends with one line per version and
#   matrix: N passed, M failed[, K skipped]
# counting versions, after the line "matrix tests: N passed, M failed" that counts
# the tests of all versions. Exits 1 when a version failed or was skipped.
#
# 15 runs on this machine (Debian 12), as make test does. The other versions come
# from later Debian suites, whose binaries need their own C library: each runs
# in a root filesystem of its suite (debootstrap), entered with chroot in a private
# mount namespace (unshare -m: whatever is mounted there goes away with the
# namespace, also when a step fails). A version whose root filesystem or packages
# cannot be fetched is reported as skipped, never as passed.
#
# Root filesystems are cached under MATRIX_CACHE; a second run fetches only what
# the tree's test/scripts/deps.sh core lists and the root lacks.
#
# Runs as root (debootstrap, chroot, mount). Environment:
#   MATRIX_VERSIONS  the versions to run (default "15 17 18")
#   MATRIX_CACHE     cache of the root filesystems and the logs (default .matrix)
#   MATRIX_MIRROR    the Debian mirror (default: the one this machine's apt uses)
#   MATRIX_REFRESH=1 upgrade the cached root filesystems' packages first
#   MATRIX_TIMEOUT   seconds per version (default 3600)
#   MATRIX_TESTS     the tests of test.sh to run (default "regress/* isolation/* isolation-hbuf/* tap/* upgrade/*")
#   SESSION_TEST_PORT  the port of the throwaway clusters (default: a free one)
# Logs: MATRIX_CACHE/logs/VERSION.log (the whole test output of a version) and
# MATRIX_CACHE/logs/VERSION/ (regression.diffs, output_iso/, tmp_check/log/).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1

# The Debian suite that ships each version other than 15 (this machine's).
suite_of() {
	case $1 in
		17) echo trixie ;;
		18) echo unstable ;;
		*) return 1 ;;
	esac
}

# --enter DIR COMMAND...: (inside unshare -m) mounts what a PostgreSQL server and
# apt-get need in the root filesystem DIR, runs COMMAND there, unmounts.
#   /proc     postgresql-common's post-install script, ps, pg_ctl
#   /dev/shm  the server's dynamic shared memory (POSIX)
#   /dev/pts  psql and the TAP tests' pseudo-terminals (IPC::Run)
# The device nodes of /dev itself are those debootstrap made.
if [ "${1:-}" = --enter ]; then
	dir=$2
	shift 2
	mounted=()
	# shellcheck disable=SC2317 # called by the trap
	cleanup() {
		local i
		for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
			umount -l "${mounted[i]}" 2>/dev/null
		done
	}
	trap cleanup EXIT
	trap 'exit 1' INT TERM HUP
	mount -t proc proc "$dir/proc" && mounted+=("$dir/proc") || exit 1
	mkdir -p "$dir/dev/shm" "$dir/dev/pts"
	mount -t tmpfs -o mode=1777,nosuid,nodev shm "$dir/dev/shm" && mounted+=("$dir/dev/shm") || exit 1
	mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$dir/dev/pts" &&
		mounted+=("$dir/dev/pts") || exit 1
	cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null
	chroot "$dir" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
	exit $?
fi

# shellcheck source=test/scripts/lib.sh
source test/scripts/lib.sh

VERSIONS=${MATRIX_VERSIONS:-15 17 18}
CACHE=${MATRIX_CACHE:-$ROOT/.matrix}
LOGS=$CACHE/logs
TIMEOUT=${MATRIX_TIMEOUT:-3600}
# what the matrix runs of the suites: installcheck, prove_installcheck and the
# upgrade check (ALTER EXTENSION UPDATE from every released version), which needs
# only psql (the reliability, client and ops scripts need tools that only the
# host has; make test runs them on 15); MATRIX_TESTS
# narrows it for a quick check, with the patterns of SESSION_TEST_ONLY
MATRIX_TESTS=${MATRIX_TESTS:-"regress/* isolation/* isolation-hbuf/* tap/* upgrade/*"}

# The first Debian mirror of this machine's apt sources that is not the security
# archive; deb.debian.org when there is none.
host_mirror() {
	local uri
	uri=$(grep -hsE '^[[:space:]]*(URIs:|deb[[:space:]])' /etc/apt/sources.list \
		/etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources |
		grep -v -- '-security' | grep -oE 'https?://[^[:space:]]+/debian/?' | head -n 1)
	printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}
MIRROR=${MATRIX_MIRROR:-$(host_mirror)}

# enter DIR COMMAND...: runs COMMAND in the root filesystem DIR.
enter() {
	unshare -m --propagation private bash "$ROOT/test/scripts/matrix.sh" --enter "$@"
}

# prepare_root VERSION DIR: makes (once) the root filesystem DIR of VERSION's suite
# with what test/scripts/deps.sh core lists for VERSION. Fails when something
# could not be fetched.
prepare_root() {
	local v=$1 dir=$2 suite
	suite=$(suite_of "$v") || return 1
	if [ ! -x "$dir/usr/bin/apt-get" ]; then
		say "$v: debootstrap $suite from $MIRROR into $dir (once)"
		rm -rf "$dir.new"
		mkdir -p "$(dirname "$dir")"
		debootstrap --variant=minbase "$suite" "$dir.new" "$MIRROR" || {
			rm -rf "$dir.new"
			return 1
		}
		rm -rf "$dir"
		mv "$dir.new" "$dir"
	fi
	if [ ! -f "$dir/etc/session-matrix" ] || [ "${MATRIX_REFRESH:-0}" = 1 ]; then
		say "$v: apt-get update and the packages of deps.sh core in $dir"
		# the unstable suite's index may be older than its Valid-Until date; no
		# service starts in the root filesystem
		cat >"$dir/etc/apt/apt.conf.d/99session-matrix" <<-EOF
			Acquire::Check-Valid-Until "false";
			APT::Install-Recommends "false";
		EOF
		printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
		chmod 755 "$dir/usr/sbin/policy-rc.d"
		printf 'deb %s %s main\n' "$MIRROR" "$suite" >"$dir/etc/apt/sources.list"
		enter "$dir" apt-get -q update || return 1
		if [ "${MATRIX_REFRESH:-0}" = 1 ]; then
			enter "$dir" apt-get -q -y upgrade </dev/null || return 1
		fi
		copy_tree "$dir" || return 1
		enter "$dir" env PG_MAJOR="$v" bash /work/session/test/scripts/deps.sh core </dev/null || return 1
		# the packages made a cluster "main"; the tests make their own
		enter "$dir" pg_dropcluster --stop "$v" main 2>/dev/null
		# the downloaded packages (a quarter of a GB) are installed: drop them
		enter "$dir" apt-get clean
		echo "$suite PostgreSQL $v" >"$dir/etc/session-matrix"
	fi
	[ -x "$dir/usr/lib/postgresql/$v/bin/pg_config" ]
}

# copy_tree DIR: the work tree at DIR/work/session (a fresh copy: no build
# outputs, no .git, no cache).
copy_tree() {
	rm -rf "$1/work/session" && mkdir -p "$1/work/session" || return 1
	tar -C "$ROOT" --exclude=./.git --exclude=./.matrix --exclude=./tmp_check \
		--exclude=./results --exclude=./output_iso --exclude=./test/bench/results \
		--exclude='*.o' --exclude='*.so' --exclude='*.bc' -cf - . |
		tar -C "$1/work/session" -xf -
}

# keep_outputs TREE VERSION: copies the outputs of a run in TREE to LOGS/VERSION.
keep_outputs() {
	local item
	rm -rf "${LOGS:?}/$2" && mkdir -p "$LOGS/$2"
	for item in regression.diffs output_iso/regression.diffs tmp_check/log; do
		if [ -e "$1/$item" ]; then
			mkdir -p "$LOGS/$2/$(dirname "$item")"
			cp -a "$1/$item" "$LOGS/$2/$item"
		fi
	done
}

# summary LOG: the "tests: N passed, M failed" line of test.sh in LOG.
summary() {
	grep -E '^tests: [0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1
}

mkdir -p "$LOGS" || exit 1
# one run per cache: the roots hold the copy of the tree a run is testing
exec 9>"$CACHE/lock"
if ! flock -n 9; then
	echo "matrix: another make matrix is using $CACHE (MATRIX_CACHE chooses another)" >&2
	exit 1
fi
DUMP=$CACHE/dump
declare -A STATUS LINE
TOTAL_PASSED=0
TOTAL_FAILED=0
for v in $VERSIONS; do
	STATUS[$v]=FAILED
	LINE[$v]="not run"
done

# the tests of a version: test.sh in the version's tree; prints its summary line.
run_tests() {
	local v=$1 log=$LOGS/$1.log
	if [ "$v" = 15 ]; then
		say "15: test/scripts/test.sh on this machine (log: $log)"
		clean_pg_env
		SESSION_TEST_ONLY=$MATRIX_TESTS SESSION_TEST_DEPS=core \
			timeout --kill-after=60 "$TIMEOUT" bash test/scripts/test.sh >"$log" 2>&1
		keep_outputs "$ROOT" "$v"
	else
		local dir
		dir=$CACHE/roots/$(suite_of "$v")
		say "$v: test/scripts/test.sh in $dir (log: $log)"
		copy_tree "$dir" || return 1
		timeout --kill-after=60 "$TIMEOUT" unshare -m --propagation private \
			bash "$ROOT/test/scripts/matrix.sh" --enter "$dir" \
			env PG_CONFIG="/usr/lib/postgresql/$v/bin/pg_config" \
			SESSION_TEST_ONLY="$MATRIX_TESTS" SESSION_TEST_DEPS=core \
			${SESSION_TEST_PORT:+SESSION_TEST_PORT="$SESSION_TEST_PORT"} \
			bash -c 'cd /work/session && bash test/scripts/test.sh' >"$log" 2>&1 </dev/null
		keep_outputs "$dir/work/session" "$v"
	fi
	sed -n '/^failed:$/,/^tests: /p' "$log"
	[ -n "$(summary "$log")" ] || echo "$v: test.sh ended without its summary (see $log)"
	grep -qE '^tests: [1-9][0-9]* passed, 0 failed' "$log"
}

# The dump of 15 (test/matrix/dump_restore.sh dump), made once per run in a
# cluster of this machine's 15 with the tree's build installed.
make_dump() {
	local log=$LOGS/dump-15.log
	say "15: pg_dump of a database with open sessions, history and events (log: $log)"
	rm -rf "$DUMP" && mkdir -p "$DUMP" && chmod 777 "$DUMP"
	(
		PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
		pgxs_make -s DEVELOPMENT=1 && pgxs_make -s install || exit 1
		clean_pg_env
		as_postgres "${VIRTUALENV[@]}" -o session.database=postgres \
			bash "$ROOT/test/matrix/dump_restore.sh" dump "$DUMP"
	) >"$log" 2>&1 </dev/null
	local rc=$?
	tail -n 5 "$log"
	[ $rc -eq 0 ] && [ -s "$DUMP/src.dump" ] && [ -s "$DUMP/digest" ]
}

# restore_dump VERSION: restores the dump of 15 in a cluster of VERSION
# (test/matrix/dump_restore.sh restore).
restore_dump() {
	local v=$1 dir log=$LOGS/restore-$1.log
	dir=$CACHE/roots/$(suite_of "$v")
	say "$v: pg_restore of the dump of 15 (log: $log)"
	rm -rf "$dir/work/dump" && cp -a "$DUMP" "$dir/work/dump" && chmod -R a+rwX "$dir/work/dump" || return 1
	# shellcheck disable=SC2016 # expanded in the root filesystem
	timeout --kill-after=60 600 unshare -m --propagation private \
		bash "$ROOT/test/scripts/matrix.sh" --enter "$dir" \
		env PG_CONFIG="/usr/lib/postgresql/$v/bin/pg_config" \
		${SESSION_TEST_PORT:+SESSION_TEST_PORT="$SESSION_TEST_PORT"} \
		bash -c 'cd /work/session && source test/scripts/lib.sh && clean_pg_env &&
			as_postgres "${VIRTUALENV[@]}" -o session.database=postgres \
				bash test/matrix/dump_restore.sh restore /work/dump' \
		>"$log" 2>&1 </dev/null
	local rc=$?
	grep -E '^(ok|not ok|restore:)' "$log" | tail -n 40
	[ $rc -eq 0 ]
}

if [ "$(id -u)" -ne 0 ]; then
	echo "make matrix runs as root (debootstrap, chroot, mount)" >&2
	for v in $VERSIONS; do LINE[$v]="not run: make matrix needs root"; done
else
	# debootstrap; and 15, whose pg_dump every later version restores
	bash test/scripts/deps.sh matrix core || echo "matrix: deps.sh matrix core failed"
	have_dump=no
	for v in $VERSIONS; do
		start=$SECONDS
		if [ "$v" != 15 ]; then
			if ! suite_of "$v" >/dev/null; then
				LINE[$v]="no Debian suite known for PostgreSQL $v"
				continue
			fi
			say "$v: the root filesystem of Debian $(suite_of "$v") (log: $LOGS/root-$v.log)"
			if ! prepare_root "$v" "$CACHE/roots/$(suite_of "$v")" >"$LOGS/root-$v.log" 2>&1; then
				tail -n 20 "$LOGS/root-$v.log"
				echo "!!! $v: SKIPPED: its root filesystem or packages could not be fetched (log: $LOGS/root-$v.log)"
				STATUS[$v]=SKIPPED
				LINE[$v]="its packages could not be fetched, nothing was tested (see $LOGS/root-$v.log)"
				continue
			fi
		fi
		run_tests "$v"
		ok=$?
		tests=$(summary "$LOGS/$v.log")
		echo "$v: ${tests:-no summary}"
		if [ -n "$tests" ]; then
			read -r _ p _ f _ <<<"$tests"
			TOTAL_PASSED=$((TOTAL_PASSED + p))
			TOTAL_FAILED=$((TOTAL_FAILED + f))
		else
			tests="no summary"
			TOTAL_FAILED=$((TOTAL_FAILED + 1))
		fi
		restore=""
		if [ "$v" != 15 ]; then
			if [ "$have_dump" = no ]; then
				if make_dump; then have_dump=yes; else have_dump=failed; fi
			fi
			if [ "$have_dump" = yes ] && restore_dump "$v"; then
				restore="; restore of a dump of 15: ok"
				TOTAL_PASSED=$((TOTAL_PASSED + 1))
			else
				restore="; restore of a dump of 15: FAILED"
				TOTAL_FAILED=$((TOTAL_FAILED + 1))
				ok=1
			fi
		fi
		[ $ok -eq 0 ] && STATUS[$v]=ok
		LINE[$v]="$tests$restore ($((SECONDS - start)) s, log: $LOGS/$v.log)"
	done
fi

echo
passed=0 failed=0 skipped=0
for v in $VERSIONS; do
	case ${STATUS[$v]} in
		ok) passed=$((passed + 1)) ;;
		SKIPPED) skipped=$((skipped + 1)) ;;
		*) failed=$((failed + 1)) ;;
	esac
	printf '%-7s PostgreSQL %s: %s\n' "${STATUS[$v]}" "$v" "${LINE[$v]}"
done
# the tests of every version (test.sh's results, one more per restore)
echo "matrix tests: $TOTAL_PASSED passed, $TOTAL_FAILED failed"
if [ $skipped -gt 0 ]; then
	echo "matrix: $passed passed, $failed failed, $skipped skipped"
else
	echo "matrix: $passed passed, $failed failed"
fi
[ $failed -eq 0 ] && [ $skipped -eq 0 ]
