# The query file for prometheus-postgres-exporter (issue #15): Debian's
# exporter runs on a loopback port against a node of its own (whose worker
# serves the test's database), connected as a role granted only
# session_reader; the test opens and ends sessions, fetches /metrics with curl
# and checks the values of every query of doc/prometheus/.
#
# A TAP test rather than a test/ops script: the worker figures need the
# worker to serve the database the exporter reads, which the shared
# throwaway cluster's worker (in contrib_regression) does not.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use SessionTest;

my $exporter = '/usr/bin/prometheus-postgres-exporter';
plan skip_all => "$exporter is not installed (test/scripts/deps.sh installs it)"
  unless -x $exporter;

# the query file without its result caching, so that each scrape is fresh
my $queries = "$PostgreSQL::Test::Utils::tmp_check/session-exporter-queries.yaml";
my $text = slurp_file(session_root() . "/doc/prometheus/session-exporter-queries.yaml");
ok($text =~ s/^\s*cache_seconds: \d+\n//mg, 'the query file caches the open-session queries');
append_to_file($queries, $text);

my $node = session_node(
	'exporter', conf => q{
shared_preload_libraries = 'session'
session.database = 'postgres'
session.reaper_interval = '1s'
session.idle_timeout = 0
session.max_sessions_per_user = 5
});
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION session;
	CREATE ROLE watcher LOGIN IN ROLE session_reader;
});

# the worker's first pass (which also creates today's history partition)
ok(poll_until($node, 'postgres',
	"SELECT count(*) FROM session.stats() WHERE name = 'worker_passes_total' AND value >= 1",
	'1', 60),
	'the worker made its first pass');

# The exporter's own collectors, which it enables by default, are switched off:
# the test reads only the query file's metrics. Their names differ between
# exporter versions (bgwriter became stat_bgwriter, more were added), so they
# come from --help.
my $help = '';
IPC::Run::run([ $exporter, '--help' ], '>', \$help, '2>&1');
my @no_collectors = map { "--no-collector.$_" }
  ($help =~ /--collector\.(\w+)\s+Enable the \w+ collector \(default:\s*enabled\)/g);
ok(@no_collectors > 0, 'the exporter names its default collectors: ' . join(' ', @no_collectors));

my $port = PostgreSQL::Test::Cluster::get_free_port();
my ($out, $err) = ('', '');
my $dsn = sprintf('host=%s port=%d user=watcher dbname=postgres sslmode=disable',
	$node->host, $node->port);
my $h = IPC::Run::start(
	[
		$exporter, "--web.listen-address=127.0.0.1:$port",
		"--extend.query-path=$queries", '--disable-default-metrics',
		'--disable-settings-metrics', @no_collectors, '--log.level=warn'
	],
	'>', \$out, '2>', \$err,
	init => sub {
		# the exporter's lib/pq panics on some libpq variables (PGSYSCONFDIR,
		# which pg_virtualenv sets under make test): the DSN says it all
		delete $ENV{$_} for grep { /^PG/ } keys %ENV;
		$ENV{DATA_SOURCE_NAME} = $dsn;
	});

# metric line (name{labels}) => value, from one scrape
sub scrape
{
	my ($stdout, $stderr);
	my %m;
	IPC::Run::run([ 'curl', '-sf', '--max-time', '120', "http://127.0.0.1:$port/metrics" ],
		'>', \$stdout, '2>', \$stderr);
	for my $line (split /\n/, $stdout // '')
	{
		next if $line =~ /^#/;
		next unless $line =~ /^(\S+) (\S+)$/;
		my ($k, $v) = ($1, $2);
		# the exporter labels every metric with the server it read
		$k =~ s/,?server="[^"]*"//;
		$k =~ s/\{,?/{/;
		$k =~ s/\{\}$//;
		$m{$k} = $v + 0;
	}
	return \%m;
}

my $m;
my $deadline = time() + 60;
do { usleep(200_000); $m = scrape(); }
  until (exists $m->{'session_open_summary_sessions'} || time() > $deadline);
ok(exists $m->{'session_open_summary_sessions'}, 'the exporter serves the query file')
  or do { $h->pump_nb; diag("exporter stderr:\n$err"); };
is($m->{pg_up}, 1, 'the exporter connected as a session_reader role');
is($m->{'session_open_summary_sessions'},  0, 'no open session yet');
is($m->{'session_ended_total{reason="logout"}'}, 0, 'nothing ended yet');

# ---------------------------------------------------------------------------
# Open and end sessions
# ---------------------------------------------------------------------------

$node->safe_psql('postgres', q{
	SELECT session.open_session('alice', 'p1', node => 'n1') FROM generate_series(1, 3);
	SELECT session.open_session('bob', 'p1', node => 'n1', scope => 'designer');
	SELECT session.open_session('Unauthenticated', 'p2', node => 'n2');
	SELECT session.open_clientless_session('robot', 'p2', node => 'n2');
	SELECT session.close_session(session.open_session('carol', 'p1'));
	SELECT session.close_session(session.open_session('carol', 'p1'));
	SELECT session.terminate_session(session.open_session('dave', 'p1'));
	BEGIN;
	SELECT session.close_session(session.open_session('erin', 'p1'));
	ROLLBACK;
});
$m = scrape();
is($m->{'session_open_sessions{node="n1",project="p1",scope="browser"}'}, 3,
	'open sessions by project, node and scope');
is($m->{'session_open_sessions{node="n1",project="p1",scope="designer"}'}, 1,
	'... a designer session');
is($m->{'session_open_sessions{node="n2",project="p2",scope="clientless"}'}, 1,
	'... a clientless session');
is($m->{'session_open_summary_sessions'},  6, 'open sessions in all');
is($m->{'session_open_summary_users'},     3, 'distinct logged-in users (alice, bob, robot)');
is($m->{'session_open_summary_clientless'}, 1, 'clientless sessions');
is($m->{'session_open_summary_most_sessions_of_one_user'}, 3, 'the most sessions of one user');
is($m->{'session_open_summary_max_sessions_per_user'},     5, 'the per-user limit');
ok($m->{'session_open_summary_oldest_age_seconds'} >= 0
	  && $m->{'session_open_summary_oldest_age_seconds'} < 60,
	'the oldest open session age');
is($m->{'session_ended_total{reason="logout"}'},     2, 'ended by logout (the rollback not counted)');
is($m->{'session_ended_total{reason="terminated"}'}, 1, 'ended by termination');
is($m->{'session_ended_total{reason="timeout"}'},    0, 'nothing expired yet');

my $today = $node->safe_psql('postgres',
	"SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')");
ok($m->{"session_history_bytes{day=\"$today\"}"} > 0, "today's history partition has a size");
ok(exists $m->{"session_history_rows_estimate{day=\"$today\"}"},
	"today's history partition has a row estimate");

# ---------------------------------------------------------------------------
# The worker
# ---------------------------------------------------------------------------

is($m->{'session_worker_running'},          1, 'the worker runs');
is($m->{'session_worker_interval_seconds'}, 1, 'the worker interval');
ok(time() - $m->{'session_worker_last_pass_timestamp_seconds'} < 30, 'the last pass is recent');
ok(exists $m->{'session_worker_last_pass_duration_seconds'}, 'the last pass duration');
is($m->{'session_worker_errors_total'}, 0, 'no worker error');

# idle sessions (not the clientless one) expire with the next pass
$node->safe_psql('postgres', q{
	ALTER SYSTEM SET session.idle_timeout = '1s';
	SELECT pg_reload_conf();
});
ok(poll_until($node, 'postgres', 'SELECT sessions FROM session.open_summary', '1', 30),
	'the worker expired the idle sessions');
$m = scrape();
is($m->{'session_worker_expired_total'},          5, 'the worker expired 5 sessions in all');
is($m->{'session_ended_total{reason="timeout"}'}, 5, 'ended by timeout');
is($m->{'session_open_summary_sessions'},         1, 'the clientless session is left');
ok($m->{'session_worker_passes_total'} >= 2, 'the worker passes are counted');

# ---------------------------------------------------------------------------
# The heartbeat buffer (session.heartbeat_buffer_status())
# ---------------------------------------------------------------------------

ok(exists $m->{'session_heartbeat_buffer_slots'}, 'heartbeat buffer slots');
is($m->{'session_heartbeat_buffer_free'},
	$m->{'session_heartbeat_buffer_slots'} - $m->{'session_heartbeat_buffer_used'},
	'free heartbeat slots');
ok(exists $m->{'session_heartbeat_buffer_flushed_rows_total'}, 'rows flushed');
ok(exists $m->{'session_heartbeat_buffer_last_flush_timestamp_seconds'}, 'last flush');
ok( exists $m->{'session_heartbeat_buffer_flush_age_seconds'}
	  && $m->{'session_heartbeat_buffer_flush_age_seconds'} < 60,
	'the age of the worker\'s last flush');
is($m->{'session_heartbeat_buffer_flush_overdue'}, 0, 'the flush is not overdue');

$h->signal('TERM');
$h->finish;
$node->stop;
done_testing();
