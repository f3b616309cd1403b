#!/usr/bin/env bash
# make demo: installs the packages the demo needs (deps.sh demo), builds, installs,
# and walks through test/demo/demo.sql, then loads a week of history (test/demo/week.sql)
# and runs the reporting panels of test/demo/reporting.sql, with psql in a throwaway cluster made by
# Debian's pg_virtualenv (session.database = 'demo', worker pass every second),
# dropped at the end.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=test/scripts/lib.sh
source test/scripts/lib.sh

say "dependencies: test/scripts/deps.sh demo"
bash test/scripts/deps.sh demo
say "build and install"
pgxs_make -s
if [ "$(id -u)" -ne 0 ] && [ ! -w "$("$PG_CONFIG" --pkglibdir)" ] && sudo -n true 2>/dev/null; then
	sudo make -s install PG_CONFIG="$PG_CONFIG"
else
	pgxs_make -s install
fi

say "running test/demo/demo.sql, then a week of history (week.sql) and its reports (reporting.sql)"
clean_pg_env
# psql reads the walkthrough from standard input, opened here: the cluster's owner
# need not be able to read the tree.
# shellcheck disable=SC2016 # expanded by the inner shell
cat test/demo/demo.sql test/demo/week.sql test/demo/reporting.sql |
	as_postgres "${VIRTUALENV[@]}" -o "session.database=demo" \
		sh -c 'createdb demo && psql -X -e -v ON_ERROR_STOP=1 -d demo' 2>&1
