# shellcheck shell=bash disable=SC2034 # SUBREAPER is used by the scripts that source this
# Kept only for test/bench/run.sh until the bench is reworked; everything else uses
# test/scripts/lib.sh and pg_virtualenv.
# Shared helpers for test.sh and demo.sh (and other test scripts): the PostgreSQL 15
# tool paths, a throwaway cluster, and running as the postgres OS user in a copy of
# the work tree when invoked as root (initdb refuses to run as root).
#
#   source test/scripts/cluster.sh
#   cluster_start ["name = value" ...]   initdb + start; extra lines go to postgresql.conf
#   ...                                  PGHOST, PGPORT, PGUSER, PGDATABASE are exported
#   cluster_stop                         stop and remove it (safe to call twice)
#
# Environment: PG_CONFIG (default /usr/lib/postgresql/15/bin/pg_config),
# SESSION_TEST_PORT (first port tried, default 5600; searches upward),
# SESSION_TEST_KEEP=1 keeps the cluster directory after stopping,
# SESSION_TEST_CONF: more postgresql.conf lines, appended last (e.g. log_statement = all),
# SESSION_CLUSTER_PARENT: where the cluster directory goes (default /tmp; keep it short,
# the socket path must fit in 107 bytes).

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
export PG_CONFIG
if [ -x "$PG_CONFIG" ]; then
	PG_BINDIR=$("$PG_CONFIG" --bindir)
	PG_PGXS_DIR=$(dirname "$(dirname "$("$PG_CONFIG" --pgxs)")")
else
	PG_BINDIR=/usr/lib/postgresql/15/bin
	PG_PGXS_DIR=/usr/lib/postgresql/15/lib/pgxs/src
fi
case ":$PATH:" in
	":$PG_BINDIR:"*) ;;
	*) PATH="$PG_BINDIR:$PATH" ;;
esac
export PATH PG_BINDIR PG_PGXS_DIR

CLUSTER_DIR=
CLUSTER_LOG=
CLUSTER_PGDATA=

# Prints a heading for a step.
say() {
	printf '\n==> %s\n' "$*"
}

# True when nothing listens on TCP port $1 and no cluster of ours uses it.
port_is_free() {
	local port=$1
	if command -v ss >/dev/null 2>&1; then
		if ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then
			return 1
		fi
	fi
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		return 1
	fi
	return 0
}

# The default postgresql.conf additions; callers append their own lines after these
# (the last setting of a name wins).
cluster_default_conf() {
	cat <<-CONF
		# --- throwaway cluster (test/scripts/cluster.sh) ---
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$CLUSTER_DIR'
		max_connections = 100
		max_prepared_transactions = 0
		fsync = off
		shared_preload_libraries = 'session'
		session.database = 'contrib_regression'
		session.reaper_interval = '1s'
		log_line_prefix = '%m [%p] %q%u@%d '
		log_min_messages = warning
		lc_messages = 'C'
	CONF
}

# initdb + start a cluster on the first free port from SESSION_TEST_PORT upward.
# Arguments are extra postgresql.conf lines.
cluster_start() {
	local base=${SESSION_TEST_PORT:-5600}
	local port line
	CLUSTER_DIR=$(mktemp -d "${SESSION_CLUSTER_PARENT:-/tmp}/session-cluster.XXXXXX")
	CLUSTER_PGDATA=$CLUSTER_DIR/data
	CLUSTER_LOG=$CLUSTER_DIR/server.log
	if ! initdb -A trust -N -E UTF8 --locale=C -D "$CLUSTER_PGDATA" \
		>"$CLUSTER_DIR/initdb.log" 2>&1; then
		cat "$CLUSTER_DIR/initdb.log" >&2
		echo "cluster: initdb failed" >&2
		return 1
	fi
	{
		cluster_default_conf
		for line in "$@"; do
			printf '%s\n' "$line"
		done
		if [ -n "${SESSION_TEST_CONF:-}" ]; then
			printf '%s\n' "$SESSION_TEST_CONF"
		fi
	} >>"$CLUSTER_PGDATA/postgresql.conf"

	for ((port = base; port < base + 100; port++)); do
		port_is_free "$port" || continue
		if pg_ctl -D "$CLUSTER_PGDATA" -l "$CLUSTER_LOG" -w -t 60 \
			-o "-p $port" start >"$CLUSTER_DIR/pg_ctl.log" 2>&1; then
			PGHOST=$CLUSTER_DIR
			PGPORT=$port
			PGUSER=$(id -un)
			PGDATABASE=postgres
			export PGHOST PGPORT PGUSER PGDATABASE
			export SESSION_TEST_PGDATA=$CLUSTER_PGDATA SESSION_TEST_LOG=$CLUSTER_LOG
			echo "cluster: started on port $PGPORT (socket dir $PGHOST, log $CLUSTER_LOG)"
			return 0
		fi
		# Someone took the port in between: try the next one; anything else is fatal.
		if grep -q 'could not bind\|Address already in use\|could not create any TCP/IP sockets' \
			"$CLUSTER_LOG" 2>/dev/null; then
			cluster_kill_postmaster
			: >"$CLUSTER_LOG"
			continue
		fi
		cat "$CLUSTER_DIR/pg_ctl.log" >&2
		tail -n 30 "$CLUSTER_LOG" >&2 2>/dev/null
		echo "cluster: could not start the server (log above)" >&2
		return 1
	done
	echo "cluster: no free port in $base..$((base + 99))" >&2
	return 1
}

# Restarts the running cluster (for settings that need a restart).
cluster_restart() {
	pg_ctl -D "$CLUSTER_PGDATA" -l "$CLUSTER_LOG" -w -t 60 -m fast restart \
		-o "-p $PGPORT" >"$CLUSTER_DIR/pg_ctl.log" 2>&1 || {
		cat "$CLUSTER_DIR/pg_ctl.log" >&2
		tail -n 30 "$CLUSTER_LOG" >&2
		return 1
	}
}

# Kills the postmaster named in postmaster.pid and its children, if still alive.
# A zombie (PID 1 here does not reap) counts as dead.
cluster_kill_postmaster() {
	local pid state child
	local -a children=()
	[ -f "$CLUSTER_PGDATA/postmaster.pid" ] || return 0
	pid=$(head -n 1 "$CLUSTER_PGDATA/postmaster.pid" 2>/dev/null)
	case $pid in '' | *[!0-9]*) return 0 ;; esac
	state=$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
	if [ -n "$state" ] && [ "$state" != Z ]; then
		read -r -a children <"/proc/$pid/task/$pid/children" 2>/dev/null
		for child in "${children[@]}"; do
			kill -9 "$child" 2>/dev/null
		done
		kill -9 "$pid" 2>/dev/null
	fi
	rm -f "$CLUSTER_PGDATA/postmaster.pid"
}

# Stops the cluster (fast; kills it if that fails) and removes its directory.
# Returns 1 when the server did not stop cleanly.
cluster_stop() {
	local rc=0
	[ -n "$CLUSTER_DIR" ] || return 0
	if [ -f "$CLUSTER_PGDATA/postmaster.pid" ]; then
		if ! pg_ctl -D "$CLUSTER_PGDATA" -m fast -w -t 30 stop >/dev/null 2>&1; then
			echo "cluster: pg_ctl stop failed; killing the postmaster" >&2
			cluster_kill_postmaster
			rc=1
		fi
	fi
	if [ "${SESSION_TEST_KEEP:-0}" = 1 ]; then
		echo "cluster: kept $CLUSTER_DIR"
	else
		rm -rf "$CLUSTER_DIR"
	fi
	CLUSTER_DIR=
	return $rc
}

# Stops every server whose data directory lies under $1: TAP nodes or clusters left
# running when a test was killed. Works as root too (signals, not pg_ctl).
stop_servers_under() {
	local pidfile datadir pid i
	[ -d "$1" ] || return 0
	while IFS= read -r pidfile; do
		datadir=$(cd "$(dirname "$pidfile")" 2>/dev/null && pwd -P) || continue
		pid=$(head -n 1 "$pidfile" 2>/dev/null)
		case $pid in '' | *[!0-9]*) continue ;; esac
		# a postmaster runs in its data directory; anything else is not ours
		[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$datadir" ] || continue
		kill -QUIT "$pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			process_alive "$pid" || break
			sleep 0.2
		done
		process_alive "$pid" && kill -9 "$pid" 2>/dev/null
	done < <(find "$1" -name postmaster.pid 2>/dev/null)
	return 0
}

# True when process $1 exists and is not a zombie.
process_alive() {
	local state
	state=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ]
}

# Prints the last lines of the server log.
cluster_log_tail() {
	local n=${1:-60}
	[ -n "$CLUSTER_LOG" ] && [ -f "$CLUSTER_LOG" ] || return 0
	echo "---- last $n lines of the server log ($CLUSTER_LOG) ----"
	tail -n "$n" "$CLUSTER_LOG"
	echo "---- end of server log ----"
}

# SUBREAPER: a command prefix that runs a command as a Linux child subreaper
# (prctl PR_SET_CHILD_SUBREAPER, kept across exec). Orphans below it, such as a
# postmaster whose pg_ctl has exited, become its children instead of PID 1's, and a
# bash running under it reaps them when they die. Where PID 1 does not reap orphans,
# this keeps a postmaster killed with -9 from lingering as a zombie whose pid still
# looks alive in postmaster.pid and the socket lock file. Empty without perl.
SUBREAPER=()
if command -v perl >/dev/null 2>&1; then
	# shellcheck disable=SC2016 # perl code
	SUBREAPER=(perl -e 'eval { require "syscall.ph"; syscall(SYS_prctl(), 36, 1, 0, 0, 0) == 0 or die "$!\n" };
		warn "not a child subreaper: $@" if $@;
		exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!\n";' --)
fi

# make with the chosen pg_config.
pgxs_make() {
	make PG_CONFIG="$PG_CONFIG" "$@"
}

# Copies the work tree $1 (without .git) to a new temporary directory owned by the
# postgres OS user and prints its path.
copy_tree_for_postgres() {
	local src=$1 dst
	dst=$(mktemp -d /tmp/session-work.XXXXXX) || return 1
	tar -C "$src" --exclude=./.git --exclude=./tmp_check --exclude=./results \
		--exclude=./output_iso --exclude=./test/bench/results -cf - . |
		tar -C "$dst" -xf - || return 1
	chown -R postgres:postgres "$dst" || return 1
	chmod 755 "$dst"
	printf '%s\n' "$dst"
}

# Runs a command as the postgres OS user in a clean environment (PATH with the
# PostgreSQL bin dir first, plus the variables named in SESSION_PASS_ENV).
run_as_postgres() {
	local -a envs=(
		"PATH=$PG_BINDIR:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
		"HOME=${SESSION_RUN_HOME:-/tmp}"
		"LANG=C.UTF-8"
		"PG_CONFIG=$PG_CONFIG"
	)
	local name
	for name in CI SESSION_TEST_PORT SESSION_TEST_KEEP SESSION_TEST_CONF SESSION_REGRESS_TIMEOUT SESSION_TAP_TIMEOUT SESSION_CHECK_TIMEOUT PROVE_FLAGS ${SESSION_PASS_ENV:-}; do
		if [ -n "${!name+x}" ]; then
			envs+=("$name=${!name}")
		fi
	done
	runuser -u postgres -- env -i "${envs[@]}" "$@"
}

# run_child [--log FILE] COMMAND...: runs COMMAND in the background and waits for it,
# so that INT/TERM reach the script's trap at once (bash defers traps while a
# foreground command runs). Standard input is passed on (bash would give a background
# command /dev/null). With --log, the output is also copied to FILE.
# Returns the command's exit status.
run_child() {
	local log=
	if [ "${1:-}" = --log ]; then
		log=$2
		shift 2
	fi
	if [ -n "$log" ]; then
		(
			set -o pipefail
			"$@" 2>&1 | tee "$log"
		) <&0 &
	else
		"$@" <&0 &
	fi
	wait "$!"
}

# The process ids of every descendant of process $1.
descendants() {
	local pid=$1 child
	local -a children=()
	local f
	for f in /proc/"$pid"/task/*/children; do
		[ -r "$f" ] || continue
		read -r -a children <"$f" 2>/dev/null || true
		for child in "${children[@]}"; do
			echo "$child"
			descendants "$child"
		done
	done
}

# Trap handler for INT/TERM: stops this script's children (waiting up to 30 s) and
# exits with status $1, which runs the EXIT trap.
on_signal() {
	local status=$1 pid i
	local -a pids
	trap '' INT TERM
	mapfile -t pids < <(descendants "$$")
	if [ ${#pids[@]} -gt 0 ]; then
		kill -TERM "${pids[@]}" 2>/dev/null
		for ((i = 0; i < 150; i++)); do
			for pid in "${pids[@]}"; do
				if process_alive "$pid"; then
					sleep 0.2
					continue 2
				fi
			done
			break
		done
	fi
	echo "interrupted" >&2
	exit "$status"
}
