# The background worker comes back, whatever stopped it, and heartbeats stay
# bounded while it is away:
#   - pg_terminate_backend: it writes the buffered heartbeats, exits, and the
#     postmaster starts it again;
#   - an error in a pass (a lock it cannot get within its lock_timeout): the
#     error is logged and counted, and the next pass succeeds;
#   - its database not accepting connections: it cannot start, and
#     heartbeats write their rows (last_comm moves in the table) once no
#     flush has completed for 5 intervals and at least 10 s;
#     heartbeat_buffer_status() shows the flush age and that it is overdue;
#   - kill -9 of the worker alone: the postmaster restarts everything, the
#     worker is back and every committed session is there;
#   - a session.database that does not exist: the log names the setting.

use strict;
use warnings;

use PostgreSQL::Test::BackgroundPsql;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use SessionTest;

my $node = session_node(
	'restart', conf => q{
shared_preload_libraries = 'session'
session.database = 'postgres'
session.reaper_interval = '1s'
session.idle_timeout = '1h'
session.heartbeat_flush_interval = '200ms'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION session');
$node->safe_psql('postgres', 'SELECT session.expire_sessions()');

sub sql { return $node->safe_psql('postgres', $_[0]); }

sub stored
{
	my ($col, $id) = @_;
	return sql("SELECT $col FROM session_storage.sessions WHERE id = $id");
}

# A new worker, other than $old, shows in pg_stat_activity; its pid.
sub wait_new_worker
{
	my ($old, $timeout) = @_;
	my $deadline = time() + ($timeout // 60);
	while (time() < $deadline)
	{
		my $pid = reaper_pid($node);
		return $pid if $pid =~ /^\d+$/ && $pid ne $old;
		usleep(100_000);
	}
	return '';
}

my $a = sql("SELECT session.open_session('alice', 'p')");
# buffering starts once the worker has attached the buffer to the table
ok( poll_until(
		$node, 'postgres',
		"SELECT session.heartbeat($a, 1);\n"
		  . "SELECT total_bytes_sent < (SELECT total_bytes_sent FROM session.active_sessions WHERE id = $a) FROM session_storage.sessions WHERE id = $a;\n",
		"t\nt", 30),
	'heartbeats are buffered');
ok( poll_until(
		$node, 'postgres',
		"SELECT flush_age_ms < 5000 AND NOT flush_overdue FROM session.heartbeat_buffer_status()",
		't', 30),
	'heartbeat_buffer_status shows a recent flush, not overdue');

# ---------------------------------------------------------------------------
# pg_terminate_backend: the last flush, then the postmaster starts it again
# ---------------------------------------------------------------------------

my $offset = -s $node->logfile;
my $pid = reaper_pid($node);
ok($pid =~ /^\d+$/, "the worker runs (pid $pid)");
# hold the flush off with a long interval, so that only the last one writes
$node->safe_psql('postgres',
	"ALTER SYSTEM SET session.heartbeat_flush_interval = '1h'; SELECT pg_reload_conf()");
sleep 1;
# the live total: a heartbeat of the polls above may still be buffered
my $before = sql("SELECT total_bytes_sent FROM session.active_sessions WHERE id = $a");
sql("SELECT session.heartbeat($a, 1000)");
ok(stored('total_bytes_sent', $a) < $before + 1000, 'the heartbeat is buffered, not written');
my $t0 = time();
sql("SELECT pg_terminate_backend($pid)");
ok(wait_pid_gone($pid, 30), 'the worker exits on pg_terminate_backend');
is(stored('total_bytes_sent', $a), $before + 1000,
	'its last flush wrote the buffered heartbeat');
my $pid2 = wait_new_worker($pid, 60);
ok($pid2, 'the postmaster starts the worker again after pg_terminate_backend');
diag(sprintf('worker back %.1f s after pg_terminate_backend', time() - $t0));
my $log = log_since($node, $offset);
like($log, qr/session reaper stopping/, 'the worker logs that it stops');
unlike($log, qr/session reaper: (ERROR|FATAL|PANIC)/, '... without an error');
$node->safe_psql('postgres',
	"ALTER SYSTEM RESET session.heartbeat_flush_interval; SELECT pg_reload_conf()");

# ---------------------------------------------------------------------------
# An error in a pass: a lock the worker cannot get within its lock_timeout
# ---------------------------------------------------------------------------

# the worker reads the database's settings when it connects
$node->safe_psql('postgres', "ALTER DATABASE postgres SET lock_timeout = '200ms'");
sql("SELECT pg_terminate_backend($pid2)");
my $pid3 = wait_new_worker($pid2, 60);
ok($pid3, 'the worker is back with lock_timeout set');
is( sql("SELECT setting FROM pg_settings WHERE name = 'lock_timeout'"),
	'200', 'lock_timeout applies in the database');

my $errors_sql =
  "SELECT coalesce(max(value), 0) FROM session.stats() WHERE name = 'worker_errors_total'";
my $errors0 = sql($errors_sql);
$offset = -s $node->logfile;
my $locker = $node->background_psql('postgres');
$locker->query_safe(
	"SET lock_timeout = 0; BEGIN; LOCK TABLE session_storage.sessions IN ACCESS EXCLUSIVE MODE");
ok( poll_until(
		$node, 'postgres',
		"SET lock_timeout = 0; SELECT ($errors_sql) > $errors0",
		't', 30),
	'passes fail while the table is locked');
$locker->query_safe('COMMIT');
$locker->quit;
like(log_since($node, $offset),
	qr/session reaper: ERROR:  canceling statement due to lock timeout/,
	'the failed pass is logged with its error');
is(reaper_pid($node), $pid3, 'the worker goes on after the error (same pid)');
my $b = sql("SELECT session.open_session('bob', 'p')");
ok( poll_until(
		$node, 'postgres',
		"SELECT session.heartbeat($b, 7);\n"
		  . "SELECT total_bytes_sent >= 7 FROM session_storage.sessions WHERE id = $b;\n",
		"t\nt", 30),
	'after the lock is released the worker flushes again');
$node->safe_psql('postgres', 'ALTER DATABASE postgres RESET lock_timeout');

# ---------------------------------------------------------------------------
# The worker cannot connect: heartbeats write through
# ---------------------------------------------------------------------------

# a client connected before the database stops accepting connections
my $client = $node->background_psql('postgres');
$pid = reaper_pid($node);
$node->safe_psql('template1', 'ALTER DATABASE postgres ALLOW_CONNECTIONS false');
$offset = -s $node->logfile;
$client->query_safe("SELECT pg_terminate_backend($pid)");
ok(wait_pid_gone($pid, 30), 'the worker exits');
ok( poll_until(
		$node, 'template1',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'session reaper'",
		'0', 10),
	'it cannot come back while its database refuses connections');

my $lc0 = $client->query_safe("SELECT last_comm FROM session_storage.sessions WHERE id = $a");
$client->query_safe("SELECT session.heartbeat($a, 5)");
is($client->query_safe("SELECT last_comm FROM session_storage.sessions WHERE id = $a"),
	$lc0, 'at first the heartbeat is still buffered');
my $overdue = 0;
my $deadline = time() + 30;
while (time() < $deadline)
{
	last
	  if $client->query_safe(
		"SELECT flush_overdue FROM session.heartbeat_buffer_status()") eq 't'
	  and $overdue = 1;
	usleep(200_000);
}
ok($overdue, 'without a worker the flush becomes overdue');
ok( $client->query_safe(
		"SELECT flush_age_ms >= 10000 FROM session.heartbeat_buffer_status()") eq 't',
	'... after at least 10 s (flush_age_ms)');
my $total0 = $client->query_safe("SELECT total_bytes_sent FROM session.active_sessions WHERE id = $a");
$client->query_safe("SELECT session.heartbeat($a, 11)");
ok( $client->query_safe(
		"SELECT last_comm > '$lc0' FROM session_storage.sessions WHERE id = $a") eq 't',
	'with no worker, a heartbeat moves last_comm in the table');
is( $client->query_safe(
		"SELECT recent_bytes_sent FROM session_storage.sessions WHERE id = $a"),
	'11', '... and writes recent_bytes_sent');
is( $client->query_safe(
		"SELECT total_bytes_sent || ' ' || recent_bytes_sent FROM session.active_sessions WHERE id = $a"),
	($total0 + 11) . ' 11',
	'readers see every byte once, and the newest recent_bytes_sent');
is( $client->query_safe(
		"SELECT session.heartbeat(ARRAY[$a, $b], ARRAY[1, 2])"),
	'2', 'a batch of heartbeats writes through');
is( $client->query_safe(
		"SELECT total_bytes_sent FROM session.active_sessions WHERE id = $a"),
	$total0 + 12, '... counted once');

$node->safe_psql('template1', 'ALTER DATABASE postgres ALLOW_CONNECTIONS true');
$pid2 = wait_new_worker($pid, 60);
ok($pid2, 'the worker is back once its database accepts connections');
ok( poll_until(
		$node, 'postgres',
		"SELECT NOT flush_overdue AND flush_age_ms < 5000 FROM session.heartbeat_buffer_status()",
		't', 30),
	'its flushes are on time again');
ok( poll_until(
		$node, 'postgres',
		"SELECT s.total_bytes_sent = a.total_bytes_sent AND s.recent_bytes_sent = 1 "
		  . "FROM session_storage.sessions s JOIN session.active_sessions a USING (id) WHERE id = $a",
		't', 30),
	'the buffered bytes reach the row, without overwriting the newer recent_bytes_sent');
is($client->query_safe("SELECT session.heartbeat($a, 3)"), 't', 'heartbeats go on');
$client->quit;
like(log_since($node, $offset),
	qr/FATAL:  database "postgres" is not currently accepting connections\n.*CONTEXT:  session reaper connecting to session.database = "postgres"/,
	'the log names session.database when the worker cannot connect');

# ---------------------------------------------------------------------------
# kill -9 of the worker alone: crash restart
# ---------------------------------------------------------------------------

my $open = sql("SELECT string_agg(id::text, ',' ORDER BY id) FROM session.active_sessions");
$pid = reaper_pid($node);
kill 'KILL', $pid;
$pid2 = wait_new_worker($pid, 90);
ok($pid2, 'after kill -9 of the worker the postmaster restarts it');
is(sql("SELECT string_agg(id::text, ',' ORDER BY id) FROM session.active_sessions"),
	$open, 'every open session is still open');
ok( poll_until(
		$node, 'postgres',
		"SELECT session.heartbeat($b, 1) AND NOT flush_overdue FROM session.heartbeat_buffer_status()",
		't', 30),
	'heartbeats and flushes go on after the crash restart');

# ---------------------------------------------------------------------------
# A session.database that does not exist
# ---------------------------------------------------------------------------

$node->append_conf('postgresql.conf', "session.database = 'no_such_db'");
$offset = -s $node->logfile;
$node->restart;
my $named = 0;
$deadline = time() + 30;
while (time() < $deadline && !$named)
{
	$named = log_since($node, $offset) =~
	  /FATAL:  database "no_such_db" does not exist\n.*CONTEXT:  session reaper connecting to session.database = "no_such_db"/;
	usleep(200_000);
}
ok($named, 'a missing database: the log names session.database');
is(sql("SELECT flush_age_ms IS NULL AND NOT flush_overdue FROM session.heartbeat_buffer_status()"),
	't', 'no worker has attached: no flush age, nothing overdue');

$node->stop;
done_testing();
