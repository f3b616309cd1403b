# Streaming replication (issue #5): a hot standby made from a base backup
# answers every read (listing, by id, user, views, concurrency, the user
# context), refuses every write with SQLSTATE 25006, and once promoted has
# every committed session and keeps handing out new, unused ids.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SessionTest;

my $primary = session_node('primary', allows_streaming => 1);
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION session');
$primary->safe_psql('postgres', 'SELECT session.expire_sessions()');    # daily partitions

sub open_session
{
	my ($node, $args) = @_;
	return $node->safe_psql('postgres', "SELECT session.open_session($args)");
}

# before the base backup
my $s1 = open_session($primary,
	"'alice', 'plant', '10.0.0.1', 'browser', 'c1', 'Firefox', 'n1', '{\"k\": 1}'");
my $s2 = open_session($primary, "'bob', 'plant', '10.0.0.2', 'designer', node => 'n1'");
my $s3 = open_session($primary, "'carol', 'office', node => 'n2'");
my $c1 = $primary->safe_psql('postgres',
	"SELECT session.open_clientless_session('svc', 'office', 'n2')");
$primary->safe_psql('postgres', "SELECT session.heartbeat($s1, 500, '{home,trends}')");
$primary->safe_psql('postgres', "SELECT session.close_session($s3)");
# an ended session in the default partition (a day without partition)
$primary->safe_psql(
	'postgres', q{
INSERT INTO session_storage.ended_sessions (id, uuid, username, authenticated, project, scope,
	start_time, last_comm, end_time, end_reason)
VALUES (nextval('session_storage.sessions_id_seq'), gen_random_uuid(), 'old', true, 'plant', 'browser',
	now() - interval '40 days 1 hour', now() - interval '40 days 1 hour', now() - interval '40 days', 'timeout')});

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->append_conf('postgresql.conf', "log_line_prefix = '%m [%p] %b: %q%a '");
$standby->start;

# after the base backup: streamed
my $s4 = open_session($primary, "'dave', 'plant', node => 'n3'");
$primary->safe_psql('postgres', "SELECT session.set_session_user($s2, 'bobby')");
$primary->safe_psql('postgres', "SELECT session.heartbeat($s2, 70)");
my $s5 = open_session($primary, "'erin', 'office', node => 'n3'");
$primary->safe_psql('postgres', "SELECT session.terminate_session($s5)");
$primary->wait_for_catchup($standby);

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');

# ---------------------------------------------------------------------------
# Reads on the standby give what the primary gives
# ---------------------------------------------------------------------------

my %reads = (
	'get_session_info()' => q{SELECT id, uuid, username, authenticated, project, address, scope,
		is_designer, client_id, user_agent, node, start_time, last_comm, active_pages, page_ids,
		recent_bytes_sent, total_bytes_sent, attributes, end_time, end_reason
		FROM session.get_session_info()},
	'get_session_info with regular expressions' =>
	  q{SELECT id FROM session.get_session_info('b.*', 'pl.nt')},
	'get_session_info(id) of an open session' => qq{SELECT id, username, page_ids,
		total_bytes_sent, end_time, end_reason FROM session.get_session_info(${s1}::bigint)},
	'get_session_info(id) of an ended session' => qq{SELECT id, username, end_time,
		end_reason FROM session.get_session_info(${s3}::bigint)},
	'get_session_info(id) of a terminated session' =>
	  qq{SELECT end_reason FROM session.get_session_info(${s5}::bigint)},
	'get_session_user of open and ended sessions' => qq{SELECT session.get_session_user($s2),
		session.get_session_user($s3), session.get_session_user($c1)},
	'active_sessions' => q{SELECT id, username, project, scope, node, start_time, last_comm
		FROM session.active_sessions},
	'history' => q{SELECT id, username, end_time, end_reason, duration
		FROM session.history ORDER BY id},
	'project_usage' => q{SELECT * FROM session.project_usage ORDER BY project},);

foreach my $name (sort keys %reads)
{
	my $p = $primary->safe_psql('postgres', $reads{$name});
	my ($ret, $s, $err) = $standby->psql('postgres', $reads{$name});
	is($ret, 0, "standby: $name works") or diag($err);
	is($s, $p, "standby: $name gives what the primary gives");
}

like($standby->safe_psql('postgres', "SELECT count(*) FROM session.get_session_info()"),
	qr/^4$/, 'standby: the four open sessions are listed');

my $window = $primary->safe_psql('postgres',
	"SELECT format('%L::timestamptz, %L::timestamptz', date_trunc('hour', now()) - interval '2 hours', date_trunc('hour', now()) + interval '2 hours')");
my $conc = "SELECT bucket_start, project, peak_sessions, distinct_users"
  . " FROM session.concurrency($window, '1 hour') ORDER BY 1, 2";
my $conc_p = $primary->safe_psql('postgres', $conc);
is($standby->safe_psql('postgres', $conc), $conc_p,
	'standby: concurrency() gives what the primary gives');
isnt($conc_p, '', '... and that is not nothing');

is( $standby->safe_psql('postgres',
		"SELECT session.set_user_context('alice') IS NULL, session.get_user_context()"),
	't|alice',
	'standby: set_user_context / get_user_context work');
is( $standby->safe_psql('postgres',
		"BEGIN; SELECT session.set_user_context('bob', true); COMMIT; SELECT session.get_user_context() IS NULL"),
	"\nt",
	'standby: the transaction-scoped user context works');

my ($ret, $out, $err) = $standby->psql('postgres',
	"\\set VERBOSITY verbose\nSELECT session.get_session_user(987654321)");
like($err, qr/ERROR:  SE404:.*987654321/, 'standby: an unknown id still raises SE404');

# ---------------------------------------------------------------------------
# Writes on the standby fail with 25006
# ---------------------------------------------------------------------------

my %writes = (
	open_session => "SELECT session.open_session('zed', 'plant')",
	open_clientless_session => "SELECT session.open_clientless_session('zed')",
	heartbeat => "SELECT session.heartbeat($s1)",
	'heartbeat(ids[])' => "SELECT session.heartbeat(ARRAY[$s1, $s2]::bigint[])",
	set_session_user => "SELECT session.set_session_user($s1, 'zed')",
	close_session => "SELECT session.close_session($s1)",
	close_clientless_session => "SELECT session.close_clientless_session($c1)",
	terminate_session => "SELECT session.terminate_session($s1)",
	close_node_sessions => "SELECT session.close_node_sessions('n1')",
	expire_sessions => "SET session.idle_timeout = '1s'; SELECT session.expire_sessions()",
	purge_history => "SELECT session.purge_history('1 day')",);

foreach my $name (sort keys %writes)
{
	($ret, $out, $err) =
	  $standby->psql('postgres', "\\set VERBOSITY verbose\n$writes{$name}");
	like($err, qr/ERROR:  25006:/, "standby: $name fails with 25006");
}

($ret, $out, $err) = $standby->psql('postgres',
	"\\set VERBOSITY verbose\nSELECT session.attach_session($s1)");
ok($ret == 0 || $err =~ /ERROR:  25006:/,
	'standby: attach_session works or fails with 25006 (it locks the session row)');
note "attach_session on the standby: " . ($ret == 0 ? "works: $out" : $err);

is($standby->safe_psql('postgres', 'SELECT count(*) FROM session.get_session_info()'),
	'4', 'standby: nothing changed after the refused writes');

# ---------------------------------------------------------------------------
# Promotion
# ---------------------------------------------------------------------------

my $rows = q{SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) FROM session_storage.sessions t};
my $ended = q{SELECT md5(coalesce(string_agg(t::text || tableoid::regclass::text, '|' ORDER BY id), ''))
	FROM session_storage.ended_sessions t};
my $max_id = q{SELECT max(id) FROM (SELECT id FROM session_storage.sessions
	UNION ALL SELECT id FROM session_storage.ended_sessions) s};
my %before = (
	rows => $primary->safe_psql('postgres', $rows),
	ended => $primary->safe_psql('postgres', $ended),
	max_id => $primary->safe_psql('postgres', $max_id),
	count => $primary->safe_psql('postgres',
		'SELECT (SELECT count(*) FROM session_storage.sessions) || \'/\' || (SELECT count(*) FROM session_storage.ended_sessions)'),);
$primary->stop;

$standby->promote;
ok(poll_until($standby, 'postgres', 'SELECT pg_is_in_recovery()', 'f', 30),
	'the standby is promoted');

is($standby->safe_psql('postgres', $rows), $before{rows},
	'promoted: every open session is there, unchanged');
is($standby->safe_psql('postgres', $ended), $before{ended},
	'promoted: every ended session is there, unchanged, in the same partitions');
is( $standby->safe_psql('postgres',
		'SELECT (SELECT count(*) FROM session_storage.sessions) || \'/\' || (SELECT count(*) FROM session_storage.ended_sessions)'),
	$before{count},
	"promoted: same number of open/ended sessions ($before{count})");

my $new = open_session($standby, "'fred', 'plant', node => 'n4'");
cmp_ok($new, '>', $before{max_id},
	"promoted: a new session gets an id past every existing one ($new > $before{max_id})");
my $new2 = $standby->safe_psql('postgres', "SELECT session.open_clientless_session('svc2')");
cmp_ok($new2, '>', $new, 'promoted: ids keep increasing');
is( $standby->safe_psql(
		'postgres', q{
SELECT count(*) = count(DISTINCT id) AND count(*) = count(DISTINCT uuid)
FROM (SELECT id, uuid FROM session_storage.sessions
      UNION ALL SELECT id, uuid FROM session_storage.ended_sessions) s}),
	't',
	'promoted: ids and uuids are unique');

is($standby->safe_psql('postgres', "SELECT session.heartbeat($s1, 10)"),
	't', 'promoted: a session opened on the old primary takes heartbeats');
is($standby->safe_psql('postgres', "SELECT session.close_session($s1)"),
	't', 'promoted: ... and can be closed');
is($standby->safe_psql('postgres', "SELECT session.close_session($s3)"),
	'f', 'promoted: a session ended on the old primary stays ended');
is( $standby->safe_psql('postgres',
		"SELECT count(*) FROM session.get_session_info() WHERE id IN ($s2, $c1, $s4, $new, $new2)"),
	'5', 'promoted: the open sessions are listed');

$standby->stop;
done_testing();
