# A fast shutdown of a primary whose synchronous standby is gone completes:
# the background worker's flush that waits for the standby stops waiting when
# it is asked to stop, and its last flush is durable locally without
# waiting.  Every buffered heartbeat is in the table after the restart.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use SessionTest;

my $primary = session_node(
	'syncprimary',
	allows_streaming => 1,
	conf => q{
shared_preload_libraries = 'session'
session.database = 'postgres'
session.reaper_interval = '1s'
session.heartbeat_flush_interval = '200ms'
synchronous_commit = on
});
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION session');
$primary->safe_psql('postgres', 'SELECT session.expire_sessions()');
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('syncstandby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->append_conf('postgresql.conf', "cluster_name = 'syncstandby'");
$standby->start;
$primary->append_conf('postgresql.conf', "synchronous_standby_names = 'syncstandby'");
$primary->reload;
ok( poll_until(
		$primary, 'postgres',
		"SELECT sync_state FROM pg_stat_replication WHERE application_name = 'syncstandby'",
		'sync', 30),
	'the standby is synchronous');

sub sql { return $primary->safe_psql('postgres', $_[0]); }

# sessions opened while the standby is there (their commits wait for it)
my @ids = split /\n/,
  sql("SELECT session.open_session('u' || g, 'p') FROM generate_series(1, 50) g");
is(scalar @ids, 50, 'sessions opened with the synchronous standby up');
my $list = join(',', @ids);
ok( poll_until(
		$primary, 'postgres',
		"SELECT session.heartbeat(ARRAY[$list]) = 50 AND used >= 50 "
		  . "FROM session.heartbeat_buffer_status()",
		't', 30),
	'heartbeats are buffered');

$standby->stop('fast');

# a buffered heartbeat writes no WAL: it does not wait for the standby, and
# the worker's next flush then waits for it
my $sent = 0;
for my $i (1 .. 5)
{
	sql("SELECT session.heartbeat(ARRAY[$list], array_fill(10::bigint, ARRAY[50]))");
	$sent += 500;
}
ok( poll_until(
		$primary, 'postgres',
		"SELECT wait_event FROM pg_stat_activity WHERE backend_type = 'session reaper'",
		'SyncRep', 30),
	'the worker waits for the synchronous standby that is gone');
# more heartbeats, buffered behind the waiting flush
sql("SELECT session.heartbeat(ARRAY[$list], array_fill(1::bigint, ARRAY[50]))");
$sent += 50;

my $offset = -s $primary->logfile;
my $t0 = time();
my $rc = system('pg_ctl', '-D', $primary->data_dir, '-m', 'fast', '-t', '60', '-w', 'stop');
my $took = time() - $t0;
ok($rc == 0, 'pg_ctl stop -m fast succeeds');
ok($took < 20, sprintf('... within 20 s (%.1f s)', $took));
$primary->{_pid} = undef if $rc == 0;
my $log = log_since($primary, $offset);
like($log, qr/session reaper: WARNING:  canceling wait for synchronous replication/,
	'the worker stopped waiting for the standby');
like($log, qr/session reaper stopping/, 'the worker wrote its last flush and stopped');
unlike($log, qr/session reaper started/, 'at shutdown the worker is not started again');

# restart without the synchronous standby, so that nothing waits
$primary->append_conf('postgresql.conf', "synchronous_standby_names = ''");
$primary->start;
is(sql("SELECT sum(total_bytes_sent) FROM session_storage.sessions WHERE id IN ($list)"),
	$sent, 'every buffered heartbeat reached the table before the shutdown');
is(sql("SELECT count(*) FROM session.active_sessions"), '50', 'every session is there');

$primary->stop;
done_testing();
