# shellcheck shell=bash
# Shell shared by the runners of test/scripts (test.sh, demo.sh, stress.sh) and
# test/bench/run.sh: the PostgreSQL tool paths, running a command as the postgres OS
# user, a copy of the tree that user may write to, and the options of the throwaway
# cluster, which Debian's pg_virtualenv makes (pg_createcluster in a temporary
# directory, dropped when the command ends).
#
#   source test/scripts/lib.sh
#   as_postgres "${VIRTUALENV[@]}" [-o name=value ...] COMMAND...
#
# Environment: PG_CONFIG (default /usr/lib/postgresql/15/bin/pg_config),
# SESSION_TEST_PORT (port of the throwaway cluster; default: the first free one
# from 5432, chosen by pg_createcluster), SESSION_TEST_KEEP=1 (keep the copy of the
# tree).

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
[ -x "$PG_CONFIG" ] || PG_CONFIG=$(command -v pg_config || echo /usr/lib/postgresql/15/bin/pg_config)
PG_BINDIR=$("$PG_CONFIG" --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
PG_MAJOR=$("$PG_CONFIG" --version 2>/dev/null | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
PG_MAJOR=${PG_MAJOR:-15}
case ":$PATH:" in
	":$PG_BINDIR:"*) ;;
	*) PATH="$PG_BINDIR:$PATH" ;;
esac
export PATH PG_CONFIG PG_BINDIR PG_MAJOR

# The throwaway cluster: pg_virtualenv, as the invoking user, or as root a cluster
# owned by postgres in a temporary directory (-t: never /etc/postgresql, which other
# clusters of this machine share). Callers append "-o name=value" to override.
# shellcheck disable=SC2034 # used by the scripts that source this file
VIRTUALENV=(pg_virtualenv -t -v "$PG_MAJOR"
	-i "--locale=C --encoding=UTF8 --auth=trust"
	-o "shared_preload_libraries=session"
	-o "session.database=contrib_regression"
	-o "session.reaper_interval=1s"
	-o "lc_messages=C"
	-o "max_prepared_transactions=0")

# Forgets the connection settings of the caller's environment (pg_virtualenv would
# take PGPORT as the port of the new cluster); SESSION_TEST_PORT chooses that port.
clean_pg_env() {
	local name
	while IFS= read -r name; do
		case $name in PG_CONFIG | PG_BINDIR | PG_MAJOR) ;; PG*) unset "$name" ;; esac
	done < <(compgen -e)
	if [ -n "${SESSION_TEST_PORT:-}" ]; then
		export PGPORT=$SESSION_TEST_PORT
	fi
}

# Prints a heading for a step.
say() {
	printf '\n==> %s\n' "$*"
}

# as_postgres COMMAND...: runs COMMAND as the postgres OS user when invoked as root,
# since initdb and PostgreSQL::Test::Cluster refuse to run as root; as is otherwise.
# The environment is reset to PATH, HOME, LANG and the variables the tests read
# (CI, PG*, PROVE_FLAGS, SESSION_*, STRESS_*, BENCH_*).
# Every script of test/ that needs another user goes through here.
as_postgres() {
	if [ "$(id -u)" -ne 0 ]; then
		"$@"
		return
	fi
	local -a envs=(
		"PATH=$PG_BINDIR:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
		"HOME=/tmp"
		"LANG=C.UTF-8"
	)
	local name
	while IFS= read -r name; do
		case $name in
			CI | PG* | PROVE_FLAGS | SESSION_* | STRESS_* | BENCH_*) envs+=("$name=${!name}") ;;
		esac
	done < <(compgen -e)
	runuser -u postgres -- env -i "${envs[@]}" "$@"
}

# tree_for_postgres DIR: prints a directory holding the work tree DIR that the user
# of as_postgres may write to (pg_regress writes results/, the TAP tests tmp_check/):
# DIR itself unless root, else a copy (without .git, nor make matrix's root
# filesystems in .matrix) owned by postgres.
tree_for_postgres() {
	local src=$1 dst
	if [ "$(id -u)" -ne 0 ]; then
		printf '%s\n' "$src"
		return
	fi
	dst=$(mktemp -d /tmp/session-work.XXXXXX) || return 1
	tar -C "$src" --exclude=./.git --exclude=./.matrix --exclude=./tmp_check --exclude=./results \
		--exclude=./output_iso --exclude=./output_iso_hbuf --exclude=./test/bench/results -cf - . |
		tar -C "$dst" -xf - || return 1
	chown -R postgres:postgres "$dst" || return 1
	chmod 755 "$dst"
	printf '%s\n' "$dst"
}

# drop_tree_for_postgres ROOT COPY: removes the copy made by tree_for_postgres.
drop_tree_for_postgres() {
	[ "$2" != "$1" ] || return 0
	if [ "${SESSION_TEST_KEEP:-0}" = 1 ]; then
		echo "kept $2"
	else
		rm -rf "$2"
	fi
}

# make with the chosen pg_config.
pgxs_make() {
	make PG_CONFIG="$PG_CONFIG" "$@"
}
