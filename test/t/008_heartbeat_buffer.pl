# The shared-memory heartbeat buffer (issue 12): live values for readers, a
# rolled-back heartbeat, heartbeat against close and against expiry, the
# flush, a full table, a clean restart, kill -9 between flushes, a standby
# after a flush, the setting at 0, and PREPARE TRANSACTION.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use SessionTest;

my $node = session_node(
	'hbuf',
	allows_streaming => 1,
	conf => q{
shared_preload_libraries = 'session'
session.database = 'postgres'
session.reaper_interval = '3600s'
session.heartbeat_flush_interval = '1h'
max_prepared_transactions = 2
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION session');
# the daily partitions now, not while sessions end
$node->safe_psql('postgres', 'SELECT session.expire_sessions()');

sub sql { return $node->safe_psql('postgres', $_[0]); }

sub stored_total
{
	my ($id) = @_;
	return sql("SELECT total_bytes_sent FROM session_storage.sessions WHERE id = $id");
}

sub live_total
{
	my ($id) = @_;
	return sql("SELECT total_bytes_sent FROM session.active_sessions WHERE id = $id");
}

# The worker attaches the buffer to the sessions table at its first loop
# after CREATE EXTENSION: wait until a heartbeat stays in shared memory.
# (a fresh session each time, its row read in a statement of its own)
sub wait_buffering
{
	return poll_until(
		$node, 'postgres',
		"SELECT session.open_session('probe', 'p') AS p \\gset\n"
		  . "SELECT session.heartbeat(:p, 1);\n"
		  . "SELECT total_bytes_sent FROM session_storage.sessions WHERE id = :p;\n",
		"t\n0", 30);
}
ok(wait_buffering(), 'heartbeats are buffered once the worker has attached');

# --- live values -----------------------------------------------------------
my $a = sql("SELECT session.open_session('alice', 'p')");
is(sql("SELECT session.heartbeat($a, 100)"), 't', 'buffered heartbeat returns true');
is(stored_total($a), '0', 'the row is not written');
is(live_total($a), '100', 'the view shows the live total');
is(sql("SELECT recent_bytes_sent FROM session.active_sessions WHERE id = $a"),
	'100', 'the view shows the live recent_bytes_sent');
is(sql("SELECT (session.get_session_info($a)).total_bytes_sent"),
	'100', 'get_session_info(id) shows the live total');
is(sql("SELECT total_bytes_sent FROM session.get_session_info('alice', NULL)"),
	'100', 'get_session_info(regex) shows the live total');
ok(sql("SELECT last_comm > start_time FROM session.active_sessions WHERE id = $a") eq 't'
	  && sql("SELECT last_comm = start_time FROM session_storage.sessions WHERE id = $a") eq 't',
	'last_comm moves in the view, not in the row');
is(sql("SELECT session.heartbeat($a, 5, ARRAY['pg1'])"), 't', 'heartbeat with page_ids');
is(sql("SELECT page_ids FROM session_storage.sessions WHERE id = $a"), '{pg1}',
	'page_ids are written at once');
is(live_total($a), '105', '... and its bytes are buffered');
my $version = sql("SELECT ctid || ' ' || xmin FROM session_storage.sessions WHERE id = $a");
is(sql("SELECT session.heartbeat($a, 5, ARRAY['pg1'])"), 't', 'heartbeat with the same page_ids');
is(sql("SELECT ctid || ' ' || xmin FROM session_storage.sessions WHERE id = $a"), $version,
	'unchanged page_ids write no new row version');
is(live_total($a), '110', '... and its bytes are buffered');
is(sql("SELECT session.heartbeat($a, 0, ARRAY['pg1', 'pg2'])"), 't', 'heartbeat with other page_ids');
isnt(sql("SELECT ctid || ' ' || xmin FROM session_storage.sessions WHERE id = $a"), $version,
	'changed page_ids write the row');
is(sql("SELECT page_ids FROM session.active_sessions WHERE id = $a"), '{pg1,pg2}',
	'... visible at once');
is(sql("SELECT session.heartbeat($a, 0, '{}')"), 't', 'heartbeat with no pages open');
is(sql("SELECT page_ids FROM session.active_sessions WHERE id = $a"), '{}', '... clears them');
is(sql("SELECT session.heartbeat($a, 0, ARRAY['pg1'])"), 't', 'back to one page');

# --- rolled back ---------------------------------------------------------------
sql("BEGIN; SELECT session.heartbeat($a, 1000); ROLLBACK;");
is(live_total($a), '110', 'a rolled-back heartbeat has no effect');
sql("BEGIN; SAVEPOINT s; SELECT session.heartbeat($a, 1000); ROLLBACK TO s; SELECT session.heartbeat($a, 1); COMMIT;");
is(live_total($a), '111', 'a heartbeat in a rolled-back subtransaction has no effect');
is(sql("BEGIN; SELECT session.heartbeat($a, 10); SELECT total_bytes_sent FROM session.active_sessions WHERE id = $a; ROLLBACK;"),
	"t\n121", 'a transaction sees its own heartbeats');

# --- batches ---------------------------------------------------------------------
my $b = sql("SELECT session.open_session('bob', 'p')");
is(sql("SELECT session.heartbeat(ARRAY[$a, $b, $b, -1]::bigint[], ARRAY[1, 2, 3, 4]::bigint[])"),
	'2', 'a batch counts the open sessions it touched');
is(live_total($b), '5', 'a batch merges the bytes of one session');

# --- heartbeat against close --------------------------------------------------
my $s1 = $node->background_psql('postgres');
my $s2 = $node->background_psql('postgres');
$s1->query_safe('BEGIN');
$s1->query_safe("SELECT session.heartbeat($b, 1000)");
$s2->query_until(qr/go/, "\\echo go\nSELECT session.close_session($b);\n");
ok( poll_until(
		$node, 'postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%close_session($b)%'",
		'1', 30),
	'a close waits for the heartbeat in flight of its session');
$s1->query_safe('COMMIT');
ok(poll_until($node, 'postgres', "SELECT count(*) FROM session_storage.ended_sessions WHERE id = $b", '1', 30),
	'... and ends the session once it commits');
is(sql("SELECT total_bytes_sent FROM session.history WHERE id = $b"), '1005',
	'the history row holds the heartbeat that raced the close');
is(sql("SELECT session.heartbeat($b, 1)"), 'f', 'a heartbeat after the close is false');
$s2->query_safe('SELECT 1');

# a heartbeat that waits for a close returns false
my $c = sql("SELECT session.open_session('carol', 'p')");
$s1->query_safe('BEGIN');
$s1->query_safe("SELECT session.close_session($c)");
$s2->query_until(qr/go/, "\\echo go\nSELECT 'hb=' || session.heartbeat($c, 7);\n");
ok( poll_until(
		$node, 'postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%heartbeat($c, 7)%'",
		'1', 30),
	'a heartbeat waits for a close in flight of its session');
$s1->query_safe('COMMIT');
like($s2->query_safe('SELECT 1'), qr/hb=f/, '... and returns false once the close commits');
is(sql("SELECT total_bytes_sent FROM session.history WHERE id = $c"), '0', 'nothing of it is in history');

# --- heartbeat against expiry ------------------------------------------------------
# idle_timeout 3 s (every idle session expires here: the later sections use
# sessions of their own); the row's last_comm stays at the open time while
# the buffer holds the heartbeats
my $d = sql("SELECT session.open_session('dave', 'p')");
my $e = sql("SELECT session.open_session('erin', 'p')");
for (1 .. 8)
{
	sql("SELECT session.heartbeat($d, 1)");
	usleep(500_000);
}
sql("SET session.idle_timeout = '3s'; SELECT session.expire_sessions()");
is(sql("SELECT count(*) FROM session_storage.sessions WHERE id = $d"), '1',
	'expiry keeps a session whose heartbeats are only in the buffer');
is(sql("SELECT count(*) FROM session_storage.ended_sessions WHERE id = $e AND end_reason = 'timeout'"), '1',
	'... and ends the idle one');
$s1->query_safe('BEGIN');
$s1->query_safe("SELECT session.heartbeat($d, 1)");
sleep(4);
sql("SET session.idle_timeout = '3s'; SELECT session.expire_sessions()");
is(sql("SELECT count(*) FROM session_storage.sessions WHERE id = $d"), '1',
	'expiry does not wait for a heartbeat in flight, and leaves its session');
$s1->query_safe('COMMIT');
is(sql("SELECT count(*) FROM session_storage.sessions WHERE id = $d"), '1', 'the session of the committed heartbeat stays open');
sleep(4);
is(sql("SET session.idle_timeout = '3s'; SELECT session.expire_sessions() >= 1"), 't', 'once idle it expires');
is(sql("SELECT total_bytes_sent FROM session.history WHERE id = $d"), '9',
	'its history row holds the buffered bytes');

# --- PREPARE TRANSACTION ------------------------------------------------------------
my $g = sql("SELECT session.open_session('gina', 'p')");
sql("SELECT session.heartbeat($g, 107)");
my ($ret, $out, $err) = $node->psql('postgres',
	"\\set VERBOSITY verbose\nBEGIN; SELECT session.heartbeat($g, 1); PREPARE TRANSACTION 'hb';");
$node->psql('postgres', "ROLLBACK PREPARED 'hb'");
like($err, qr/0A000: cannot prepare a transaction that buffered heartbeats/,
	'PREPARE TRANSACTION after a buffered heartbeat fails (0A000)');
is(live_total($g), '107', '... and the heartbeat has no effect');

# --- the flush -----------------------------------------------------------------------
$node->append_conf('postgresql.conf', "session.heartbeat_flush_interval = '200ms'");
$node->reload;
ok(poll_until($node, 'postgres', "SELECT total_bytes_sent FROM session_storage.sessions WHERE id = $g", '107', 30),
	'the worker writes the buffered bytes');
is(sql("SELECT last_comm = session.live_last_comm(id, last_comm) FROM session_storage.sessions WHERE id = $g"),
	't', '... and last_comm');
is(sql("SELECT recent_bytes_sent FROM session_storage.sessions WHERE id = $g"), '107', '... and recent_bytes_sent');
is(sql("SELECT flushes > 0 AND flushed_rows > 0 AND used > 0 FROM session.heartbeat_buffer_status()"),
	't', 'heartbeat_buffer_status counts flushes');
sql("SELECT session.heartbeat($g, 3)");
ok(poll_until($node, 'postgres', "SELECT total_bytes_sent FROM session_storage.sessions WHERE id = $g", '110', 30),
	'a later heartbeat is flushed too (nothing counted twice)');
is(live_total($g), '110', 'the live total equals the stored one after a flush');

# --- a standby after a flush --------------------------------------------------------
$node->backup('hb');
my $standby = PostgreSQL::Test::Cluster->new('hbuf_standby');
$standby->init_from_backup($node, 'hb', has_streaming => 1);
$standby->start;
sql("SELECT session.heartbeat($g, 20)");
ok(poll_until($node, 'postgres', "SELECT total_bytes_sent FROM session_storage.sessions WHERE id = $g", '130', 30),
	'flushed on the primary');
$node->wait_for_catchup($standby);
is($standby->safe_psql('postgres', "SELECT total_bytes_sent FROM session.active_sessions WHERE id = $g"),
	'130', 'a standby sees the flushed values');
$standby->stop;

# --- the setting at 0 ------------------------------------------------------------------
$node->append_conf('postgresql.conf', "session.heartbeat_flush_interval = 0");
$node->reload;
ok(poll_until($node, 'postgres', "SHOW session.heartbeat_flush_interval", '0', 30), 'interval 0');
sql("SELECT session.heartbeat($g, 5)");
is(stored_total($g), '135', 'with interval 0 a heartbeat writes its row');
is(live_total($g), '135', '... and the live value agrees');

# --- a clean restart flushes, a restart rebuilds --------------------------------------
$node->append_conf('postgresql.conf', "session.heartbeat_flush_interval = '1h'");
$node->reload;
ok(poll_until($node, 'postgres', "SHOW session.heartbeat_flush_interval", '1h', 30), 'interval 1h');
sql("SELECT session.heartbeat($g, 7)");
is(stored_total($g), '135', 'buffered, not written');
$node->restart;
is(stored_total($g), '142', 'a clean shutdown writes the buffer');
ok(wait_buffering(), 'buffering again after the restart');
is(sql("SELECT session.heartbeat($g, 1)"), 't', 'after a restart an open session gets a new entry');
is(stored_total($g), '142', '... its heartbeats are buffered');
is(live_total($g), '143', '... and seen');
is(sql("SELECT session.heartbeat($b, 1)"), 'f', 'after a restart a heartbeat of an ended session is false');
is(sql("SELECT session.heartbeat(99999999, 1)"), 'f', '... and of an unknown id');

# --- kill -9 between flushes -------------------------------------------------------
$node->append_conf('postgresql.conf', "session.heartbeat_flush_interval = '1s'");
$node->reload;
ok(poll_until($node, 'postgres', "SHOW session.heartbeat_flush_interval", '1s', 30), 'interval 1s');
my @ids = split /\n/, sql("SELECT session.open_session('k' || g, 'p') FROM generate_series(1, 50) g");
my $list = join(',', @ids);
my $t0 = time();
my $last_beat;
while (time() - $t0 < 3)
{
	$last_beat = sql("SELECT session.heartbeat(ARRAY[$list]::bigint[], NULL) FROM (SELECT 1) x; SELECT extract(epoch FROM now())");
	usleep(100_000);
}
($last_beat) = (split /\n/, $last_beat)[-1];
crash_node($node);
$node->start;
is(sql("SELECT count(*) FROM session_storage.sessions WHERE id IN ($list)"), '50',
	'after kill -9 every open session is there');
ok(wait_buffering(), 'buffering again after kill -9');
my $lag = sql("SELECT max($last_beat - extract(epoch FROM last_comm)) FROM session_storage.sessions WHERE id IN ($list)");
ok($lag < 1.5, "last_comm is at most one interval old after kill -9 (lag $lag s)");

# --- a full table --------------------------------------------------------------------
$node->append_conf('postgresql.conf', "session.heartbeat_slots = 3\nsession.heartbeat_flush_interval = '1h'");
$node->restart;
ok(wait_buffering(), 'small table attached');
my @f = split /\n/, sql("SELECT session.open_session('f' || g, 'p') FROM generate_series(1, 6) g");
my $flist = join(',', @f);
is(sql("SELECT session.heartbeat(ARRAY[$flist]::bigint[], ARRAY[1,1,1,1,1,1]::bigint[])"), '6',
	'a full table drops no heartbeat of a batch');
is(sql("SELECT bool_and(session.heartbeat(id, 2)) FROM unnest(ARRAY[$flist]::bigint[]) id"), 't',
	'... nor a single one');
is(sql("SELECT sum(total_bytes_sent) FROM session.active_sessions WHERE id IN ($flist)"), '18',
	'every heartbeat counted');
is(sql("SELECT used = slots AND table_path_heartbeats > 0 FROM session.heartbeat_buffer_status()"), 't',
	'the status shows the full table and the heartbeats that took the table path');

$node->stop;
done_testing();
