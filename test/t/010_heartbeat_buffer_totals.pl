# The heartbeat buffer under a reader with an old snapshot and under a huge
# batch: a REPEATABLE READ reader whose snapshot is older than several
# flushes never sees total_bytes_sent go down, and the flush catches up once
# it ends; a batch of 1,000,000 ids (sessions with an entry, sessions without
# a slot, ids that are no session) is cancelled by statement_timeout and
# leaves no entry behind; several transactions heartbeat one session at
# once without waiting for each other.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use SessionTest;

my $node = session_node(
	'hbuftotals',
	conf => q{
shared_preload_libraries = 'session'
session.database = 'postgres'
session.reaper_interval = '3600s'
session.heartbeat_flush_interval = '100ms'
session.heartbeat_slots = 3000
# a shared lock table of a few hundred locks, fewer than the sessions
# that one transaction ends below
max_connections = 20
max_locks_per_transaction = 10
# every claim released by its own transaction (DEBUG1 says when one is not)
log_min_messages = debug1
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION session');
$node->safe_psql('postgres', 'SELECT session.expire_sessions()');

sub sql { return $node->safe_psql('postgres', $_[0]); }

sub stored_total
{
	return sql("SELECT total_bytes_sent FROM session_storage.sessions WHERE id = $_[0]");
}

# the worker attaches the buffer at its first loop after CREATE EXTENSION
ok( poll_until(
		$node, 'postgres',
		"SELECT session.open_session('probe', 'p') AS p \\gset\n"
		  . "SELECT session.heartbeat(:p, 1);\n"
		  . "SELECT total_bytes_sent FROM session_storage.sessions WHERE id = :p;\n",
		"t\n0", 30),
	'heartbeats are buffered');
sql("DELETE FROM session_storage.sessions");

# --- totals never dip --------------------------------------------------------
my $x = sql("SELECT session.open_session('xavier', 'p')");
sql("SELECT session.heartbeat($x, 100)");
ok(poll_until($node, 'postgres', "SELECT total_bytes_sent FROM session_storage.sessions WHERE id = $x", '100', 30),
	'the first heartbeat is flushed');

my $r = $node->background_psql('postgres');
$r->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
my $q = "SELECT total_bytes_sent FROM session.active_sessions WHERE id = $x";
my $first = $r->query_safe($q);
is($first, '100', 'the reader starts at 100');
# each heartbeat smaller than the one before: a reader that adds back only
# the latest flush it does not see would see the total go down
my ($max, $dips, @seen) = ($first, 0);
for my $i (1 .. 25)
{
	sql("SELECT session.heartbeat($x, " . 10 * (26 - $i) . ")");
	usleep(150_000);    # a flush or more meanwhile (every 100 ms)
	my $v = $r->query_safe($q);
	push @seen, $v;
	$dips++ if $v < $max;
	$max = $v if $v > $max;
}
is($dips, 0, 'a repeatable read reader never sees total_bytes_sent go down')
  or diag("seen: $first @seen");
is($seen[-1], '3350', '... and sees every heartbeat');
cmp_ok(stored_total($x), '>=', 100 + 250 + 240,
	'... while at least two flushes it does not see wrote the row');
is($r->query_safe("SELECT total_bytes_sent FROM session_storage.sessions WHERE id = $x"),
	'100', '... (its snapshot still reads the first one)');
$r->query_safe('COMMIT');
$r->quit;
ok(poll_until($node, 'postgres', "SELECT total_bytes_sent FROM session_storage.sessions WHERE id = $x", '3350', 30),
	'once the reader is gone the flush writes the rest');
is(sql("SELECT total_bytes_sent FROM session.active_sessions WHERE id = $x"), '3350',
	'the live total is unchanged by it');

# --- more ends in one transaction than the lock table holds ------------------
sql("SELECT session.open_session('w' || g, 'p') FROM generate_series(1, 2500) g");
sql("UPDATE session_storage.sessions SET last_comm = last_comm - interval '1 hour' WHERE username LIKE 'w%'");
is(sql("SELECT count(*) FROM session_storage.sessions WHERE username LIKE 'w%'"), '2500', '2500 idle sessions');
cmp_ok(sql("SELECT used FROM session.heartbeat_buffer_status()"), '>=', 2500, '... with entries in the buffer');
is( sql("BEGIN; SET LOCAL session.idle_timeout = '10min'; SELECT session.expire_sessions(); COMMIT"),
	'2500', 'one expire_sessions() ends them all in one transaction');
is(sql("SELECT count(*) FROM session.history WHERE username LIKE 'w%' AND end_reason = 'timeout'"),
	'2500', '... into history');

# --- a batch of 1,000,000 ids is cancelled -------------------------------------
# statement_timeout 200ms, well below the second that a whole batch of
# 1,000,000 ids with free slots can take on a fast moment (a timeout of 1s let
# it finish); the elapsed time (psql's start included) is a generous bound
# against a loop that does not check for interrupts, which ran for many seconds
sub cancelled_batch
{
	my ($what) = @_;
	my $t0 = time();
	my ($ret, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\nSET statement_timeout = '200ms';\n"
		  . "SELECT session.heartbeat(ARRAY(SELECT g FROM generate_series(1, 1000000) g));");
	my $elapsed = time() - $t0;
	like($err, qr/ERROR:\s+57014/, "$what: a 1,000,000-id batch is cancelled (57014)");
	cmp_ok($elapsed, '<', 2.5, sprintf("$what: ... %.2f s after it started", $elapsed));
}

# 600 sessions with an entry, 2,400 free slots for the ids that are no session
sql("SELECT session.open_session('u' || g, 'p') FROM generate_series(1, 599) g");
my $used = sql("SELECT used FROM session.heartbeat_buffer_status()");
cancelled_batch('free slots');
is(sql("SELECT used FROM session.heartbeat_buffer_status()"), $used,
	'the entries it made for ids that are no session are gone');
is(sql("SELECT session.heartbeat(700)"), 'f', 'a heartbeat of such an id is false');

# the same in a subtransaction rolled back, in a transaction that commits
my ($sret, $sout, $serr) = $node->psql('postgres',
	"\\set VERBOSITY verbose\nBEGIN;\nSAVEPOINT s;\nSET statement_timeout = '200ms';\n"
	  . "SELECT session.heartbeat(ARRAY(SELECT g FROM generate_series(1000001, 2000000) g));\n"
	  . "ROLLBACK TO s;\nRESET statement_timeout;\nCOMMIT;");
like($serr, qr/ERROR:\s+57014/, 'a batch cancelled in a subtransaction');
is(sql("SELECT used FROM session.heartbeat_buffer_status()"), $used,
	'... leaves no entry once the transaction commits');
is(sql("SELECT session.heartbeat(1000001)"), 'f', '... and a heartbeat of such an id is false');

# 40,600 sessions: 37,600 of them have no slot
sql("SELECT session.open_session('v' || g, 'p') FROM generate_series(1, 40000) g");
cancelled_batch('sessions without a slot');

# a batch that the server reads quickly, with 37,600 sessions without a slot
# among its ids (matched against the ids one by one, they would take
# seconds): it ends, done or cancelled, within about a second
my $t0 = time();
my ($ret, $out, $err) = $node->psql('postgres',
	"\\set VERBOSITY verbose\nSET statement_timeout = '1s';\n"
	  . "SELECT session.heartbeat(ARRAY(SELECT g FROM generate_series(1, 120000) g)) > 0;");
my $elapsed = time() - $t0;
ok($ret == 0 || $err =~ /ERROR:\s+57014/, '120,000 ids: done or cancelled (57014)')
  or diag($err);
cmp_ok($elapsed, '<', 2.5, sprintf('... %.2f s after it started', $elapsed));

# the batch held nothing: a close and an expiry go through at once
$node->safe_psql('postgres', "SET lock_timeout = '1s'; SELECT session.close_session($x)");
is(sql("SELECT end_reason FROM session.history WHERE id = $x"), 'logout', 'a close afterwards does not wait');
is(sql("SELECT total_bytes_sent FROM session.history WHERE id = $x"), '3350', '... and keeps the total');

# --- heartbeats of one session from several transactions share its entry ------
# HBUF_OWNERS (4) transactions hold heartbeats of y at once, none waiting (each
# would hit its lock_timeout); a fifth waits for one of them; a close waits for
# all and keeps every heartbeat.
my $y = sql("SELECT session.open_session('yvonne', 'p')");
my @beaters = map { $node->background_psql('postgres') } 1 .. 4;
my $shared = 0;
for my $b (@beaters)
{
	my $out = eval {
		$b->query_safe("BEGIN; SET LOCAL lock_timeout = '200ms'; SELECT session.heartbeat($y, 1)");
	};
	$shared++ if defined $out && $out eq 't';
}
is($shared, 4, 'four open transactions heartbeat one session without waiting');
my ($rc, $out, $err) = $node->psql('postgres',
	"SET lock_timeout = '200ms'; SELECT session.heartbeat($y, 1)", on_error_stop => 1);
like($err, qr/lock timeout/, 'a fifth waits for one of them (lock_timeout)');
my $closer = $node->background_psql('postgres');
$closer->query_until(qr/closing/, "\\echo closing
SELECT session.close_session($y);
");
ok( poll_until(
		$node, 'postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%close_session%'",
		'1', 30),
	'a close waits for them');
$_->query_safe('COMMIT') for @beaters;
ok(poll_until($node, 'postgres', "SELECT end_reason FROM session.history WHERE id = $y", 'logout', 30),
	'... and ends the session once they committed');
is(sql("SELECT total_bytes_sent FROM session.history WHERE id = $y"), '4', '... with the bytes of all four');
$_->quit for @beaters, $closer;

# the one order that deadlocks with shared claims (doc/internals.md): two
# transactions heartbeat a session, then both close it; the deadlock detector
# ends one of them (40P01), the other closes the session
my $z = sql("SELECT session.open_session('zoe', 'p')");
my $log_at = -s $node->logfile;
my ($c1, $c2) = map { $node->background_psql('postgres', on_error_stop => 0) } 1 .. 2;
$_->query_safe("SET deadlock_timeout = '100ms'; BEGIN; SELECT session.heartbeat($z, 1)") for $c1, $c2;
$c1->query_until(qr/closing/, "\\echo closing\nSELECT session.close_session($z);\n");
ok( poll_until(
		$node, 'postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%close_session($z)%'",
		'1', 30),
	'two transactions heartbeat one session; a close waits for the other');
$c2->query("SELECT session.close_session($z)");
$_->query('COMMIT') for $c2, $c1;
ok($node->log_contains('deadlock detected', $log_at),
	'... and when the other closes it too, the deadlock detector ends one of them (40P01)');
is(sql("SELECT count(*) FROM session.history WHERE id = $z"), '1', '... and the other closes the session');
$_->quit for $c1, $c2;

is((() = slurp_file($node->logfile) =~ /taken over from an ended transaction/g), 0,
	'every transaction released the entries it claimed');

$node->stop;
done_testing();
