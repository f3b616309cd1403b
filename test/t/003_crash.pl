# Durability under crashes (issue #7): several clients open, heartbeat, log
# in, close and roll back sessions in a loop while the server is crashed in
# four ways -- kill -9 of the postmaster with all its processes at once,
# kill -9 of the postmaster alone (its processes exit on their own), kill -9
# of one client backend, kill -9 of the background worker (the last two make
# the postmaster do a crash restart).  The worker expires the sessions the
# clients leave open meanwhile.  After every restart:
#   - every open the client saw succeed is there (open or ended), with its tag
#   - every close the client saw succeed is ended
#   - nothing of a rolled-back transaction is there
#   - ids and uuids are unique across open and ended sessions
#   - the indexes pass amcheck
# fsync and synchronous_commit are on, so "the client saw it" means durable.
#
# The clients are psql scripts: psql prints "o <id> <tag>" right after an
# open returned (or after the COMMIT of a transaction), "c <id> <result>"
# after a close returned; its output is flushed when it exits on the lost
# connection.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use SessionTest;

my $clients = 4;
my $iterations = 4000;    # per client and cycle, more than a cycle runs
my @kinds = qw(postmaster backend worker postmaster_alone postmaster backend worker);

my $node = session_node(
	'crash', conf => q{
fsync = on
synchronous_commit = on
log_statement = none
shared_preload_libraries = 'session'
session.database = 'postgres'
session.reaper_interval = '1s'
session.idle_timeout = '3s'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION session; CREATE EXTENSION amcheck');
# Create the daily partitions now, not under load: attaching the partition of
# the current day while sessions are being ended makes those ends fail (see
# 007_partition_attach.pl).
# The worker may hold the history for a moment (partition creation never
# waits for it), so call until today's partition is there.
ok( poll_until(
		$node, 'postgres',
		"SELECT session.expire_sessions() >= 0 AND to_regclass('session_storage.ended_sessions_' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD')) IS NOT NULL",
		't', 30),
	"today's history partition exists before the load starts");

my $workdir = PostgreSQL::Test::Utils::tempdir;
my %acked_open;     # id => tag
my %acked_close;    # id => 't' or 'f' (false: it had already ended, e.g. expired)
my @rolled_back;    # tags of sessions opened in rolled-back transactions
my @twice;          # ids whose open was acknowledged twice
my @client_errors;  # errors of the clients other than the lost connection
my $survived = 0;

# The psql script of one client for one cycle.
sub client_script
{
	my ($cycle, $c) = @_;
	my $s = '';

	for my $i (1 .. $iterations)
	{
		my $tag = "k$cycle-$c-$i";
		my $user = "u${c}_" . ($i % 5);
		$s .= "SELECT session.open_session('$user', 'proj" . ($c % 2)
		  . "', '10.1.$c." . ($i % 250)
		  . "', 'browser', 'cid$c', 'ua', 'node$c', '{\"tag\":\"$tag\"}') AS id \\gset\n"
		  . "\\echo o :id $tag\n"
		  . "SELECT session.heartbeat(:id, $i, '{p$i}') AS hb \\gset\n";
		$s .= "SELECT session.set_session_user(:id, 'v$c') IS NULL AS su \\gset\n"
		  if $i % 3 == 0;
		$s .= "SELECT session.close_session(:id) AS closed \\gset\n"
		  . "\\echo c :id :closed\n"
		  if $i % 2 == 0;
		if ($i % 5 == 0)
		{
			$s .= "BEGIN;\n"
			  . "SELECT session.open_session('$user', 'proj9', attributes => '{\"tag\":\"${tag}a\"}') AS a \\gset\n"
			  . "SELECT session.open_clientless_session('svc$c', 'proj9', attributes => '{\"tag\":\"${tag}b\"}') AS b \\gset\n"
			  . "SELECT session.heartbeat(ARRAY[:a, :b]::bigint[]) AS hb \\gset\n"
			  . "COMMIT;\n"
			  . "\\echo o :a ${tag}a\n"
			  . "\\echo o :b ${tag}b\n";
		}
		if ($i % 7 == 0)
		{
			$s .= "BEGIN;\n"
			  . "SELECT session.open_session('$user', 'proj9', attributes => '{\"tag\":\"rb$tag\"}') AS r \\gset\n"
			  . "SELECT session.close_session(:r) AS rc \\gset\n"
			  . "ROLLBACK;\n"
			  . "\\echo r rb$tag\n";
		}
	}
	return $s;
}

sub start_clients
{
	my ($cycle) = @_;
	my @runs;

	for my $c (1 .. $clients)
	{
		my $script = "$workdir/client-$cycle-$c.sql";
		open my $fh, '>', $script or die $!;
		print $fh client_script($cycle, $c);
		close $fh;
		my $out = "$workdir/client-$cycle-$c.out";
		my $err = "$workdir/client-$cycle-$c.err";
		my $h = IPC::Run::start(
			[
				'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
				'-d', $node->connstr('postgres') . ' application_name=crashclient',
				'-f', $script
			],
			'<', \undef, '>', $out, '2>', $err,
			IPC::Run::timeout(120));
		push @runs, { h => $h, out => $out, err => $err };
	}
	return @runs;
}

# Waits for the clients to end and records what they saw acknowledged.
sub collect
{
	my (@runs) = @_;
	my ($opens, $closes, $rollbacks) = (0, 0, 0);

	foreach my $r (@runs)
	{
		eval { $r->{h}->finish; };
		diag("client did not finish: $@") if $@;
		open my $fh, '<', $r->{out} or die $!;
		while (my $line = <$fh>)
		{
			chomp $line;
			if ($line =~ /^o (\d+) (\S+)$/)
			{
				push @twice, $1 if exists $acked_open{$1};
				$acked_open{$1} = $2;
				$opens++;
			}
			elsif ($line =~ /^c (\d+) ([tf])$/)
			{
				$acked_close{$1} = $2;
				$closes++;
			}
			elsif ($line =~ /^r (\S+)$/)
			{
				push @rolled_back, $1;
				$rollbacks++;
			}
			else
			{
				diag("unexpected client output: $line");
			}
		}
		close $fh;
		my $err = slurp_file($r->{err});
		# a client ends on the lost connection; anything else is suspicious
		if ($err ne ''
			&& $err !~ /terminat|connection|server closed|could not (send|receive)|no connection/i)
		{
			diag("client error: $err");
			push @client_errors, $err;
		}
	}
	return ($opens, $closes, $rollbacks);
}

# Checks every acknowledged write against the tables; returns lost count.
sub verify
{
	my ($label) = @_;
	my %row;    # id => [tag, state]

	foreach my $line (
		split /\n/,
		$node->safe_psql(
			'postgres', q{
SELECT id, coalesce(attributes->>'tag', '-'), 'open' FROM session_storage.sessions
UNION ALL
SELECT id, coalesce(attributes->>'tag', '-'), end_reason FROM session_storage.ended_sessions}))
	{
		my ($id, $tag, $state) = split /\|/, $line;
		$row{$id} = [ $tag, $state ];
	}

	my ($lost_open, $lost_close, $wrong_reason) = (0, 0, 0);
	foreach my $id (keys %acked_open)
	{
		if (!exists $row{$id} || $row{$id}[0] ne $acked_open{$id})
		{
			$lost_open++;
			diag("$label: acknowledged open $id ($acked_open{$id}) is missing"
				  . (exists $row{$id} ? " (id holds $row{$id}[0])" : ''))
			  if $lost_open <= 5;
		}
	}
	foreach my $id (keys %acked_close)
	{
		if (!exists $row{$id} || $row{$id}[1] eq 'open')
		{
			$lost_close++;
			diag("$label: acknowledged close of $id is not ended") if $lost_close <= 5;
		}
		elsif ($acked_close{$id} eq 't' && $row{$id}[1] ne 'logout')
		{
			$wrong_reason++;
			diag("$label: session $id closed by the client ended with $row{$id}[1]");
		}
	}
	is($lost_open, 0, "$label: every acknowledged open is there (" . scalar(keys %acked_open) . ')');
	is($lost_close, 0, "$label: every acknowledged close is ended (" . scalar(keys %acked_close) . ')');
	is($wrong_reason, 0, "$label: sessions closed by their client ended with reason logout");

	my %rb = map { $_ => 1 } @rolled_back;
	my @ghosts = grep { $rb{ $_->[0] } } values %row;
	is(scalar @ghosts, 0, "$label: nothing of a rolled-back transaction is there");

	is( $node->safe_psql(
			'postgres', q{
SELECT count(*) = count(DISTINCT id) AND count(*) = count(DISTINCT uuid)
FROM (SELECT id, uuid FROM session_storage.sessions
      UNION ALL SELECT id, uuid FROM session_storage.ended_sessions) s}),
		't',
		"$label: ids and uuids are unique across open and ended sessions");
	is( $node->safe_psql(
			'postgres', q{
SELECT count(*) FROM session_storage.sessions s JOIN session_storage.ended_sessions e USING (id)}),
		'0',
		"$label: no session is both open and ended");
	is( $node->safe_psql(
			'postgres', q{
SELECT count(bt_index_check(c.oid, true)) > 0
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'session_storage' AND c.relkind = 'i'}),
		't',
		"$label: the session indexes pass amcheck");
	is( $node->safe_psql('postgres',
			"SELECT last_value >= (SELECT max(id) FROM (SELECT id FROM session_storage.sessions UNION ALL SELECT id FROM session_storage.ended_sessions) s) FROM session_storage.sessions_id_seq"),
		't',
		"$label: the id sequence is past every stored id");
	return $lost_open + $lost_close;
}

my $lost = 0;
my $cycle = 0;
my $t_start = time();
foreach my $kind (@kinds)
{
	$cycle++;
	my $label = "cycle $cycle (kill -9 $kind)";
	my $base = $node->safe_psql('postgres', 'SELECT last_value FROM session_storage.sessions_id_seq');
	my @runs = start_clients($cycle);

	# let the load run a while: at least 200 more ids, then a random moment
	poll_until($node, 'postgres',
		"SELECT last_value >= $base + 200 FROM session_storage.sessions_id_seq", 't', 30)
	  or diag("$label: the load is slow");
	usleep(int(rand(1_000_000)));

	my $offset = -s $node->logfile;
	if ($kind eq 'postmaster')
	{
		my $n = crash_node($node);
		note "$label: killed $n processes";
	}
	elsif ($kind eq 'postmaster_alone')
	{
		my $n = crash_node($node, only_postmaster => 1);
		note "$label: killed the postmaster, its $n processes exited";
	}
	elsif ($kind eq 'backend')
	{
		my $pid = $node->safe_psql('postgres',
			"SELECT pid FROM pg_stat_activity WHERE application_name = 'crashclient' AND state = 'active' ORDER BY random() LIMIT 1");
		$pid = $node->safe_psql('postgres',
			"SELECT pid FROM pg_stat_activity WHERE application_name = 'crashclient' LIMIT 1")
		  if $pid eq '';
		ok($pid =~ /^\d+$/, "$label: a client backend to kill");
		kill 'KILL', $pid;
	}
	else
	{
		my $pid = reaper_pid($node);
		ok($pid =~ /^\d+$/, "$label: the worker to kill");
		kill 'KILL', $pid;
	}

	my ($opens, $closes, $rollbacks) = collect(@runs);
	note "$label: clients saw $opens opens, $closes closes, $rollbacks rollbacks acknowledged";
	ok($opens > 0, "$label: the clients had acknowledged opens ($opens)");

	if ($kind =~ /^postmaster/)
	{
		$node->start;
	}
	else
	{
		ok( poll_until($node, 'postgres', 'SELECT 1', '1', 60),
			"$label: the server is back after the crash restart");
		like(log_since($node, $offset), qr/all server processes terminated; reinitializing/,
			"$label: the postmaster did a crash restart");
	}
	ok(poll_until($node, 'postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'session reaper'", '1', 30),
		"$label: the worker runs again");

	is(join(',', @twice), '', "$label: no id was handed out twice");
	is(scalar @client_errors, 0, "$label: the clients met no error but the crash");
	my $l = verify($label);
	$lost += $l;
	$survived++ if $l == 0;
}

# the worker still does its job after all this
my $id = $node->safe_psql('postgres', "SELECT session.open_session('last', 'p')");
ok( poll_until($node, 'postgres',
		"SELECT end_reason FROM session.get_session_info(${id}::bigint)", 'timeout', 30),
	'after the crashes the worker still expires sessions');
is(join("\n", reaper_log_problems($node)), '',
	'the worker logged no warning or error');

my $total = $node->safe_psql('postgres',
	'SELECT (SELECT count(*) FROM session_storage.sessions) + (SELECT count(*) FROM session_storage.ended_sessions)');
my $expired = $node->safe_psql('postgres',
	"SELECT count(*) FROM session_storage.ended_sessions WHERE end_reason = 'timeout'");
diag(sprintf(
	"crash cycles survived: %d/%d (%s); acknowledged sessions lost: %d of %d opens and %d closes; %d rolled-back opens absent; %d sessions stored, %d of them expired by the worker; %.0f s",
	$survived, scalar @kinds, join(', ', @kinds), $lost,
	scalar(keys %acked_open), scalar(keys %acked_close),
	scalar @rolled_back, $total, $expired, time() - $t_start));

$node->stop;
done_testing();
