# session.stats() (issue #15): sessions ended by reason, counted at commit
# only (rolled-back transactions and savepoints count nothing), per
# database; the worker's pass figures (passes, expired, errors, last pass,
# running); privileges; and SQLSTATE 55000 without preloading.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SessionTest;

my $node = session_node(
	'stats', conf => q{
shared_preload_libraries = 'session'
session.database = 'postgres'
session.reaper_interval = '1s'
session.idle_timeout = 0
max_prepared_transactions = 2
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION session');
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other',    'CREATE EXTENSION session');

# name (and reason) => value, as one line per row
sub stats
{
	my ($db) = @_;
	my %s;
	for my $line (split /\n/,
		$node->safe_psql($db // 'postgres',
			"SELECT name || COALESCE('/' || (labels ->> 'reason'), ''), value FROM session.stats()"))
	{
		my ($k, $v) = split /\|/, $line;
		$s{$k} = $v;
	}
	return \%s;
}

sub ended
{
	my ($reason, $db) = @_;
	return stats($db)->{"ended_sessions_total/$reason"};
}

my $s = stats();
is_deeply(
	[ map { $s->{"ended_sessions_total/$_"} }
		  qw(logout timeout max_lifetime terminated evicted node_shutdown closed other) ],
	[ (0) x 8 ],
	'every reason starts at zero');
ok($s->{stats_reset_timestamp_seconds} > time() - 600, 'the reset time is the server start');

# ---------------------------------------------------------------------------
# Counted at commit, by reason
# ---------------------------------------------------------------------------

$node->safe_psql('postgres', q{
	SELECT session.close_session(session.open_session('alice', 'p'));
	SELECT session.close_session(session.open_session('alice', 'p'), 'my own word');
	SELECT session.terminate_session(session.open_session('bob', 'p'));
	SELECT session.close_clientless_session(session.open_clientless_session('carol'));
	SELECT session.open_session('dave', 'p', node => 'n9');
	SELECT session.open_session('erin', 'p', node => 'n9');
	SELECT session.close_node_sessions('n9');
});
$s = stats();
is($s->{'ended_sessions_total/logout'},        1, 'close_session counts as logout');
is($s->{'ended_sessions_total/other'},         1, "a caller's own reason counts as other");
is($s->{'ended_sessions_total/terminated'},    1, 'terminate_session counts as terminated');
is($s->{'ended_sessions_total/closed'},        1, 'close_clientless_session counts as closed');
is($s->{'ended_sessions_total/node_shutdown'}, 2, 'close_node_sessions counts each session');

$node->safe_psql('postgres', q{
	SET session.max_sessions_per_user = 1;
	SET session.limit_policy = 'evict_oldest';
	SELECT session.open_session('frank', 'p');
	SELECT session.open_session('frank', 'p');
});
is(ended('evicted'), 1, 'an eviction counts as evicted');

# ---------------------------------------------------------------------------
# Rolled back: not counted
# ---------------------------------------------------------------------------

$node->safe_psql('postgres', q{
	BEGIN;
	SELECT session.close_session(session.open_session('gina', 'p'));
	ROLLBACK;
});
is(ended('logout'), 1, 'a rolled-back close is not counted');

$node->safe_psql('postgres', q{
	BEGIN;
	SELECT session.open_session('hank', 'p') AS id \gset
	SAVEPOINT a;
	SELECT session.terminate_session(:id);
	ROLLBACK TO a;
	SAVEPOINT b;
	SAVEPOINT c;
	SELECT session.close_session(:id);
	RELEASE c;
	RELEASE b;
	COMMIT;
});
is(ended('terminated'), 1, 'a close in a rolled-back savepoint is not counted');
is(ended('logout'),     2, 'a close in released nested savepoints is counted at commit');

$node->safe_psql('postgres', q{
	BEGIN;
	SELECT session.close_session(session.open_session('ivan', 'p'));
	SAVEPOINT a;
	SELECT session.close_session(session.open_session('ivan', 'p'));
	ROLLBACK TO a;
	ROLLBACK;
});
is(ended('logout'), 2, 'nothing counts when the whole transaction rolls back');

my ($rc, $out, $err) = $node->psql('postgres', q{
	BEGIN;
	SELECT session.close_session(session.open_session('judy', 'p'));
	SELECT 1/0;
	COMMIT;
});
is(ended('logout'), 2, 'a transaction that fails after the close counts nothing');

# the heartbeat buffer refuses PREPARE TRANSACTION after a session write, so
# the close is rolled back and not counted
($rc, $out, $err) = $node->psql('postgres', q{
	BEGIN;
	SELECT session.close_session(session.open_session('kate', 'p'));
	PREPARE TRANSACTION 'p1';
});
isnt($rc, 0, 'PREPARE TRANSACTION after a close is refused');
is(ended('logout'), 2, 'the refused prepared transaction counts nothing');

# ---------------------------------------------------------------------------
# Per database
# ---------------------------------------------------------------------------

is(ended('logout', 'other'), 0, 'another database has counters of its own');
$node->safe_psql('other', q{SELECT session.close_session(session.open_session('lena', 'p'))});
is(ended('logout', 'other'), 1, "the other database's close counts there");
is(ended('logout'),          2, '... and not here');
ok(!exists stats('other')->{worker_passes_total},
	'the worker figures show only in session.database');
is(stats('other')->{worker_running}, 0, 'worker_running is 0 where the worker does not serve');

# 64 slots (postgres and other hold two): databases dropped since give theirs
# to new ones. FILE_COPY: the quicker way to copy the template here.
$node->safe_psql('postgres', 'CREATE DATABASE tmpl');
$node->safe_psql('tmpl',     'CREATE EXTENSION session');
my $script = '';
for my $i (1 .. 63)
{
	$script .= "CREATE DATABASE d$i TEMPLATE tmpl STRATEGY FILE_COPY;\n\\c d$i\n"
	  . "SELECT session.close_session(session.open_session('u', 'p'));\n"
	  . "\\c postgres\nDROP DATABASE d$i;\n";
}
$node->safe_psql('postgres', $script);
$node->safe_psql('postgres', 'CREATE DATABASE fresh TEMPLATE tmpl');
$node->safe_psql('fresh', q{SELECT session.close_session(session.open_session('u', 'p'))});
is(ended('logout', 'fresh'), 1,
	'after 63 databases came and went, a new one still has counters of its own');
is(ended('logout'), 2, '... and the old ones kept theirs');

# ---------------------------------------------------------------------------
# The worker
# ---------------------------------------------------------------------------

$s = stats();
is($s->{worker_running}, 1, 'worker_running is 1 in session.database');
ok($s->{worker_passes_total} >= 1, 'the worker counts its passes');
is($s->{worker_errors_total}, 0, 'no error so far');
ok(time() - $s->{worker_last_pass_timestamp_seconds} < 30, 'the last pass is recent');
ok($s->{worker_last_pass_duration_seconds} >= 0
	  && $s->{worker_last_pass_duration_seconds} < 30,
	'the last pass has a duration');

$node->safe_psql('postgres', q{
	SELECT session.open_session('idle' || i, 'p') FROM generate_series(1, 3) i;
	SELECT session.open_clientless_session('robot');
	ALTER SYSTEM SET session.idle_timeout = '1s';
	SELECT pg_reload_conf();
});
ok(poll_until($node, 'postgres',
	"SELECT value FROM session.stats() WHERE name = 'worker_expired_total'", '4', 30),
	'the worker counts the sessions it expired (3 new + frank\'s, not the clientless one)');
is(ended('timeout'), 4, 'expired sessions count as timeout');
ok(poll_until($node, 'postgres',
	"SELECT value FROM session.stats() WHERE name = 'worker_last_pass_expired'", '0', 30),
	'the last pass figure is that of the last pass only');

# A pass that fails is counted as an error and the next passes go on.
my $table = $node->safe_psql('postgres',
	"SELECT COALESCE(to_regclass('session_storage.sessions'), to_regclass('session.sessions'))");
$node->safe_psql('postgres', qq{
	CREATE FUNCTION public.no_delete() RETURNS trigger LANGUAGE plpgsql
		AS \$\$BEGIN RAISE EXCEPTION 'refused by the test'; END\$\$;
	CREATE TRIGGER no_delete BEFORE DELETE ON $table
		FOR EACH ROW EXECUTE FUNCTION public.no_delete();
	SELECT session.open_session('doomed', 'p');
});
ok(poll_until($node, 'postgres',
	"SELECT value > 0 FROM session.stats() WHERE name = 'worker_errors_total'", 't', 30),
	'a failed pass counts as an error');
ok(exists stats()->{worker_last_error_timestamp_seconds}, 'the last error time shows');
$node->safe_psql('postgres', "DROP TRIGGER no_delete ON $table");
ok(poll_until($node, 'postgres',
	"SELECT value FROM session.stats() WHERE name = 'worker_expired_total'", '5', 30),
	'after the error the worker goes on');

# ---------------------------------------------------------------------------
# Privileges
# ---------------------------------------------------------------------------

$node->safe_psql('postgres', q{
	CREATE ROLE nobody LOGIN;
	CREATE ROLE watcher LOGIN IN ROLE session_reader;
});
($rc, $out, $err) = $node->psql('postgres', 'SELECT count(*) FROM session.stats()',
	extra_params => [ '-U', 'nobody', '-v', 'VERBOSITY=sqlstate' ]);
like($err, qr/42501/, 'a role without session_reader gets 42501');
is($node->safe_psql('postgres', "SELECT count(*) > 0 FROM session.stats()",
		extra_params => [ '-U', 'watcher' ]),
	't', 'session_reader reads session.stats()');
is($node->safe_psql('postgres',
		"SELECT sessions, users, clientless FROM session.open_summary",
		extra_params => [ '-U', 'watcher' ]),
	'1|1|1', 'session_reader reads session.open_summary (the clientless session is left)');

# ---------------------------------------------------------------------------
# Without preloading: 55000, and the writes still work
# ---------------------------------------------------------------------------

$node->append_conf('postgresql.conf', "shared_preload_libraries = ''");
$node->restart;
($rc, $out, $err) = $node->psql('postgres', 'SELECT * FROM session.stats()',
	extra_params => [ '-v', 'VERBOSITY=sqlstate' ]);
like($err, qr/55000/, 'without preloading session.stats() raises 55000');
is($node->safe_psql('postgres',
		"SELECT session.close_session(session.open_session('late', 'p'))"),
	't', 'without preloading, closing still works (nothing is counted)');

$node->stop;
done_testing();
