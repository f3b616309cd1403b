#!/usr/bin/env bash
# make package: builds the Debian package postgresql-15-session from a clean
# clone of the repository's HEAD, checks it with lintian (no error allowed),
# "installs" it with dpkg -x into a temporary root, and runs the regression
# tests (pg_regress and isolation) against the installed files on a throwaway
# cluster made by pg_virtualenv.
#
# Why dpkg -x and not dpkg -i: dpkg -i would write the system's PostgreSQL
# directories and dpkg database, which other builds and test runs on this
# machine use. Debian's PostgreSQL has extension_destdir for exactly this
# (pg_buildext installcheck uses it): the test server reads the control and
# SQL files under the temporary root first, and dynamic_library_path points
# at its library, so the tests see the package's files and only those (the
# script checks that the server mapped the package's session.so).
#
# Runs as root or as a normal user (dpkg-buildpackage needs no root:
# Rules-Requires-Root: no). Uncommitted changes are not in the package.
# Environment: SESSION_TEST_KEEP=1 keeps the temporary directory.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_MAJOR=15
passed=0
failed=0
step() {
	local name=$1
	shift
	printf '\n==> %s\n' "$name"
	if "$@"; then
		passed=$((passed + 1))
		echo "ok      $name"
	else
		failed=$((failed + 1))
		echo "FAILED  $name"
	fi
}
finish() {
	echo
	echo "package: $passed passed, $failed failed"
	if [ "${SESSION_TEST_KEEP:-0}" = 1 ]; then
		echo "kept $WORK"
	else
		rm -rf "$WORK"
	fi
	[ "$failed" -eq 0 ]
	exit
}

# the Debian packages this needs (as root installs them, else names them)
bash "$ROOT/test/scripts/deps.sh" package || exit 1

version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$ROOT/session.control")
if ! git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
	echo "package: $ROOT is not a git repository (make package builds from a clean clone)" >&2
	exit 1
fi
if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no)" ]; then
	echo "package: note: uncommitted changes are not in the package (it is built from HEAD)"
fi

WORK=$(mktemp -d /tmp/session-package.XXXXXX) || exit 1
chmod 755 "$WORK" # the test server (user postgres) reads the installed files here
SRC=$WORK/session-$version
DEST=$WORK/root

clone() {
	git clone -q --no-hardlinks "$ROOT" "$SRC" && chmod -R a+rX "$SRC"
}

build() {
	# the regression tests run below against the installed files instead
	(cd "$SRC" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b) >"$WORK/build.log" 2>&1 || {
		tail -n 40 "$WORK/build.log"
		return 1
	}
	ls "$WORK"/postgresql-$PG_MAJOR-session_"$version"-*_*.deb
}

run_lintian() {
	# lintian warns when run as root; its findings are what matters
	lintian --fail-on error "$WORK"/session_"$version"-*_*.changes 2>&1 |
		grep -v '^running with root privileges'
	return "${PIPESTATUS[0]}"
}

install_files() {
	dpkg -x "$WORK"/postgresql-$PG_MAJOR-session_"$version"-*_*.deb "$DEST" &&
		chmod -R a+rX "$DEST" &&
		test -f "$DEST/usr/lib/postgresql/$PG_MAJOR/lib/session.so" &&
		test -f "$DEST/usr/share/postgresql/$PG_MAJOR/extension/session--$version.sql" &&
		test -f "$DEST/usr/share/doc/postgresql-doc-$PG_MAJOR/extension/session-exporter-queries.yaml"
}

# Inside pg_virtualenv: the library the server mapped is the package's, then the tests.
installed_tests() {
	local datadir pid
	datadir=$(psql -XAtc 'SHOW data_directory' postgres) || return 1
	pid=$(head -n 1 "$datadir/postmaster.pid") || return 1
	# the postmaster preloaded it (shared_preload_libraries)
	if ! grep -q " $DEST/usr/lib/postgresql/$PG_MAJOR/lib/session.so$" "/proc/$pid/maps"; then
		echo "the server did not load the package's session.so:" >&2
		grep session.so "/proc/$pid/maps" >&2
		return 1
	fi
	echo "the server runs the package's $DEST/usr/lib/postgresql/$PG_MAJOR/lib/session.so"
	make -C "$SRC" -s installcheck PG_CONFIG="/usr/lib/postgresql/$PG_MAJOR/bin/pg_config" TAP_TESTS=
}

regress() {
	(cd "$SRC" && NONROOT=1 PG_REGRESS_DIFF_OPTS=-U3 pg_virtualenv -v $PG_MAJOR \
		-o "extension_destdir=$DEST" \
		-o "dynamic_library_path=$DEST/usr/lib/postgresql/$PG_MAJOR/lib:\$libdir" \
		-o shared_preload_libraries=session \
		-o session.database=contrib_regression \
		-o session.reaper_interval=1s \
		bash -c "$(declare -f installed_tests); DEST='$DEST' SRC='$SRC' PG_MAJOR=$PG_MAJOR installed_tests") || {
		find "$SRC" -name regression.diffs -size +0 -exec head -n 200 {} \;
		return 1
	}
}

step "clean clone of HEAD" clone || finish
step "dpkg-buildpackage -us -uc -b" build || finish
step "lintian: no errors" run_lintian
step "install (dpkg -x) into $DEST" install_files || finish
step "regression tests against the installed files" regress
finish
