# shellcheck shell=bash
# Helpers shared by the reliability checks (test/reliability/*.sh), which
# make test runs in their short forms and make stress (test/scripts/stress.sh)
# in their long forms.
#
# The checks run against the cluster named by PGHOST / PGPORT / PGUSER (a
# superuser); each works in a database of its own, created here and dropped
# at the end (SESSION_TEST_KEEP=1 keeps it).  The server log, used to spot
# backend crashes, is $SESSION_TEST_LOG (exported by test/scripts/suites.sh)
# or $SESSION_SERVER_LOG; without either, crashes are still caught because a
# crash restarts every server process, the checkpointer included.

# shellcheck disable=SC2034 # used by the scripts that source this file
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PG_BINDIR=${PG_BINDIR:-$( (${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config} --bindir) 2>/dev/null || echo /usr/lib/postgresql/15/bin)}
case ":$PATH:" in
	"$PG_BINDIR":*) ;;
	*) PATH="$PG_BINDIR:$PATH" ;;
esac
export PATH

SERVER_LOG=${SESSION_TEST_LOG:-${SESSION_SERVER_LOG:-}}
LOG_OFFSET=0
CKPT_START=
CHECK_DB=

# psql against the check's database, quiet, no psqlrc, stop on error.
q() {
	psql -X -q -v ON_ERROR_STOP=1 -d "$CHECK_DB" "$@"
}

# One value.
q1() {
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$CHECK_DB" -c "$1"
}

# Fails the check with a message.
die() {
	echo "$CHECK_NAME: $*" >&2
	exit 1
}

# check_begin NAME: a fresh database check_NAME with the extension, and the
# crash markers.
check_begin() {
	CHECK_NAME=$1
	CHECK_DB=session_check_$1
	psql -X -q -d postgres -c 'SELECT 1' >/dev/null 2>&1 ||
		die "no server at PGHOST=${PGHOST:-} PGPORT=${PGPORT:-}"
	psql -X -q -v ON_ERROR_STOP=1 -d postgres \
		-c "DROP DATABASE IF EXISTS $CHECK_DB WITH (FORCE)" \
		-c "CREATE DATABASE $CHECK_DB" >/dev/null 2>&1 || die "cannot create database $CHECK_DB"
	q -c 'CREATE EXTENSION session' >/dev/null || die "CREATE EXTENSION session failed"
	crash_mark
}

check_end() {
	if [ "${SESSION_TEST_KEEP:-0}" != 1 ]; then
		psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $CHECK_DB WITH (FORCE)" >/dev/null 2>&1
	fi
}

# Remember where the server log ends and when the checkpointer started.
crash_mark() {
	if [ -n "$SERVER_LOG" ] && [ -r "$SERVER_LOG" ]; then
		LOG_OFFSET=$(stat -c %s "$SERVER_LOG")
	fi
	CKPT_START=$(psql -X -A -t -d postgres -c \
		"SELECT backend_start FROM pg_stat_activity WHERE backend_type = 'checkpointer'" 2>/dev/null)
}

# Prints the number of backend crashes since crash_mark (log lines such as
# "server process (PID n) was terminated by signal 11", or a restarted
# checkpointer when there is no log), and the offending log lines to stderr.
crash_count() {
	local n=0 now
	if [ -n "$SERVER_LOG" ] && [ -r "$SERVER_LOG" ]; then
		n=$(tail -c +"$((LOG_OFFSET + 1))" "$SERVER_LOG" |
			grep -cE 'terminated by signal|was terminated by exception|PANIC:|server process .* exited with exit code [^01]')
		if [ "$n" -gt 0 ]; then
			tail -c +"$((LOG_OFFSET + 1))" "$SERVER_LOG" |
				grep -E -B2 -A2 'terminated by signal|was terminated by exception|PANIC:|exited with exit code' >&2
		fi
	fi
	now=$(psql -X -A -t -d postgres -c \
		"SELECT backend_start FROM pg_stat_activity WHERE backend_type = 'checkpointer'" 2>/dev/null)
	if [ "$n" -eq 0 ] && [ -n "$CKPT_START" ] && [ "$now" != "$CKPT_START" ]; then
		echo "$CHECK_NAME: the checkpointer restarted (server crash-restart) or the server is down" >&2
		n=1
	fi
	echo "$n"
}

# The invariants of the two tables; prints one line per violation, nothing
# when they hold.
INVARIANTS_SQL="
SELECT 'ended session without end_reason: ' || count(*) FROM session_storage.ended_sessions
 WHERE end_reason IS NULL OR end_reason = '' HAVING count(*) > 0
UNION ALL
SELECT 'ended session with end_time < start_time: ' || count(*) FROM session_storage.ended_sessions
 WHERE end_time IS NULL OR end_time < start_time HAVING count(*) > 0
UNION ALL
SELECT 'id both open and ended: ' || count(*) FROM session_storage.sessions s
 JOIN session_storage.ended_sessions e USING (id) HAVING count(*) > 0
UNION ALL
SELECT 'duplicate ids in history: ' || count(*) FROM
 (SELECT id FROM session_storage.ended_sessions GROUP BY id HAVING count(*) > 1) d HAVING count(*) > 0
UNION ALL
SELECT 'duplicate uuids: ' || count(*) FROM
 (SELECT uuid FROM (SELECT uuid FROM session_storage.sessions UNION ALL SELECT uuid FROM session_storage.ended_sessions) u
  GROUP BY uuid HAVING count(*) > 1) d HAVING count(*) > 0
UNION ALL
SELECT 'last_comm before start_time: ' || count(*) FROM
 (SELECT start_time, last_comm FROM session_storage.sessions UNION ALL
  SELECT start_time, last_comm FROM session_storage.ended_sessions) x
 WHERE last_comm < start_time HAVING count(*) > 0
UNION ALL
SELECT 'negative byte counts: ' || count(*) FROM
 (SELECT recent_bytes_sent r, total_bytes_sent t FROM session_storage.sessions UNION ALL
  SELECT recent_bytes_sent, total_bytes_sent FROM session_storage.ended_sessions) x
 WHERE r < 0 OR t < 0 OR r > t HAVING count(*) > 0
UNION ALL
SELECT 'unauthenticated flag mismatch: ' || count(*) FROM
 (SELECT username, authenticated FROM session_storage.sessions UNION ALL
  SELECT username, authenticated FROM session_storage.ended_sessions) x
 WHERE authenticated = (username = 'Unauthenticated') HAVING count(*) > 0
UNION ALL
SELECT 'id beyond the sequence: ' || count(*) FROM
 (SELECT id FROM session_storage.sessions UNION ALL SELECT id FROM session_storage.ended_sessions) x
 WHERE id > (SELECT last_value FROM session_storage.sessions_id_seq) HAVING count(*) > 0
"

# Prints the invariant violations of the check's database (empty: all hold).
invariants() {
	q -A -t -c "$INVARIANTS_SQL"
}

# Seconds since the epoch, with decimals.
now_s() {
	date +%s.%N
}

# elapsed START: seconds since START, one decimal.
elapsed() {
	awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'
}
