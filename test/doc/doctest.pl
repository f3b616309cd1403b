#!/usr/bin/perl
# doctest.pl [--may-have-none] FILE DATABASE: replays the psql sessions shown in a
# Markdown file and compares their output with the file's text.
#
# A psql session is a fenced code block whose first line starts with psql's prompt
# "=> ". Each line that starts with "=> " begins an input; the "-> " lines right after
# it continue that input; every other line is the output psql printed for it. The
# blocks run in file order in DATABASE, each in a connection of its own (psql -X,
# default settings), so state in tables carries from block to block as it would for
# a reader typing them in order, and settings or SET ROLE last to the end of a block.
#
# Compared as is, except for what must vary from run to run, which both sides lose
# in the same way before the comparison:
#   - trailing white space of a line, and empty lines at the end of a block;
#   - a uuid becomes <uuid>, a timestamp (2026-11-29 19:40:25.123456+00) <timestamp>,
#     an interval's clock part ([N days ]19:40:25.123456) <interval>, a backend's
#     process id in "... with PID 12345" <pid>;
#   - in a block where anything was replaced, the widths of runs of spaces and of
#     dashes (psql's column padding and rules, which follow the values' widths).
# Prints one line per block and a closing "N passed, M failed"; exits 1 when a block
# differs (the diff and the full output of that block are printed), or when the file
# has no psql session at all, unless --may-have-none (a page of doc/ that shows no
# query output).
use strict;
use warnings;
use File::Temp qw(tempfile);

my $may_have_none = 0;
if (@ARGV && $ARGV[0] eq '--may-have-none')
{
	$may_have_none = 1;
	shift @ARGV;
}
my ($file, $db) = @ARGV;
die "usage: doctest.pl [--may-have-none] FILE DATABASE\n" unless defined $db;
open my $in, '<', $file or die "$file: $!\n";
my @lines = <$in>;
close $in;
chomp @lines;

# Fenced blocks: psql sessions, and other blocks that show a result table (reported
# as unchecked).
my (@sessions, @unchecked);
my $heading = '(top)';
for (my $i = 0; $i < @lines; $i++)
{
	if ($lines[$i] =~ /^#+\s+(.*)/)
	{
		$heading = $1;
		next;
	}
	next unless $lines[$i] =~ /^(\s*)(`{3,}|~{3,})/;
	my $fence = $2;
	my $start = $i + 1;
	my @body;
	for ($i++; $i < @lines && $lines[$i] !~ /^\s*\Q$fence\E\s*$/; $i++)
	{
		push @body, $lines[$i];
	}
	my $block = { line => $start + 1, heading => $heading, body => \@body };
	if (@body && $body[0] =~ /^=> /)
	{
		push @sessions, $block;
	}
	elsif (!grep({ /^\s*(`{3,}|~{3,})/ } @body)    # not a block that shows a block
		&& grep { /^\(\d+ rows?\)$/ || /^-+(\+-+)+$/ } @body)
	{
		push @unchecked, $block;
	}
}

# Splits a session block into inputs and their expected output.
sub chunks
{
	my ($body) = @_;
	my @chunks;
	for my $l (@$body)
	{
		if ($l =~ /^=> (.*)/)
		{
			push @chunks, { input => [$1], output => [] };
		}
		elsif ($l =~ /^-> (.*)/ && !@{ $chunks[-1]{output} })
		{
			push @{ $chunks[-1]{input} }, $1;
		}
		else
		{
			push @{ $chunks[-1]{output} }, $l;
		}
	}
	return @chunks;
}

# Runs the inputs in one psql connection; returns each input's output.
sub run_chunks
{
	my @chunks = @_;
	my ($sfh, $script) = tempfile('doctest-XXXXXX', TMPDIR => 1, UNLINK => 1);
	for my $n (0 .. $#chunks)
	{
		print $sfh "\\echo '\@\@doctest $n\@\@'\n";
		print $sfh "$_\n" for @{ $chunks[$n]{input} };
	}
	close $sfh;
	# standard input, not -f: psql then prints errors without a file name prefix
	open my $psql, '-|', 'sh', '-c', 'exec psql -X -d "$1" <"$2" 2>&1', 'sh', $db, $script
	  or die "psql: $!\n";
	my @out = ([]);
	my $current = -1;
	while (my $l = <$psql>)
	{
		chomp $l;
		if ($l =~ /^\@\@doctest (\d+)\@\@$/)
		{
			$current = $1;
			next;
		}
		push @{ $out[ $current + 1 ] }, $l;
	}
	close $psql;
	return @out;    # $out[0]: output before the first input (connection errors)
}

sub transcript
{
	my ($chunks, $outputs) = @_;
	my @t;
	for my $n (0 .. $#$chunks)
	{
		my @in = @{ $chunks->[$n]{input} };
		push @t, "=> " . shift @in;
		push @t, map { "-> $_" } @in;
		push @t, @{ $outputs->[$n] // [] };
	}
	return @t;
}

# Normalizes both sides (see the header).
sub normalize
{
	my @t = map { s/\s+$//r } @_;
	pop @t while @t && $t[-1] eq '';
	my $replaced = 0;
	for (@t)
	{
		next if /^=> |^-> /;
		$replaced += s/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/<uuid>/g;
		$replaced += s/\b\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d(?::\d\d)?)?/<timestamp>/g;
		$replaced += s/\b(?:-?\d+ days? )?-?\d\d:\d\d:\d\d(?:\.\d+)?/<interval>/g;
		$replaced += s/\b(with PID) \d+/$1 <pid>/g;
	}
	return ($replaced, @t);
}

sub squeeze
{
	return map { /^=> |^-> / ? $_ : s/ {2,}/ /gr =~ s/-{2,}/-/gr } @_;
}

my ($passed, $failed) = (0, 0);
for my $b (@sessions)
{
	my @chunks = chunks($b->{body});
	my ($before, @outputs) = run_chunks(@chunks);
	my @actual = transcript(\@chunks, \@outputs);
	my ($re, @exp) = normalize(@{ $b->{body} });
	my ($ra, @act) = normalize(@{$before}, @actual);
	if ($re || $ra)
	{
		@exp = squeeze(@exp);
		@act = squeeze(@act);
	}
	my $where = "$file:$b->{line} ($b->{heading})";
	if (join("\n", @exp) eq join("\n", @act))
	{
		$passed++;
		print "ok      $where\n";
		next;
	}
	$failed++;
	print "FAILED  $where\n";
	my ($efh, $ef) = tempfile('doctest-XXXXXX', TMPDIR => 1, UNLINK => 1);
	my ($afh, $af) = tempfile('doctest-XXXXXX', TMPDIR => 1, UNLINK => 1);
	print $efh map { "$_\n" } @exp;
	print $afh map { "$_\n" } @act;
	close $efh;
	close $afh;
	system('diff', '-u', '--label', "$file:$b->{line} (expected, normalized)",
		'--label', 'actual (normalized)', $ef, $af);
	print "---- the block as psql printed it ----\n";
	print map { s/\s+$//r . "\n" } @{$before}, @actual;
	print "----\n";
}
for my $b (@unchecked)
{
	print "note    $file:$b->{line} ($b->{heading}) shows query output "
	  . "but is not a psql session (first line \"=> \"): not checked\n";
}
if (!@sessions && !$may_have_none)
{
	print "FAILED  $file has no psql session (a fenced block whose first line starts with \"=> \")\n";
	$failed++;
}
print "$passed passed, $failed failed\n";
exit($failed ? 1 : 0);
