# Helpers shared by the TAP tests of the session extension.
#
# Besides small conveniences (polling, a psql client for a pooler), this
# module knows how to crash a server hard on machines whose PID 1 does not
# reap orphans: a postmaster killed with SIGKILL after "pg_ctl start" stays
# a zombie there, and its postmaster.pid then looks alive to the next start.

package SessionTest;

use strict;
use warnings;

use Exporter 'import';
use PostgreSQL::Test::BackgroundPsql;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

our @EXPORT = qw(
  session_root
  session_node
  poll_until
  query_value
  pid_alive
  wait_pid_gone
  children_of
  crash_node
  reaper_pid
  reaper_log_problems
  log_since
  pooler_psql
);

# The root of the tree: the directory prove runs in (PGXS's prove_installcheck
# changes to the source directory). Up to 16, PGXS also named it in TESTDIR,
# which 17 dropped.
sub session_root
{
	return $ENV{TESTDIR} // '.';
}

# A new, initialized (not started) node whose log lines carry the backend
# type, so that the background worker's messages can be told apart, and
# which restarts after a crash of one of its processes.
sub session_node
{
	my ($name, %params) = @_;
	my $conf = delete $params{conf};
	my $node = PostgreSQL::Test::Cluster->new($name);

	$node->init(%params);
	$node->append_conf(
		'postgresql.conf', qq{
log_line_prefix = '%m [%p] %b: %q%a '
restart_after_crash = on
});
	$node->append_conf('postgresql.conf', $conf) if defined $conf;
	return $node;
}

# Runs $sql every 0.1 s until it prints $expected; false after $timeout s.
sub poll_until
{
	my ($node, $db, $sql, $expected, $timeout) = @_;
	my $deadline = time() + ($timeout // 30);
	my ($stdout, $stderr);

	while (time() < $deadline)
	{
		# psql gets the statement on its standard input: while the server
		# restarts, psql may exit before reading it, and IPC::Run dies of the
		# broken pipe; that is a miss like any other
		$stdout = undef;
		eval {
			$node->psql(
				$db, $sql,
				stdout => \$stdout,
				stderr => \$stderr,
				on_error_die => 0);
			1;
		} or $stderr = "psql: $@";
		return 1 if defined $stdout && $stdout eq $expected;
		usleep(100_000);
	}
	diag("poll_until gave up after ${timeout}s: $sql\n"
		  . "last stdout: "
		  . ($stdout // '(none)')
		  . "\nlast stderr: "
		  . ($stderr // '(none)'));
	return 0;
}

# The single value printed by $sql (dies on error).
sub query_value
{
	my ($node, $db, $sql) = @_;
	return $node->safe_psql($db, $sql);
}

# Is process $pid running (present and not a zombie)?
sub pid_alive
{
	my ($pid) = @_;
	return 0 unless kill(0, $pid);
	if (open my $fh, '<', "/proc/$pid/status")
	{
		while (my $line = <$fh>)
		{
			return 0 if $line =~ /^State:\s+Z/;
		}
		close $fh;
	}
	return 1;
}

# Waits until $pid has exited (a zombie counts as exited); false on timeout.
sub wait_pid_gone
{
	my ($pid, $timeout) = @_;
	my $deadline = time() + ($timeout // 30);

	while (time() < $deadline)
	{
		return 1 unless pid_alive($pid);
		usleep(50_000);
	}
	return 0;
}

# Process ids whose parent is $ppid, read from /proc.
sub children_of
{
	my ($ppid) = @_;
	my @kids;

	opendir(my $dh, '/proc') or return ();
	foreach my $entry (readdir $dh)
	{
		next unless $entry =~ /^\d+$/;
		open my $fh, '<', "/proc/$entry/stat" or next;
		my $stat = <$fh>;
		close $fh;
		next unless defined $stat;
		# the command name is in parentheses and may contain anything
		$stat =~ s/^.*\)\s+//s;
		my (undef, $parent) = split /\s+/, $stat;
		push @kids, $entry + 0 if defined $parent && $parent == $ppid;
	}
	closedir $dh;
	return @kids;
}

# Kills the postmaster of $node and every one of its processes with SIGKILL
# at the same moment, as a power loss of the server would, waits until all of
# them are gone (or zombies), and removes postmaster.pid so that the node can
# be started again (with the lock file of its Unix socket, which names the
# dead postmaster too).  With only_postmaster => 1 only the postmaster gets
# SIGKILL and its processes are left to notice its death and exit on their
# own, as after the OOM killer chose the postmaster.  Returns the number of
# processes that were running.
sub crash_node
{
	my ($node, %params) = @_;
	my $pidfile = $node->data_dir . '/postmaster.pid';

	open my $fh, '<', $pidfile or die "no $pidfile: $!";
	my $pm = <$fh>;
	close $fh;
	chomp $pm;
	die "bad postmaster.pid" unless $pm =~ /^\d+$/;

	# stop the postmaster first so that it forks nothing while we look
	kill('STOP', $pm);
	my @children = children_of($pm);
	if ($params{only_postmaster})
	{
		kill('KILL', $pm);
	}
	else
	{
		kill('KILL', $pm, @children);
	}
	foreach my $pid ($pm, @children)
	{
		wait_pid_gone($pid, 30)
		  or die "process $pid of node " . $node->name . " did not exit";
	}
	unlink $pidfile;
	my $socket_lock = $node->host . '/.s.PGSQL.' . $node->port . '.lock';
	unlink $socket_lock if $node->host =~ m{^/};
	# tell Cluster.pm the node is down, as its kill9 does
	$node->{_pid} = undef;
	return 1 + scalar @children;
}

# Process id of the session reaper, or '' when it is not running.
sub reaper_pid
{
	my ($node) = @_;
	my ($stdout, $stderr);

	$node->psql(
		'postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'session reaper'",
		stdout => \$stdout,
		stderr => \$stderr,
		on_error_die => 0);
	return $stdout // '';
}

# The log of $node from byte offset $offset on.
sub log_since
{
	my ($node, $offset) = @_;
	return substr(slurp_file($node->logfile), $offset // 0);
}

# Lines the background worker logged at WARNING or above (needs the
# log_line_prefix of session_node).
sub reaper_log_problems
{
	my ($node, $offset) = @_;
	return grep { /session reaper: (WARNING|ERROR|FATAL|PANIC)/ }
	  split /\n/, log_since($node, $offset);
}

# A BackgroundPsql session through a pooler listening on 127.0.0.1:$port.
# (BackgroundPsql only lets PostgreSQL::Test::Cluster and its subclasses
# create sessions, and Cluster's own methods connect to the server itself.)
sub pooler_psql
{
	my ($port, $dbname, $user) = @_;
	return SessionTest::PoolerClient->psql_session($port, $dbname, $user);
}

package SessionTest::PoolerClient;

our @ISA = ('PostgreSQL::Test::Cluster');

sub psql_session
{
	my ($class, $port, $dbname, $user) = @_;
	return PostgreSQL::Test::BackgroundPsql->new(
		0,
		[
			'psql', '-XAtq', '-h', '127.0.0.1', '-p', $port, '-U', $user,
			'-d', $dbname, '-v', 'ON_ERROR_STOP=1', '-f', '-'
		],
		undef, 1);
}

1;
