# The background worker (issue #4): it runs as "session reaper" in
# session.database, idles while the extension is missing there, applies
# session.idle_timeout every session.reaper_interval, creates the daily
# partitions, applies session.history_retention, follows a reload, survives a
# kill -9 (crash restart) and leaves the other databases alone.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use SessionTest;

my $node = session_node(
	'worker', conf => q{
shared_preload_libraries = 'session'
session.database = 'postgres'
session.reaper_interval = '1s'
session.idle_timeout = '2s'
});
$node->start;

# ---------------------------------------------------------------------------
# Before CREATE EXTENSION: the worker runs and idles quietly
# ---------------------------------------------------------------------------

ok(poll_until($node, 'postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'session reaper'",
	'1', 30),
	'the worker shows in pg_stat_activity as "session reaper"');
is( $node->safe_psql('postgres',
	"SELECT datname FROM pg_stat_activity WHERE backend_type = 'session reaper'"),
	'postgres',
	'the worker is connected to session.database');

my $first_pid = reaper_pid($node);
sleep 3;    # three passes without the extension
is(reaper_pid($node), $first_pid,
	'without the extension the worker keeps running (same pid after 3 passes)');
is(join("\n", reaper_log_problems($node)), '',
	'without the extension the worker logs no warning or error');
like(slurp_file($node->logfile),
	qr/session reaper started in database "postgres"/,
	'the worker logs its start');

# ---------------------------------------------------------------------------
# Idle sessions end with reason timeout; another database is left alone
# ---------------------------------------------------------------------------

$node->safe_psql('postgres', 'CREATE EXTENSION session');
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other',    'CREATE EXTENSION session');

my $idle = query_value($node, 'postgres',
	"SELECT session.open_session('alice', 'p1', '10.0.0.1', node => 'n1')");
my $elsewhere = query_value($node, 'other',
	"SELECT session.open_session('bob', 'p1', '10.0.0.2', node => 'n1')");
my $t0 = time();

ok( poll_until($node, 'postgres',
		"SELECT end_reason FROM session.get_session_info(${idle}::bigint)",
		'timeout', 30),
	'an idle session ends with reason timeout');
diag(sprintf('idle session expired %.1f s after it was opened (idle_timeout 2 s, interval 1 s)',
		time() - $t0));
is( $node->safe_psql('postgres',
		"SELECT end_time - last_comm >= interval '2 s' FROM session.history WHERE id = $idle"),
	't',
	'it ended no sooner than idle_timeout after its last communication');
is($node->safe_psql('postgres', "SELECT count(*) FROM session_storage.sessions WHERE id = $idle"),
	'0', 'the expired session left the open table');

is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FROM generate_series(0, 2) AS d
WHERE pg_catalog.to_regclass('session_storage.ended_sessions_' ||
	to_char((now() AT TIME ZONE 'UTC')::date + d, 'YYYYMMDD')) IS NOT NULL}),
	'3',
	'the worker created the daily partitions of today and the next two days');
is( $node->safe_psql(
		'postgres', qq{
SELECT tableoid::regclass::text = 'session_storage.ended_sessions_' ||
	to_char(end_time AT TIME ZONE 'UTC', 'YYYYMMDD')
FROM session_storage.ended_sessions WHERE id = $idle}),
	't',
	'the expired session is stored in the partition of its end day');

sleep 3;    # at least two more passes
is( $node->safe_psql('other',
		"SELECT end_time IS NULL FROM session.get_session_info(${elsewhere}::bigint)"),
	't',
	'a session in a database other than session.database is not expired by the worker');
is( $node->safe_psql('other',
		"SELECT count(*) FROM pg_inherits WHERE inhparent = 'session_storage.ended_sessions'::regclass"),
	'1',
	'the worker creates no partitions in the other database');
is($node->safe_psql('other', 'SELECT session.expire_sessions()'),
	'1', '... although that session was due (expire_sessions() there ends it)');

# ---------------------------------------------------------------------------
# Heartbeats keep a session alive
# ---------------------------------------------------------------------------

my $alive = query_value($node, 'postgres',
	"SELECT session.open_session('carol', 'p1')");
my $bg = $node->background_psql('postgres');
my $beats_ok = 1;
my $until = time() + 5;
while (time() < $until)
{
	$beats_ok = 0 unless $bg->query_safe("SELECT session.heartbeat($alive)") eq 't';
	usleep(500_000);
}
$bg->quit;
ok($beats_ok, 'every heartbeat of a live session returned true over 5 s');
is( $node->safe_psql('postgres',
		"SELECT end_time IS NULL FROM session.get_session_info(${alive}::bigint)"),
	't',
	'a session with a heartbeat every 0.5 s is not expired (5 s > idle_timeout 2 s)');
ok( poll_until($node, 'postgres',
		"SELECT end_reason FROM session.get_session_info(${alive}::bigint)",
		'timeout', 30),
	'once the heartbeats stop it expires');

# ---------------------------------------------------------------------------
# A reloaded session.reaper_interval is followed by the worker
# ---------------------------------------------------------------------------

$node->safe_psql('postgres',
	"ALTER SYSTEM SET session.reaper_interval = '30s'; SELECT pg_reload_conf()");
ok(poll_until($node, 'postgres', 'SHOW session.reaper_interval', '30s', 10),
	'a new connection sees the reloaded session.reaper_interval');
sleep 2;    # the worker wakes up on SIGHUP, does a pass, then waits 30 s
my $slow = query_value($node, 'postgres', "SELECT session.open_session('dave', 'p1')");
sleep 6;
is( $node->safe_psql('postgres',
		"SELECT end_time IS NULL FROM session.get_session_info(${slow}::bigint)"),
	't',
	'with reaper_interval 30s an idle session outlives idle_timeout for 6 s (no pass)');

$node->safe_psql('postgres',
	"ALTER SYSTEM RESET session.reaper_interval; SELECT pg_reload_conf()");
$t0 = time();
ok( poll_until($node, 'postgres',
		"SELECT end_reason FROM session.get_session_info(${slow}::bigint)",
		'timeout', 10),
	'back to 1s the worker wakes up and expires it');
my $waited = time() - $t0;
diag(sprintf('expired %.1f s after the reload back to 1s', $waited));
cmp_ok($waited, '<', 8, '... well before the 30 s interval would have ended');

# ---------------------------------------------------------------------------
# session.history_retention: old history goes, whole days are dropped
# ---------------------------------------------------------------------------

my $old_day = $node->safe_psql('postgres',
	"SELECT to_char((now() AT TIME ZONE 'UTC')::date - 12, 'YYYYMMDD')");
$node->safe_psql(
	'postgres', qq{
SELECT format('CREATE TABLE session_storage.%I PARTITION OF session_storage.ended_sessions FOR VALUES FROM (%L) TO (%L)',
	'ended_sessions_$old_day', d::text || ' 00:00:00+00', (d + 1)::text || ' 00:00:00+00')
FROM (SELECT (now() AT TIME ZONE 'UTC')::date - 12 AS d) s \\gexec
INSERT INTO session_storage.ended_sessions (id, uuid, username, authenticated, project, scope,
	start_time, last_comm, end_time, end_reason)
VALUES
	(nextval('session_storage.sessions_id_seq'), gen_random_uuid(), 'old10', true, 'p1', 'browser',
	 now() - interval '10 days 1 hour', now() - interval '10 days 1 hour',
	 now() - interval '10 days', 'logout'),
	(nextval('session_storage.sessions_id_seq'), gen_random_uuid(), 'old12', true, 'p1', 'browser',
	 now() - interval '13 days', now() - interval '13 days',
	 ((now() AT TIME ZONE 'UTC')::date - 12 + time '12:00') AT TIME ZONE 'UTC', 'logout');
});
is( $node->safe_psql('postgres',
		"SELECT string_agg(username || ':' || tableoid::regclass::text, ',' ORDER BY username)"
		  . " FROM session_storage.ended_sessions WHERE username LIKE 'old%'"),
	"old10:session_storage.ended_sessions_default,old12:session_storage.ended_sessions_$old_day",
	'old history rows sit in the default partition and in an old daily partition');
my $recent = $node->safe_psql('postgres',
	"SELECT count(*) FROM session_storage.ended_sessions WHERE username NOT LIKE 'old%'");

my $log_offset = -s $node->logfile;
$node->safe_psql('postgres',
	"ALTER SYSTEM SET session.history_retention = '1d'; SELECT pg_reload_conf()");
ok( poll_until($node, 'postgres',
		"SELECT count(*) FROM session_storage.ended_sessions WHERE username LIKE 'old%'",
		'0', 30),
	'with history_retention 1d the worker purges history older than a day');
is( $node->safe_psql('postgres',
		"SELECT to_regclass('session_storage.ended_sessions_$old_day') IS NULL"),
	't',
	'the old daily partition was dropped as a whole');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM session_storage.ended_sessions WHERE username NOT LIKE 'old%'"),
	$recent,
	'recent history is kept');
like(log_since($node, $log_offset), qr/session reaper purged 2 ended sessions/,
	'the worker logs how many ended sessions it purged');
$node->safe_psql('postgres',
	"ALTER SYSTEM RESET session.history_retention; SELECT pg_reload_conf()");

# ---------------------------------------------------------------------------
# kill -9 of the worker: crash restart, the worker comes back and works
# ---------------------------------------------------------------------------

my $old_pid = reaper_pid($node);
ok($old_pid =~ /^\d+$/, "the worker runs (pid $old_pid)");
$log_offset = -s $node->logfile;
kill 'KILL', $old_pid;
$t0 = time();
ok( poll_until($node, 'postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'session reaper' AND pid <> $old_pid",
		'1', 30),
	'after kill -9 of the worker a new worker shows in pg_stat_activity');
diag(sprintf('worker back %.1f s after kill -9', time() - $t0));
my $crash_log = log_since($node, $log_offset);
like($crash_log,
	qr/background worker "session reaper" \(PID $old_pid\) was terminated by signal 9/,
	'the postmaster saw the worker die');
like($crash_log, qr/all server processes terminated; reinitializing/,
	'the postmaster did a crash restart');

my $after = query_value($node, 'postgres', "SELECT session.open_session('erin', 'p1')");
ok( poll_until($node, 'postgres',
		"SELECT end_reason FROM session.get_session_info(${after}::bigint)",
		'timeout', 30),
	'the restarted worker still expires sessions');
is( $node->safe_psql('other',
		"SELECT end_reason FROM session.get_session_info(${elsewhere}::bigint)"),
	'timeout',
	'the other database still has its history after the crash restart');

is(join("\n", reaper_log_problems($node)), '',
	'the worker logged no warning or error during the whole test');

$node->stop;
done_testing();
