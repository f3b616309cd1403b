# pg_dump / pg_restore (issue #5): a custom-format dump of a database with
# open and ended sessions (in a daily partition and in the default
# partition) restores every row, in the same partitions, with the id
# sequence past every id, into a new database of the same cluster and into a
# fresh cluster where the extension's roles do not exist yet.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SessionTest;

my $node = session_node('dump', extra => [ '--encoding=UTF8', '--locale=C' ]);
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', 'CREATE EXTENSION session');

# open sessions with every column filled in some way
$node->safe_psql(
	'src', q{
SELECT session.open_session('alice', 'plant', '10.0.0.1', 'browser', 'c1', 'Mozilla/5.0', 'n1',
	'{"theme": "dark", "n": [1, 2]}');
SELECT session.open_session(NULL, 'plant', '::1', 'ios');
SELECT session.open_session('bob', U&'pl\00E4nt "2"', '192.168.1.7/32', 'designer', node => 'n2');
SELECT session.open_clientless_session('svc', NULL, 'n3', '{"job": 7}');
SELECT session.heartbeat(id, 1234, ARRAY['home', 'trend''s']) FROM session_storage.sessions WHERE username = 'alice';
SELECT session.heartbeat(ARRAY(SELECT id FROM session_storage.sessions), NULL);
});

# an ended session goes to the default partition while no daily partition exists
my $carol = $node->safe_psql('src', "SELECT session.open_session('carol', 'office')");
$node->safe_psql('src', "SELECT session.close_session($carol, 'logout')");
# old history, a day that never gets a partition
$node->safe_psql(
	'src', q{
INSERT INTO session_storage.ended_sessions (id, uuid, username, authenticated, project, scope,
	start_time, last_comm, end_time, end_reason)
VALUES (nextval('session_storage.sessions_id_seq'), gen_random_uuid(), 'old', true, 'plant', 'browser',
	now() - interval '40 days 1 hour', now() - interval '40 days 1 hour', now() - interval '40 days', 'timeout')});

# expire_sessions() creates the daily partitions (and moves today's row
# there); later ends go to today's partition
my $expired = $node->safe_psql('src', "SELECT session.open_session('dave', 'office')");
$node->safe_psql('src',
	"SELECT pg_sleep(1.1); SET session.idle_timeout = '1s'; SELECT session.heartbeat(id) FROM session_storage.sessions WHERE id <> $expired; SELECT session.expire_sessions()");
my $closed = $node->safe_psql('src', "SELECT session.open_session('erin', 'office')");
$node->safe_psql('src', "SELECT session.terminate_session($closed, 'audit')");

my $parts = q{SELECT string_agg(tableoid::regclass::text || ':' || n, ',' ORDER BY tableoid::regclass::text)
	FROM (SELECT tableoid, count(*) AS n FROM session_storage.ended_sessions GROUP BY tableoid) s};
my $src_parts = $node->safe_psql('src', $parts);
like($src_parts, qr/ended_sessions_default:1/, 'src: one ended session in the default partition');
like($src_parts, qr/ended_sessions_\d{8}:3/, 'src: three ended sessions in the daily partition of today');
is($node->safe_psql('src', 'SELECT count(*) FROM session_storage.sessions'), '4', 'src: four open sessions');

my %q = (
	sessions => q{SELECT md5(string_agg(t::text, E'\n' ORDER BY id)) FROM session_storage.sessions t},
	ended => q{SELECT md5(string_agg(t::text || ' @' || tableoid::regclass::text, E'\n' ORDER BY id))
		FROM session_storage.ended_sessions t},
	partitions => q{SELECT string_agg(c.relname || ' ' || pg_get_expr(c.relpartbound, c.oid), E'\n' ORDER BY c.relname)
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'session_storage.ended_sessions'::regclass},
	active_sessions => q{SELECT md5(string_agg(id || username || coalesce(project, '') || start_time, ',' ORDER BY id)) FROM session.active_sessions},
	history => q{SELECT md5(string_agg(id || username || end_reason || duration, ',' ORDER BY id)) FROM session.history},
	project_usage => q{SELECT md5(string_agg(p::text, ',' ORDER BY project)) FROM session.project_usage p},
	expired_by_id => qq{SELECT username, end_reason FROM session.get_session_info(${expired}::bigint)},
	ended_by_id => qq{SELECT username, end_reason FROM session.get_session_info(${closed}::bigint)},
	moved_by_id => qq{SELECT session.get_session_user($carol)},
	listing => q{SELECT string_agg(id::text, ',') FROM session.get_session_info('.*', NULL)},);

my %src;
$src{$_} = $node->safe_psql('src', $q{$_}) foreach keys %q;
my $src_max = $node->safe_psql('src',
	'SELECT max(id) FROM (SELECT id FROM session_storage.sessions UNION ALL SELECT id FROM session_storage.ended_sessions) s');

my $dump = PostgreSQL::Test::Utils::tempdir . '/src.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('src') ],
	'pg_dump -Fc of the database');

# compare a restored database with the source
sub check_restored
{
	my ($target, $db, $label) = @_;

	foreach my $name (sort keys %q)
	{
		is($target->safe_psql($db, $q{$name}), $src{$name}, "$label: $name as in the source");
	}
	is($target->safe_psql($db, "SELECT extversion IS NOT NULL FROM pg_extension WHERE extname = 'session'"),
		't', "$label: the extension is registered");
	my $next = $target->safe_psql($db, "SELECT session.open_session('new', 'plant')");
	cmp_ok($next, '>', $src_max, "$label: a new session gets an id past every restored one ($next > $src_max)");
	is($target->safe_psql($db, "SELECT session.close_session($next)"), 't',
		"$label: the new session can be closed");
	is($target->safe_psql($db, "SELECT session.close_session($expired)"), 'f',
		"$label: an ended session stays ended");
	is($target->safe_psql($db,
			"SELECT session.heartbeat(id) FROM session_storage.sessions WHERE username = 'alice'"),
		't', "$label: a restored open session takes heartbeats");
	is($target->safe_psql($db, 'SELECT session.purge_history(interval \'30 days\')'), '1',
		"$label: purge_history removes the old restored session");
}

# Runs pg_restore; checks it succeeds without any error.
sub restore_ok
{
	my ($target, $db, $opts, $label) = @_;
	my ($stdout, $stderr);
	my $ok = IPC::Run::run(
		[ 'pg_restore', @$opts, '-d', $target->connstr($db), $dump ],
		'>', \$stdout, '2>', \$stderr);
	ok($ok, "$label: " . join(' ', 'pg_restore', @$opts) . ' exits with 0');
	is($stderr, '', "$label: pg_restore reports no error");
}

# into a new database of the same cluster
$node->safe_psql('postgres', 'CREATE DATABASE dst');
restore_ok($node, 'dst', [], 'same cluster');
check_restored($node, 'dst', 'same cluster');

# in one transaction: any error loses everything
$node->safe_psql('postgres', 'CREATE DATABASE dst1');
restore_ok($node, 'dst1', ['--single-transaction'], 'single transaction');
is($node->safe_psql('dst1', "SELECT count(*) FROM pg_extension WHERE extname = 'session'") eq '1'
	  ? $node->safe_psql('dst1', $q{ended})
	  : 'nothing restored',
	$src{ended}, 'single transaction: every ended session is restored');

# into a fresh cluster, where the roles do not exist yet
my $fresh = session_node('fresh', extra => [ '--encoding=UTF8', '--locale=C' ]);
$fresh->start;
is($fresh->safe_psql('postgres', "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'session\\_%'"),
	'0', 'the fresh cluster has no session roles');
$fresh->safe_psql('postgres', 'CREATE DATABASE dst');
restore_ok($fresh, 'dst', [], 'fresh cluster');
check_restored($fresh, 'dst', 'fresh cluster');
is( $fresh->safe_psql('dst',
		"SELECT has_function_privilege('session_reader', 'session.get_session_info(text, text)', 'EXECUTE')"
		  . ", has_function_privilege('session_app', 'session.open_session(text, text, inet, text, text, text, text, jsonb)', 'EXECUTE')"
		  . ", has_function_privilege('public', 'session.open_session(text, text, inet, text, text, text, text, jsonb)', 'EXECUTE')"),
	't|t|f',
	'fresh cluster: the roles exist and keep their privileges');

$fresh->stop;
$node->stop;
done_testing();
