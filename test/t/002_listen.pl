# Events (issue #4): every open, close, expiry, termination, eviction and
# user change sends NOTIFY session_events with a JSON payload
# {event, id, username, project, node, reason} at commit; nothing for a
# heartbeat, a rolled-back (sub)transaction or with session.notify off.
#
# One psql connection LISTENs and does the operations: psql prints the
# notifications its connection received after each command, so every
# command's own events are right after its output.  A second connection
# LISTENs too and must receive the same events, in the same order.

use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use SessionTest;

my $node = session_node('listen', extra => [ '--encoding=UTF8', '--locale=C' ]);
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION session');

my $json = JSON::PP->new->utf8;
my $notify_re =
  qr/^Asynchronous notification "session_events" with payload "(.*)" received from server process with PID (\d+)\.\r?$/;

# Splits psql output into the query's own output and the events received.
sub split_output
{
	my ($out) = @_;
	my (@events, @rest);

	foreach my $line (split /\n/, $out)
	{
		if ($line =~ $notify_re)
		{
			push @events, { %{ $json->decode($1) }, _pid => $2 };
		}
		else
		{
			push @rest, $line;
		}
	}
	return (join("\n", @rest), \@events);
}

my $actor = $node->background_psql('postgres', on_error_stop => 0);
my $watcher = $node->background_psql('postgres');
$actor->query_safe('LISTEN session_events');
$watcher->query_safe('LISTEN session_events');
my $actor_pid = $actor->query_safe('SELECT pg_backend_pid()');

my @all;    # every event the actor received, in order

# Runs $sql in the actor's connection; returns (output, [events]).
sub act
{
	my ($sql) = @_;
	my ($out, $events) = split_output($actor->query_safe($sql));
	push @all, @$events;
	return ($out, $events);
}

sub ev
{
	my ($event, $id, $username, $project, $node, $reason) = @_;
	return {
		event => $event,
		id => $id,
		username => $username,
		project => $project,
		node => $node,
		reason => $reason
	};
}

# Compares events without the sender pid.
sub events_are
{
	my ($got, $expected, $name) = @_;
	my @clean = map {
		my %e = %$_;
		delete $e{_pid};
		\%e
	} @$got;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	is_deeply(\@clean, $expected, $name)
	  or diag(explain(\@clean));
}

my ($id, $ev, $out);

# open, heartbeat, user changes, close
($id, $ev) = act(
	"SELECT session.open_session('alice', 'proj1', '10.0.0.1', 'browser', node => 'n1')");
events_are($ev, [ ev('open', $id, 'alice', 'proj1', 'n1', undef) ],
	'open_session sends an open event');
is($ev->[0]{_pid}, $actor_pid, 'the event comes from the backend that opened the session');

($out, $ev) = act("SELECT session.heartbeat($id, 100, '{page1}')");
is($out, 't', 'heartbeat of an open session returns true');
events_are($ev, [], 'a heartbeat sends no event');
($out, $ev) = act("SELECT session.heartbeat(ARRAY[$id], ARRAY[5::bigint])");
events_are($ev, [], 'a batch heartbeat sends no event');

(undef, $ev) = act("SELECT session.set_session_user($id, 'bob')");
events_are($ev, [ ev('user', $id, 'bob', 'proj1', 'n1', 'login') ],
	'set_session_user sends a user event with reason login');
(undef, $ev) = act("SELECT session.set_session_user($id, NULL)");
events_are($ev, [ ev('user', $id, 'Unauthenticated', 'proj1', 'n1', 'logout') ],
	'logging out sends a user event with reason logout');

($out, $ev) = act("SELECT session.close_session($id)");
is($out, 't', 'close_session returns true');
events_are($ev, [ ev('close', $id, 'Unauthenticated', 'proj1', 'n1', 'logout') ],
	'close_session sends a close event with its reason');
($out, $ev) = act("SELECT session.close_session($id)");
is($out, 'f', 'closing it again returns false');
events_are($ev, [], '... and sends nothing');

# terminate, with the default and with an own reason
my ($t1, $t2);
($t1, $ev) = act("SELECT session.open_session('dan', 'proj1', node => 'n1')");
($t2, $ev) = act("SELECT session.open_session('dan', 'proj1', node => 'n1')");
(undef, $ev) = act("SELECT session.terminate_session($t1)");
events_are($ev, [ ev('terminate', $t1, 'dan', 'proj1', 'n1', 'terminated') ],
	'terminate_session sends a terminate event');
(undef, $ev) = act("SELECT session.terminate_session($t2, 'abuse')");
events_are($ev, [ ev('terminate', $t2, 'dan', 'proj1', 'n1', 'abuse') ],
	"terminate_session with its own reason sends it");

# clientless sessions
my $c;
($c, $ev) = act("SELECT session.open_clientless_session('svc', 'proj2', 'n2')");
events_are($ev, [ ev('open', $c, 'svc', 'proj2', 'n2', undef) ],
	'open_clientless_session sends an open event');
(undef, $ev) = act("SELECT session.close_clientless_session($c)");
events_are($ev, [ ev('close', $c, 'svc', 'proj2', 'n2', 'closed') ],
	'close_clientless_session sends a close event with reason closed');

# eviction by session.max_sessions_per_user
act("SET session.max_sessions_per_user = 1; SET session.limit_policy = 'evict_oldest'");
my ($e1, $e2);
($e1, $ev) = act("SELECT session.open_session('eve', 'proj1', node => 'n1')");
($e2, $ev) = act("SELECT session.open_session('eve', 'proj1', node => 'n1')");
events_are(
	$ev,
	[
		ev('evict', $e1, 'eve', 'proj1', 'n1', 'evicted'),
		ev('open', $e2, 'eve', 'proj1', 'n1', undef)
	],
	'opening beyond the limit sends evict for the oldest, then open');
act('RESET session.max_sessions_per_user; RESET session.limit_policy');
(undef, $ev) = act("SELECT session.close_session($e2)");

# expiry: idle_timeout and max_lifetime
my ($f1, $f2);
($f1, $ev) = act("SELECT session.open_session('fay', 'proj3', node => 'n3')");
($f2, $ev) = act("SELECT session.open_session('gus', 'proj3', node => 'n3')");
act('SELECT pg_sleep(1.2)');
act("SELECT session.heartbeat($f2)");
act("SET session.idle_timeout = '1s'");
($out, $ev) = act('SELECT session.expire_sessions()');
is($out, '1', 'expire_sessions ends the idle session only');
events_are($ev, [ ev('expire', $f1, 'fay', 'proj3', 'n3', 'timeout') ],
	'an idle expiry sends an expire event with reason timeout');
act("SET session.idle_timeout = 0; SET session.max_lifetime = '1s'");
($out, $ev) = act('SELECT session.expire_sessions()');
is($out, '1', 'expire_sessions ends the old session');
events_are($ev, [ ev('expire', $f2, 'gus', 'proj3', 'n3', 'max_lifetime') ],
	'a lifetime expiry sends an expire event with reason max_lifetime');
act('RESET session.idle_timeout; RESET session.max_lifetime');

# close_node_sessions
my ($g1, $g2, $g3);
($g1, $ev) = act("SELECT session.open_session('hal', 'proj4', node => 'n9')");
($g2, $ev) = act("SELECT session.open_session('ivy', 'proj4', node => 'n9')");
($g3, $ev) = act("SELECT session.open_session('jon', 'proj4', node => 'n8')");
($out, $ev) = act("SELECT session.close_node_sessions('n9')");
is($out, '2', 'close_node_sessions ends the sessions of that node');
events_are(
	[ sort { $a->{id} <=> $b->{id} } @$ev ],
	[
		ev('close', $g1, 'hal', 'proj4', 'n9', 'node_shutdown'),
		ev('close', $g2, 'ivy', 'proj4', 'n9', 'node_shutdown')
	],
	'close_node_sessions sends one close event per session, reason node_shutdown');
act("SELECT session.close_session($g3)");

# nothing for a rolled-back transaction, events only at commit
($out, $ev) = act(
	"BEGIN; SELECT session.open_session('kim', 'proj5') AS id \\gset\n"
	  . "SELECT session.set_session_user(:id, 'lee');\n"
	  . "SELECT session.close_session(:id);\n"
	  . "ROLLBACK");
events_are($ev, [], 'a rolled-back transaction sends no event');

act('BEGIN');
my $h;
($h, $ev) = act("SELECT session.open_session('mia', 'proj5')");
events_are($ev, [], 'inside a transaction nothing is sent before commit');
(undef, $ev) = act('COMMIT');
events_are($ev, [ ev('open', $h, 'mia', 'proj5', undef, undef) ],
	'the event is sent at commit');

act('BEGIN');
my ($k1, $k2);
($k1, $ev) = act("SELECT session.open_session('ned', 'proj5')");
act('SAVEPOINT s');
($k2, $ev) = act("SELECT session.open_session('ned', 'proj5')");
act('ROLLBACK TO SAVEPOINT s');
(undef, $ev) = act('COMMIT');
events_are($ev, [ ev('open', $k1, 'ned', 'proj5', undef, undef) ],
	'the event of a rolled-back savepoint is not sent');

# an error in the middle of a transaction: nothing
($out, $ev) = split_output(
	scalar $actor->query(
		"BEGIN; SELECT session.open_session('oli', 'proj5'); SELECT 1/0; COMMIT"));
push @all, @$ev;
like($actor->{stderr}, qr/division by zero/, 'the transaction failed');
$actor->{stderr} = '';    # BackgroundPsql keeps it; later queries would fail
events_are($ev, [], 'a transaction that fails sends no event');

# session.notify = off
act('SET session.notify = off');
my $q;
($q, $ev) = act("SELECT session.open_session('pam', 'proj6')");
(undef, my $ev2) = act("SELECT session.set_session_user($q, 'pat')");
(undef, my $ev3) = act("SELECT session.close_session($q)");
events_are([ @$ev, @$ev2, @$ev3 ], [], 'with session.notify off nothing is sent');
act('RESET session.notify');
($q, $ev) = act("SELECT session.open_session('pam', 'proj6')");
events_are($ev, [ ev('open', $q, 'pam', 'proj6', undef, undef) ],
	'after RESET session.notify events are sent again');
act("SELECT session.close_session($q)");

# values that need JSON escaping, non-ASCII
my $weird;
($weird, $ev) = act(
	q{SELECT session.open_session('o"neil\x', U&'pr\00F6j/"1"', node => U&'n\00F6de')});
events_are($ev, [ ev('open', $weird, 'o"neil\\x', "pr\x{f6}j/\"1\"", "n\x{f6}de", undef) ],
	'quotes, backslashes and non-ASCII text survive as valid JSON');
act("SELECT session.close_session($weird, 'bye \"now\"')");

# every payload has exactly the six keys
my $keys_ok = 1;
foreach my $e (@all)
{
	my $k = join(',', sort grep { $_ ne '_pid' } keys %$e);
	$keys_ok = 0 unless $k eq 'event,id,node,project,reason,username';
}
ok($keys_ok, 'every payload has the keys event, id, username, project, node, reason');

# the second listener got the same events in the same order
my @seen;
my $deadline = time() + 10;
while (@seen < @all && time() < $deadline)
{
	my (undef, $got) = split_output($watcher->query_safe('SELECT 1'));
	push @seen, @$got;
	usleep(100_000) if @seen < @all;
}
is(scalar @seen, scalar @all,
	'another listening connection received as many events (' . scalar(@all) . ')');
is_deeply(\@seen, \@all, '... the same ones, in the same order');

$actor->quit;
$watcher->quit;
$node->stop;
done_testing();
