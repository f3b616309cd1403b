# The soak of make stress (test/reliability/soak.sh: opens, heartbeats, batches,
# listings, closes, terminations, node shutdowns and expiry from 8 clients)
# with the heartbeat buffer on: the node's worker serves the soak's own
# database, so heartbeats are buffered and flushed while everything else
# races them.  The soak's checks (no failed transaction, no crash, every
# session open or ended exactly once) must hold, and the buffer must have
# been used.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SessionTest;

my $node = session_node(
	'hbuf_soak', conf => q{
shared_preload_libraries = 'session'
session.database = 'session_check_hbufsoak'
session.reaper_interval = '1s'
session.heartbeat_flush_interval = '200ms'
max_connections = 40
});
$node->start;
# only to read heartbeat_buffer_status(), which is cluster-wide
$node->safe_psql('postgres', 'CREATE EXTENSION session');

my $root = session_root();
my ($out, $err) = ('', '');
my $ok = IPC::Run::run(
	[ 'bash', "$root/test/reliability/soak.sh" ],
	'>' => \$out,
	'2>' => \$err,
	init => sub {
		$ENV{PGHOST} = $node->host;
		$ENV{PGPORT} = $node->port;
		$ENV{PGUSER} = scalar getpwuid($<);
		$ENV{SOAK_NAME} = 'hbufsoak';
		$ENV{SOAK_SECONDS} = '25';
		delete $ENV{SESSION_TEST_LOG};
	});
note($out);
note($err) if $err ne '';
ok($ok, 'the soak passes with the heartbeat buffer on');
is( $node->safe_psql(
		'postgres',
		'SELECT flushes > 0 AND flushed_rows > 0 FROM session.heartbeat_buffer_status()'),
	't',
	'the worker flushed buffered heartbeats during the soak');

$node->stop;
done_testing();
