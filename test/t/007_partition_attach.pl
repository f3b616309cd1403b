# Creating the daily partition of the current day must not make concurrent
# ends of sessions fail.
#
# Ended sessions whose day has no partition yet go to the default partition.
# expire_sessions() and the background worker create the day's partition and
# attach it (moving that day's rows out of the default partition) while the
# application keeps ending sessions.  A close_session() that routed its row
# to the default partition before the attach committed then waits for the
# default partition's lock, and once it gets it, PostgreSQL re-checks the
# row against the default partition's new constraint.  Seen under load in
# 003_crash.pl during the worker's first pass after CREATE EXTENSION: all
# four clients failed with "new row for relation "ended_sessions_default"
# violates partition constraint".  This test makes the interleaving
# deterministic with an explicit transaction around expire_sessions().

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SessionTest;

my $node = session_node('attach');
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION session');

is( $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_inherits WHERE inhparent = 'session_storage.ended_sessions'::regclass"),
	'1',
	'after CREATE EXTENSION only the default partition exists');

my $id = $node->safe_psql('postgres', "SELECT session.open_session('alice', 'p1')");
my $early = $node->safe_psql('postgres', "SELECT session.open_session('bob', 'p1')");
$node->safe_psql('postgres', "SELECT session.close_session($early)");

my $maint = $node->background_psql('postgres');
my $app = $node->background_psql('postgres', on_error_stop => 0);

# the maintenance creates today's partition in a transaction still open
$maint->query_safe('BEGIN');
$maint->query_safe('SELECT session.expire_sessions()');

# the application ends a session meanwhile: today it waits for the lock of
# the default partition (a fix may make it wait elsewhere or not at all)
my $app_pid = $app->query_safe('SELECT pg_backend_pid()');
$app->query_until(qr/closing/, "\\echo closing\nSELECT session.close_session($id);\n");
ok( poll_until($node, 'postgres',
		"SELECT query LIKE '%close_session%' AND (wait_event_type = 'Lock' OR state = 'idle') FROM pg_stat_activity WHERE pid = $app_pid",
		't', 30),
	'close_session either waits for a lock or is done');
note 'close_session state during the attach: '
  . $node->safe_psql('postgres',
	"SELECT state || ' ' || coalesce(wait_event_type || ':' || wait_event, '') FROM pg_stat_activity WHERE pid = $app_pid");

$maint->query_safe('COMMIT');
my $out = $app->query("SELECT 'after'");
my $err = $app->{stderr};

is($err, '', 'close_session meets no error when the day\'s partition is attached meanwhile');
is($out, "t\nafter", 'close_session returns true');
is( $node->safe_psql('postgres',
		"SELECT end_reason FROM session.get_session_info(${id}::bigint)"),
	'logout',
	'the session is ended');
my $today = $node->safe_psql('postgres',
	"SELECT 'session_storage.ended_sessions_' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD')");
is( $node->safe_psql('postgres',
		"SELECT tableoid::regclass FROM session_storage.ended_sessions WHERE id = $early"),
	$today,
	'the session ended before the attach was moved to the partition of today');
is( $node->safe_psql('postgres',
		"SELECT tableoid::regclass FROM session_storage.ended_sessions WHERE id = $id"),
	$today,
	'the session ended during the attach is in the partition of today');

$maint->quit;
$app->quit;
$node->stop;
done_testing();
