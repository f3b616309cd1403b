#!/usr/bin/env bash
# dump_restore.sh dump DIR | restore DIR: the move of a registry to a newer major
# version with pg_dump and pg_restore, which make matrix (test/scripts/matrix.sh)
# checks for every version it runs after 15. Runs against the server of PGHOST and
# PGPORT (a throwaway cluster of pg_virtualenv) as its superuser.
#
#   dump     on 15: a database "src" filled by fill.sql, its digest (digest.sql) in
#            DIR/digest, its last session id in DIR/max_id, pg_dump -Fc into
#            DIR/src.dump
#   restore  on the newer version: pg_restore into a new database "dst" of a new
#            cluster (the extension's roles do not exist yet), then the digest must
#            equal the one of 15, and the restored registry must keep working
#
# The database is not the one of session.database, so the background worker
# leaves its sessions alone (and heartbeats write through) while the test runs.
# Prints TAP lines ("ok N - ..."); exits 1 when a check failed.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mode=${1:?dump or restore}
dir=${2:?directory}
n=0
failed=0

check() {
	local what=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $what"
	else
		echo "not ok $n - $what"
		failed=$((failed + 1))
	fi
}

# q DB SQL: the last line that the statements of SQL print
q() {
	psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$1" -c "$2" | tail -n 1
}

case $mode in
	dump)
		echo "dump: $(q postgres 'SELECT version()')"
		check "createdb src" createdb src
		check "CREATE EXTENSION session" q src 'CREATE EXTENSION session'
		check "fill.sql" psql -X -q -o /dev/null -d src -f "$HERE/fill.sql"
		check "digest of 15" psql -X -q -d src -f "$HERE/digest.sql" -o "$dir/digest"
		check "last session id" bash -c "psql -X -A -t -d src -c 'SELECT max(id) FROM session.history' >'$dir/max_id'"
		check "pg_dump -Fc" pg_dump -Fc -d src -f "$dir/src.dump"
		check "sessions open, ended and events in the digest" \
			grep -qE '^open sessions [1-9]' "$dir/digest"
		cat "$dir/digest"
		;;
	restore)
		echo "restore: $(q postgres 'SELECT version()')"
		check "createdb dst" createdb dst
		err=$(pg_restore -d dst "$dir/src.dump" 2>&1)
		check "pg_restore exits with 0 and reports nothing${err:+: $err}" test -z "$err"
		check "digest" psql -X -q -d dst -f "$HERE/digest.sql" -o /tmp/digest.$$
		if diff -u "$dir/digest" /tmp/digest.$$; then
			check "every table, sequence and view as on 15 ($(wc -l <"$dir/digest") items)" true
		else
			check "every table, sequence and view as on 15 (the diff above)" false
		fi
		rm -f /tmp/digest.$$
		max=$(cat "$dir/max_id")
		next=$(q dst "SELECT session.open_session('new', 'plant')")
		check "a new session gets an id past every restored one ($next > $max)" \
			test "${next:-0}" -gt "$max"
		check "a restored open session takes heartbeats" test "$(q dst \
			"SELECT session.heartbeat(id) FROM session.get_session_info('alice', NULL)")" = t
		check "a restored ended session is found by id" test "$(q dst \
			"SELECT end_reason FROM session.get_session_info($max::bigint)")" = node_shutdown
		check "closing it again changes nothing" test "$(q dst "SELECT session.close_session($max)")" = f
		# expiry compares with the time its transaction started: sleep in another
		q dst "SELECT pg_sleep(1.1)" >/dev/null
		check "the restored sessions expire" test "$(q dst \
			"SET session.idle_timeout = '1s'; SELECT session.expire_sessions() > 0")" = t
		check "the restored sessions all ended" test "$(q dst \
			"SELECT count(*) FROM session.get_session_info() WHERE scope <> 'clientless'")" = 0
		;;
	*)
		echo "dump_restore.sh: dump or restore, not $mode" >&2
		exit 2
		;;
esac
echo "1..$n"
[ $failed -eq 0 ]
