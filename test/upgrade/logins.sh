#!/usr/bin/env bash
# Upgrade test of the login data: sessions recorded by 0.2.0 (rows and events written
# straight into its tables, since the current library refuses 0.2.0's SQL) get their
# login intervals from ALTER EXTENSION session UPDATE:
#   - an open session: its current user from its last login event, else its start;
#   - an ended session whose events are all still in the log: rebuilt from them;
#   - an ended session without them: no entries (its user counts for the whole session).
# Needs a running server and a superuser (PGHOST, PGPORT, PGUSER), the versions
# installed (make install). Prints "upgrade logins: ..." lines; exits 1 on a mismatch.
set -euo pipefail

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
[ -x "$PG_CONFIG" ] || PG_CONFIG=pg_config
PSQL="$("$PG_CONFIG" --bindir)/psql"
DB="session_upgrade_logins_$$"
run() {
	PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" "$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 "$@"
}
trap 'run -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true' EXIT
run -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB TEMPLATE template0" >/dev/null

got=$(run -d "$DB" <<-'SQL'
	CREATE EXTENSION session VERSION '0.2.0';
	SET TimeZone = 'UTC';
	-- open: 1 opened by ann (no login event left), 2 logged in as bob at 10:05, 3 nobody
	INSERT INTO session_storage.sessions (id, uuid, username, authenticated, project, scope, start_time, last_comm)
	VALUES (1, gen_random_uuid(), 'ann', true, 'p', 'browser', '2026-01-05 10:00+00', '2026-01-05 10:00+00'),
		   (2, gen_random_uuid(), 'bob', true, 'p', 'browser', '2026-01-05 10:00+00', '2026-01-05 10:00+00'),
		   (3, gen_random_uuid(), 'Unauthenticated', false, 'p', 'browser', '2026-01-05 10:00+00', '2026-01-05 10:00+00');
	-- ended: 4 opened by cat, logged out, closed (all its events kept); 5 no events
	INSERT INTO session_storage.ended_sessions (id, uuid, username, authenticated, project, scope, start_time, last_comm, end_time, end_reason)
	VALUES (4, gen_random_uuid(), 'Unauthenticated', false, 'p', 'browser', '2026-01-05 09:00+00', '2026-01-05 09:00+00', '2026-01-05 11:00+00', 'logout'),
		   (5, gen_random_uuid(), 'dan', true, 'p', 'browser', '2026-01-05 09:00+00', '2026-01-05 09:00+00', '2026-01-05 11:00+00', 'logout');
	INSERT INTO session_storage.events (event_time, event, id, uuid, username, project, node, scope, reason) VALUES
		('2026-01-05 10:05+00', 'user', 2, gen_random_uuid(), 'bob', 'p', NULL, 'browser', 'login'),
		('2026-01-05 09:00+00', 'open', 4, gen_random_uuid(), 'cat', 'p', NULL, 'browser', NULL),
		('2026-01-05 10:00+00', 'user', 4, gen_random_uuid(), 'Unauthenticated', 'p', NULL, 'browser', 'logout'),
		('2026-01-05 11:00+00', 'close', 4, gen_random_uuid(), 'Unauthenticated', 'p', NULL, 'browser', 'logout');
	ALTER EXTENSION session UPDATE;
	SELECT string_agg(session_id || ' ' || username || ' ' || to_char(login_time, 'HH24:MI') || ' '
					  || coalesce(to_char(logout_time, 'HH24:MI'), '-'), ', ' ORDER BY session_id, login_time)
	FROM session.logins;
	SELECT string_agg(id || ':' || cardinality(login_times), ' ' ORDER BY id)
	FROM (SELECT id, login_times FROM session_storage.sessions
		  UNION ALL SELECT id, login_times FROM session_storage.ended_sessions) s;
SQL
)
want="1 ann 10:00 -, 2 bob 10:05 -, 4 cat 09:00 10:00, 5 dan 09:00 11:00
1:1 2:1 3:0 4:2 5:0"
if [ "$got" = "$want" ]; then
	echo "upgrade logins: ok 0.2.0 -> current: login intervals of existing sessions"
else
	echo "upgrade logins: FAILED"
	diff <(echo "$want") <(echo "$got") || true
	exit 1
fi
