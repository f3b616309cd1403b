# Events (issue 11, hole 2): every open, close, expiry, termination,
# eviction and user change is a row of the event log, read by session_reader
# with session.events_since(after_event_id); NOTIFY session_events is only
# an empty wake-up, sent at commit while a member of session_reader listens.
#
# Checked here with real connections: a reader is woken up by each committing
# transaction (one empty notification each, nothing for a rollback or with
# session.notify off) and finds the events with their fields; a role without
# session_reader cannot LISTEN (42501) nor read; a forged NOTIFY wakes the
# reader, who finds nothing new; a consumer that disconnects resumes from
# its cursor without losing an event; the worker applies
# session.event_retention while a reader holds a transaction open.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use SessionTest;

my $node = session_node(
	'listen',
	extra => [ '--encoding=UTF8', '--locale=C' ],
	conf => q{
shared_preload_libraries = 'session'
session.database = 'postgres'
session.reaper_interval = '1s'
});
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION session;
CREATE ROLE r_reader LOGIN IN ROLE session_reader;
CREATE ROLE r_app LOGIN IN ROLE session_app;
CREATE ROLE r_none LOGIN;
});

my $wake_re =
  qr/^Asynchronous notification "session_events"( with payload "(.*)")? received from server process with PID (\d+)\.\r?$/;

# Splits psql output into the query's own output and the notifications
# received (each a payload, '' when there is none).
sub split_output
{
	my ($out) = @_;
	my (@wakes, @rest);

	foreach my $line (split /\n/, $out)
	{
		if ($line =~ $wake_re)
		{
			push @wakes, $2 // '';
		}
		else
		{
			push @rest, $line;
		}
	}
	return (join("\n", @rest), \@wakes);
}

my $reader = $node->background_psql('postgres', extra_params => [ '-U', 'r_reader' ]);
my $actor = $node->background_psql('postgres', extra_params => [ '-U', 'r_app' ]);
$reader->query_safe('LISTEN session_events');

my $cursor = 0;

# The notifications the reader has received so far (waits up to $wait s for
# at least $min of them).
sub wakes
{
	my ($min, $wait) = @_;
	my @got;
	my $deadline = time() + ($wait // 5);

	while (1)
	{
		my (undef, $w) = split_output($reader->query_safe('SELECT 1'));
		push @got, @$w;
		last if @got >= ($min // 0) || time() > $deadline;
		usleep(100_000);
	}
	return \@got;
}

# The events after the cursor, as "event id username project node scope
# reason" lines (uuid and time checked separately); moves the cursor.
sub read_events
{
	my ($out) = split_output(
		$reader->query_safe(
			"SELECT event_id, concat_ws(' ', event, id, username, coalesce(project, '-'), "
			  . "coalesce(node, '-'), scope, coalesce(reason, '-')) "
			  . "FROM session.events_since($cursor, 1000)"));
	my @lines;
	foreach my $row (split /\n/, $out)
	{
		my ($id, $text) = split /\|/, $row, 2;
		$cursor = $id;
		push @lines, $text;
	}
	return \@lines;
}

# ---------------------------------------------------------------------------
# Who may listen and read
# ---------------------------------------------------------------------------

my ($ret, $stdout, $stderr) = $node->psql('postgres', 'LISTEN session_events',
	extra_params => [ '-U', 'r_none' ]);
isnt($ret, 0, 'a role without session_reader cannot LISTEN session_events');
like($stderr, qr/permission denied to listen on channel "session_events"/, '... with a clear message');
($ret, $stdout, $stderr) = $node->psql(
	'postgres', q{
DO $$ BEGIN
	EXECUTE 'LISTEN session_events';
	RAISE NOTICE 'listened';
EXCEPTION WHEN insufficient_privilege THEN RAISE NOTICE 'refused %', SQLSTATE;
END $$},
	extra_params => [ '-U', 'r_none' ]);
like($stderr, qr/NOTICE:  refused 42501/, '... SQLSTATE 42501');
($ret, $stdout, $stderr) = $node->psql('postgres', 'LISTEN session_events',
	extra_params => [ '-U', 'r_app' ]);
isnt($ret, 0, 'session_app cannot LISTEN session_events either');
($ret, $stdout, $stderr) = $node->psql('postgres', 'SELECT * FROM session.events_since(0, 10)',
	extra_params => [ '-U', 'r_none' ]);
like($stderr, qr/permission denied for function events_since/, 'a role without session_reader cannot read events');

# ---------------------------------------------------------------------------
# One wake-up per committing transaction, the events in the log
# ---------------------------------------------------------------------------

my $id = $actor->query_safe(
	"SELECT session.open_session('alice', 'proj1', '10.0.0.1', 'designer', node => 'n1')");
my $w = wakes(1);
is_deeply($w, [''], 'an open wakes the reader once, with an empty payload');
is_deeply(read_events(), ["open $id alice proj1 n1 designer -"],
	'events_since returns the open event with its fields');
is( $reader->query_safe(
		"SELECT e.uuid = s.uuid FROM session.events_since(0, 1000) e "
		  . "JOIN session.active_sessions s ON s.id = e.id WHERE e.id = $id"),
	't',
	'the event carries the session\'s uuid');

$actor->query_safe("SELECT session.heartbeat($id, 100)");
is_deeply(wakes(0, 1), [], 'a heartbeat wakes nobody');
is_deeply(read_events(), [], '... and logs nothing');

$actor->query_safe(
	"BEGIN; SELECT session.set_session_user($id, 'bob'); "
	  . "SELECT session.open_session('carl', 'proj2'); SELECT session.close_session($id); COMMIT");
is_deeply(wakes(1), [''], 'a transaction of three changes wakes the reader once');
my $ev = read_events();
is(scalar @$ev, 3, '... and logs three events');
is($ev->[0], "user $id bob proj1 n1 designer login", '... a login');
like($ev->[1], qr/^open \d+ carl proj2 - browser -$/, '... an open');
is($ev->[2], "close $id bob proj1 n1 designer logout", '... and the close, in order');

$actor->query_safe("BEGIN; SELECT session.open_session('dora', 'proj3'); ROLLBACK");
is_deeply(wakes(0, 1), [], 'a rolled-back transaction wakes nobody');
is_deeply(read_events(), [], '... and logs nothing');

$node->safe_psql('postgres',
	"SET session.notify = off; SELECT session.close_node_sessions('nowhere'); "
	  . "SELECT session.open_session('quiet', 'proj3')");
is_deeply(wakes(0, 1), [], 'with session.notify off nothing wakes the reader');
is_deeply(read_events(), [], '... and nothing is logged');

# ---------------------------------------------------------------------------
# A forged notification
# ---------------------------------------------------------------------------

$node->safe_psql('postgres',
	q{SELECT pg_notify('session_events', '{"event":"terminate","id":1}')},
	extra_params => [ '-U', 'r_none' ]);
$w = wakes(1);
is(scalar @$w, 1, 'a role without session_reader can send a NOTIFY on the channel');
is_deeply(read_events(), [], '... but the reader finds nothing new in the log: nothing to act on');

# ---------------------------------------------------------------------------
# A consumer that disconnects resumes from its cursor
# ---------------------------------------------------------------------------

$reader->quit;
my @ids = map {
	$actor->query_safe("SELECT session.open_session('user$_', 'proj4', node => 'n4')")
} 1 .. 3;
$node->safe_psql('postgres', "SELECT session.close_node_sessions('n4')");
$reader = $node->background_psql('postgres', extra_params => [ '-U', 'r_reader' ]);
$ev = read_events();
is_deeply(
	$ev,
	[
		(map { "open $ids[$_ - 1] user$_ proj4 n4 browser -" } 1 .. 3),
		(map { "close $ids[$_ - 1] user$_ proj4 n4 browser node_shutdown" } 1 .. 3)
	],
	'events written while the consumer was away are all there after it reconnects, in order');

# ---------------------------------------------------------------------------
# Retention by the worker, without making anyone wait
# ---------------------------------------------------------------------------

my $holder = $node->background_psql('postgres', extra_params => [ '-U', 'r_reader' ]);
$holder->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM session.events_since(0, 1000)');
ok( $node->safe_psql('postgres', 'SELECT count(*) FROM session_storage.events') > 0,
	'the log has events before retention applies');
# the events so far are made two hours old; retention is one hour
$node->safe_psql('postgres',
	"UPDATE session_storage.events SET event_time = event_time - interval '2 hours'");
$node->safe_psql('postgres',
	"ALTER SYSTEM SET session.event_retention = '1h'; SELECT pg_reload_conf()");
my $t0 = time();
my $new = $actor->query_safe("SET statement_timeout = '5s'; SELECT session.open_session('eve', 'proj5')");
ok(time() - $t0 < 3, 'the application is not kept waiting while retention runs');
ok( poll_until(
		$node, 'postgres',
		"SELECT count(*) FROM session_storage.events WHERE username <> 'eve'",
		'0', 30),
	'the worker removes the events older than session.event_retention, while a reader holds a transaction open');
is($node->safe_psql('postgres', "SELECT count(*) FROM session_storage.events WHERE id = $new"),
	'1', '... and keeps the recent one');
is_deeply(read_events(), ["open $new eve proj5 - browser -"],
	'the consumer reads on from its cursor after the purge');
$holder->query_safe('COMMIT');
is(join("\n", reaper_log_problems($node)), '', 'the worker logged no problem');

$holder->quit;
$reader->quit;
$actor->quit;
$node->stop;
done_testing();
