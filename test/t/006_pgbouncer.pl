# The user context through PgBouncer (issue #3), one server connection
# shared by all clients (pool size 1):
#   - transaction mode: a context set with is_local => true (and a session
#     attached with is_local => true) is gone for the next client's
#     transaction on the same server connection;
#   - session mode with server_reset_query = DISCARD ALL: a session-scope
#     context and attachment are gone for the next client.
# session.connections (shared memory) agrees with get_user_context().

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use SessionTest;

my $pgbouncer = '/usr/sbin/pgbouncer';
plan skip_all => "PgBouncer is not installed ($pgbouncer missing)" unless -x $pgbouncer;

my $user = (getpwuid($<))[0];    # initdb made the OS user the superuser

my $node = session_node(
	'pooled', conf => q{
listen_addresses = '127.0.0.1'
shared_preload_libraries = 'session'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION session');

my $dir = PostgreSQL::Test::Utils::tempdir;
my $bport = PostgreSQL::Test::Cluster::get_free_port();
my $pgport = $node->port;
PostgreSQL::Test::Utils::append_to_file("$dir/users.txt", qq{"$user" ""\n});
PostgreSQL::Test::Utils::append_to_file(
	"$dir/pgbouncer.ini", qq{
[databases]
txn = host=127.0.0.1 port=$pgport dbname=postgres pool_mode=transaction
sess = host=127.0.0.1 port=$pgport dbname=postgres pool_mode=session

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bport
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
default_pool_size = 1
max_client_conn = 20
server_reset_query = DISCARD ALL
server_reset_query_always = 0
ignore_startup_parameters = extra_float_digits
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
});

my ($bout, $berr) = ('', '');
my $bouncer = IPC::Run::start([ $pgbouncer, "$dir/pgbouncer.ini" ],
	'<', \undef, '>', \$bout, '2>', \$berr);

# wait until it accepts connections
my $up = 0;
my $deadline = time() + 30;
while (!$up && time() < $deadline)
{
	$up = IPC::Run::run(
		[ 'psql', '-XAtq', '-h', '127.0.0.1', '-p', $bport, '-U', $user, '-d', 'txn', '-c', 'SELECT 1' ],
		'>', \my $o, '2>', \my $e);
	usleep(100_000) unless $up;
}
ok($up, "PgBouncer listens on 127.0.0.1:$bport")
  or diag("pgbouncer: $bout $berr\n" . (-f "$dir/pgbouncer.log" ? slurp_file("$dir/pgbouncer.log") : ''));

my $carol = $node->safe_psql('postgres', "SELECT session.open_session('carol', 'plant')");
my $dave = $node->safe_psql('postgres', "SELECT session.open_session('dave', 'plant')");

sub context_of_backend
{
	my ($pid) = @_;
	return $node->safe_psql('postgres',
		"SELECT coalesce(user_context, '<null>') || '/' || coalesce(session_id::text, '<null>') FROM session.connections WHERE pid = $pid");
}

# ---------------------------------------------------------------------------
# Transaction mode
# ---------------------------------------------------------------------------

my $a = pooler_psql($bport, 'txn', $user);
my $b = pooler_psql($bport, 'txn', $user);

$a->query_safe('BEGIN');
is($a->query_safe("SELECT session.set_user_context('alice', true) IS NULL"),
	't', 'transaction mode: client A sets a transaction-scoped context');
is($a->query_safe('SELECT session.get_user_context()'), 'alice', '... and reads it back');
my $pid_a = $a->query_safe('SELECT pg_backend_pid()');
is(context_of_backend($pid_a), 'alice/<null>',
	'... session.connections shows it for that server backend');
$a->query_safe('COMMIT');

$b->query_safe('BEGIN');
my $pid_b = $b->query_safe('SELECT pg_backend_pid()');
is($pid_b, $pid_a, 'transaction mode: client B gets the same server connection');
is($b->query_safe('SELECT session.get_user_context() IS NULL'),
	't', 'transaction mode: client B sees no user context');
$b->query_safe('COMMIT');
is(context_of_backend($pid_b), '<null>/<null>',
	'... and session.connections shows none for that backend');

# an attached session, transaction-scoped
$a->query_safe('BEGIN');
is($a->query_safe("SELECT session.attach_session($carol, true) IS NULL"),
	't', 'transaction mode: client A attaches a session for its transaction');
is($a->query_safe('SELECT session.current_session_id() || \'/\' || session.get_user_context()'),
	"$carol/carol", '... current_session_id() and get_user_context() follow it');
is($a->query_safe('SELECT pg_backend_pid()'), $pid_a, '... on the same server connection');
$a->query_safe('COMMIT');
$b->query_safe('BEGIN');
is( $b->query_safe('SELECT session.current_session_id() IS NULL AND session.get_user_context() IS NULL'),
	't',
	'transaction mode: client B sees neither the session nor the context');
$b->query_safe('COMMIT');

# a rolled-back transaction
$a->query_safe('BEGIN');
$a->query_safe("SELECT session.set_user_context('mallory', true)");
$a->query_safe('ROLLBACK');
is($b->query_safe('SELECT session.get_user_context() IS NULL'),
	't', 'transaction mode: nothing remains of a rolled-back transaction');

# for the README: a session-scope context is not safe in transaction mode
$a->query_safe("SELECT session.set_user_context('leaky')");
my $leak = $b->query_safe("SELECT coalesce(session.get_user_context(), '<null>')");
note "transaction mode, is_local => false: client B then sees $leak";
$b->query_safe('SELECT session.reset_user_context()');

$a->quit;
$b->quit;

# ---------------------------------------------------------------------------
# Session mode with server_reset_query = DISCARD ALL
# ---------------------------------------------------------------------------

$a = pooler_psql($bport, 'sess', $user);
is($a->query_safe("SELECT session.set_user_context('alice') IS NULL"),
	't', 'session mode: client A sets a session-scope context');
is($a->query_safe('SELECT session.get_user_context()'), 'alice', '... and reads it back');
my $pid_s = $a->query_safe('SELECT pg_backend_pid()');
is(context_of_backend($pid_s), 'alice/<null>', '... session.connections shows it');
$a->quit;

$b = pooler_psql($bport, 'sess', $user);
is($b->query_safe('SELECT pg_backend_pid()'), $pid_s,
	'session mode: client B gets the same server backend');
is($b->query_safe('SELECT session.get_user_context() IS NULL'),
	't', 'session mode: after DISCARD ALL client B sees no user context');
is(context_of_backend($pid_s), '<null>/<null>', '... nor does session.connections');

is($b->query_safe("SELECT session.attach_session($dave) IS NULL"),
	't', 'session mode: client B attaches a session for its whole connection');
is(context_of_backend($pid_s), "dave/$dave", '... session.connections shows it');
$b->quit;

my $c = pooler_psql($bport, 'sess', $user);
is($c->query_safe('SELECT pg_backend_pid()'), $pid_s,
	'session mode: client C gets the same server backend');
is( $c->query_safe('SELECT session.current_session_id() IS NULL AND session.get_user_context() IS NULL'),
	't',
	'session mode: client C sees neither the attached session nor its user');
is(context_of_backend($pid_s), '<null>/<null>', '... nor does session.connections');
$c->quit;

$bouncer->signal('INT');
eval { $bouncer->finish; };
$node->stop;
done_testing();
