#!/usr/bin/env bash
# The Python client (clients/python): installs it offline, as a user would with
# `pip install ./clients/python`, into a throwaway virtualenv on Debian's python3
# (--system-site-packages: psycopg, psycopg_pool, pytest and setuptools come from
# Debian, --no-index --no-build-isolation: no PyPI), then runs its pytest suite
# against the cluster named by PGHOST/PGPORT/PGUSER (a superuser). The suite creates
# and drops a database of its own. Prints pytest's summary line and then
#   N passed, M failed
# Environment: SESSION_ROOT (the tree, default: this script's), SESSION_PYTHON
# (default /usr/bin/python3), PYTEST_ADDOPTS (passed on to pytest).
set -euo pipefail

ROOT=${SESSION_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PYTHON=${SESSION_PYTHON:-/usr/bin/python3}
: "${PGHOST:?PGHOST must name the cluster}" "${PGPORT:?}" "${PGUSER:?}"
export PGHOST PGPORT PGUSER
unset PGDATABASE

WORK=$(mktemp -d "${TMPDIR:-/tmp}/session-pyclient.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Build from a copy: pip and setuptools write build/ and *.egg-info next to the sources,
# and the tree may not be writable by the cluster's OS user.
tar -C "$ROOT/clients/python" --exclude=__pycache__ --exclude='*.egg-info' --exclude=build \
	--exclude=.pytest_cache -cf - . | (mkdir "$WORK/client" && tar -C "$WORK/client" -xf -)

# no pip of its own: Debian's pip, seen through --system-site-packages, installs into the venv
"$PYTHON" -m venv --without-pip --system-site-packages "$WORK/venv"
if ! "$WORK/venv/bin/python" -m pip install --no-index --no-build-isolation --quiet \
	--disable-pip-version-check "$WORK/client" >"$WORK/pip.log" 2>&1; then
	cat "$WORK/pip.log"
	echo "python: pip install ./clients/python failed"
	echo "0 passed, 1 failed"
	exit 1
fi

# The tests import the installed package (the sources sit in src/, which is not on the path).
export SESSION_ROOT=$ROOT  # the tree, for the test of doc/clients.md's Python part
status=0
(cd "$WORK/client" && HOME="$WORK" "$WORK/venv/bin/python" -m pytest -p no:cacheprovider -q -rs \
	--junitxml="$WORK/junit.xml" tests) >"$WORK/pytest.log" 2>&1 || status=$?
cat "$WORK/pytest.log"

"$WORK/venv/bin/python" - "$WORK/junit.xml" "$status" <<'PY'
import sys
import xml.etree.ElementTree as ET

path, status = sys.argv[1], int(sys.argv[2])
try:
    suites = ET.parse(path).getroot()
except (OSError, ET.ParseError):
    print("0 passed, 1 failed")
    sys.exit(1)
total = failed = skipped = 0
for s in suites.iter("testsuite"):
    total += int(s.get("tests", 0))
    failed += int(s.get("failures", 0)) + int(s.get("errors", 0))
    skipped += int(s.get("skipped", 0))
if status != 0 and failed == 0:
    failed = 1
print(f"{total - failed - skipped} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
