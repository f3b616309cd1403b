# Schemas the extension's owner runs names in: no other role can plant an
# object there.
#
# A role with CREATE on the database pre-creates schema session (or
# session_storage) before the superuser runs CREATE EXTENSION: refused with
# 42P06, empty or not.  With the extension installed, that role cannot rename
# its schema, take the name or create in it.  A planted live_last_comm,
# active_sessions, history or backend_contexts that records every call is
# never run by open, heartbeat, close, listing, connections or the worker:
# neither through the application's search_path, nor when the role does own
# the extension's schema and renames it away (the library then refuses to
# run, 55000), nor through ALTER EXTENSION UPDATE of an install that a 0.2.0
# CREATE EXTENSION let it own (refused, 55000).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SessionTest;

my $node = session_node(
	'hijack',
	extra => [ '--encoding=UTF8', '--locale=C' ],
	conf => q{
shared_preload_libraries = 'session'
session.database = 'postgres'
session.reaper_interval = '1s'
session.idle_timeout = '1s'
});
$node->start;

$node->safe_psql(
	'postgres', q{
CREATE ROLE mallory LOGIN;
CREATE ROLE app LOGIN;
});

# The SQLSTATE of the first error $sql raises in $db as $user ('ok' when none).
sub sqlstate
{
	my ($db, $sql, $user) = @_;
	my ($stdout, $stderr);
	my $connstr = $node->connstr($db) . (defined $user ? " user=$user" : '');
	$node->psql(
		$db, "\\set VERBOSITY verbose\n$sql",
		connstr => $connstr,
		stdout => \$stdout,
		stderr => \$stderr,
		on_error_stop => 1);
	return $stderr =~ /ERROR:\s+([0-9A-Z]{5}):/ ? $1 : 'ok';
}

# A new database in which mallory may create schemas.
sub fresh_db
{
	my ($db) = @_;
	$node->safe_psql('postgres', qq{CREATE DATABASE $db; GRANT CREATE ON DATABASE $db TO mallory});
}

sub installed
{
	my ($db) = @_;
	return $node->safe_psql($db, "SELECT count(*) FROM pg_extension WHERE extname = 'session'");
}

#
# CREATE EXTENSION refuses a pre-existing schema another role could use
#
my @refused = (
	[ 'an empty schema session of another role', q{CREATE SCHEMA session}, 'mallory' ],
	[ 'a schema session of another role with a table', q{CREATE SCHEMA session; CREATE TABLE session.t (x int)},
		'mallory' ],
	[ 'a schema session of the superuser with a function',
		q{CREATE SCHEMA session; CREATE FUNCTION session.f() RETURNS int LANGUAGE sql AS 'SELECT 1'}, undef ],
	[ 'an empty schema session of the superuser that another role may create in',
		q{CREATE SCHEMA session; GRANT CREATE ON SCHEMA session TO mallory}, undef ],
	[ 'an empty schema session_storage of another role', q{CREATE SCHEMA session_storage}, 'mallory' ],
	[ 'an empty schema session_storage of the superuser', q{CREATE SCHEMA session_storage}, undef ],);
my $n = 0;
foreach my $case (@refused)
{
	my ($label, $sql, $user) = @$case;
	my $db = 'refuse' . $n++;
	fresh_db($db);
	is(sqlstate($db, $sql, $user), 'ok', "$label: created");
	is(sqlstate($db, 'CREATE EXTENSION session'), '42P06', "$label: CREATE EXTENSION refuses it (42P06)");
	is(installed($db), '0', "$label: nothing installed");
}
my ($stderr, $stdout);
$node->psql('refuse0', 'CREATE EXTENSION session', stderr => \$stderr);
like($stderr, qr/HINT:.*Drop or rename the existing schema/, 'the error says what to do');

# the one existing schema accepted: empty, the installing superuser's, nobody
# else may create in it (what DROP EXTENSION leaves, what pg_restore creates)
fresh_db('accept');
$node->safe_psql('accept', 'CREATE SCHEMA session; GRANT USAGE ON SCHEMA session TO PUBLIC');
is(sqlstate('accept', 'CREATE EXTENSION session'), 'ok',
	'an empty schema session of the superuser that nobody else may create in is used');
$node->safe_psql('accept', 'DROP EXTENSION session');
is(sqlstate('accept', 'CREATE EXTENSION session'), 'ok', 'CREATE EXTENSION again after DROP EXTENSION');

#
# The report, against an install that refused the planted schema
#
# mallory's log of every call of her functions, whoever makes it
my $plant_log = q{
CREATE SCHEMA IF NOT EXISTS mlog;
CREATE TABLE IF NOT EXISTS mlog.calls (fn text, by_role text, at timestamptz DEFAULT clock_timestamp());
GRANT USAGE ON SCHEMA mlog TO PUBLIC;
GRANT INSERT, SELECT ON mlog.calls TO PUBLIC;
};

# Her functions and views in schema $s: the names the extension's statements use.
sub plant
{
	my ($s) = @_;
	return qq{
CREATE FUNCTION $s.live_last_comm(bigint, timestamptz) RETURNS timestamptz LANGUAGE plpgsql AS
	\$\$BEGIN INSERT INTO mlog.calls (fn, by_role) VALUES ('live_last_comm', current_user); RETURN \$2; END\$\$;
CREATE FUNCTION $s.live_recent_bytes(bigint, bigint) RETURNS bigint LANGUAGE plpgsql AS
	\$\$BEGIN INSERT INTO mlog.calls (fn, by_role) VALUES ('live_recent_bytes', current_user); RETURN \$2; END\$\$;
CREATE FUNCTION $s.live_total_bytes(bigint, bigint) RETURNS bigint LANGUAGE plpgsql AS
	\$\$BEGIN INSERT INTO mlog.calls (fn, by_role) VALUES ('live_total_bytes', current_user); RETURN \$2; END\$\$;
CREATE FUNCTION $s.elapsed_ms(timestamptz, timestamptz) RETURNS bigint LANGUAGE plpgsql AS
	\$\$BEGIN INSERT INTO mlog.calls (fn, by_role) VALUES ('elapsed_ms', current_user); RETURN 0; END\$\$;
CREATE FUNCTION $s.backend_contexts(OUT pid integer, OUT user_context text, OUT session_id bigint)
	RETURNS SETOF record LANGUAGE plpgsql AS
	\$\$BEGIN INSERT INTO mlog.calls (fn, by_role) VALUES ('backend_contexts', current_user); END\$\$;
CREATE FUNCTION $s.logged_row() RETURNS bigint LANGUAGE plpgsql AS
	\$\$BEGIN INSERT INTO mlog.calls (fn, by_role) VALUES ('a view', current_user); RETURN 1; END\$\$;
CREATE VIEW $s.active_sessions AS SELECT $s.logged_row() AS id;
CREATE VIEW $s.history AS SELECT $s.logged_row() AS id;
GRANT USAGE ON SCHEMA $s TO PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA $s TO PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA $s TO PUBLIC;
};
}

# What the application and a reader do, as role app, in schema $s, with
# session $id; returns the SQLSTATE of each step.
sub app_round
{
	my ($db, $s, $id) = @_;
	my @steps = (
		[ open => qq{SELECT $s.open_session('alice', 'plant')} ],
		[ heartbeat => qq{SELECT $s.heartbeat(${id}::bigint, 10)} ],
		[ list => qq{SELECT count(*) FROM $s.get_session_info('al.*')} ],
		[ by_id => qq{SELECT $s.get_session_info(${id}::bigint)} ],
		[ connections => qq{SELECT count(*) FROM $s.connections} ],
		[ close => qq{SELECT $s.close_session($id)} ],);
	return join(',', map { "$_->[0]=" . sqlstate($db, $_->[1], 'app') } @steps);
}

sub calls
{
	my ($db) = @_;
	return $node->safe_psql($db, q{SELECT count(*) || ':' || coalesce(string_agg(DISTINCT fn || '/' || by_role, ','), '') FROM mlog.calls});
}

# postgres is session.database: the worker runs its expiry there too
$node->safe_psql('postgres', 'GRANT CREATE ON DATABASE postgres TO mallory');
is(sqlstate('postgres', 'CREATE SCHEMA session', 'mallory'), 'ok', 'mallory pre-creates schema session');
is(sqlstate('postgres', 'CREATE EXTENSION session'), '42P06', 'CREATE EXTENSION refuses it');
$node->safe_psql('postgres', 'DROP SCHEMA session; CREATE EXTENSION session');
$node->safe_psql('postgres', 'GRANT session_app, session_reader TO app');
my $carol = $node->safe_psql('postgres', q{SELECT session.open_session('carol', 'plant')});
$node->safe_psql('postgres', $plant_log, connstr => $node->connstr('postgres') . ' user=mallory');

is(sqlstate('postgres', 'ALTER SCHEMA session RENAME TO moved', 'mallory'), '42501',
	'mallory cannot rename the extension\'s schema');
is(sqlstate('postgres', 'ALTER SCHEMA session_storage RENAME TO moved', 'mallory'), '42501',
	'nor session_storage');
is(sqlstate('postgres', 'CREATE SCHEMA session', 'mallory'), '42P06', 'nor take the name');
is(sqlstate('postgres', plant('session'), 'mallory'), '42501', 'nor create in schema session');
is(sqlstate('postgres', 'CREATE TABLE session_storage.x (i int)', 'mallory'), '42501',
	'nor in session_storage');

# her functions first on the application's search_path
$node->safe_psql('postgres', 'CREATE SCHEMA evil AUTHORIZATION mallory');
is(sqlstate('postgres', plant('evil'), 'mallory'), 'ok', 'mallory plants her functions in her own schema');
$node->safe_psql('postgres', 'ALTER ROLE app SET search_path = evil, pg_catalog, public');
is( app_round('postgres', 'session', $carol),
	'open=ok,heartbeat=ok,list=ok,by_id=ok,connections=ok,close=ok',
	'open, heartbeat, listing, connections and close work with her schema first on the search_path');
# the worker's expiry (idle_timeout 1 s) reads live_last_comm as the owner
my $left = $node->safe_psql('postgres', q{SELECT session.open_session('bob', 'plant')});
ok( poll_until(
		$node, 'postgres', "SELECT end_reason FROM session.history WHERE id = $left", 'timeout', 60),
	'the worker expires a session meanwhile');
is(calls('postgres'), '0:', 'none of her functions ran');

# if she did own the extension's schema (as CREATE EXTENSION of 0.2.0 let
# her): she renames it away and takes the name with her functions
$node->safe_psql('postgres', 'ALTER SCHEMA session OWNER TO mallory');
is(sqlstate('postgres', 'ALTER SCHEMA session RENAME TO moved; CREATE SCHEMA session;' . plant('session'), 'mallory'),
	'ok', 'owning it, she renames it away and plants session.live_last_comm and the views');
$node->safe_psql('postgres', 'ALTER ROLE app RESET search_path');
is( app_round('postgres', 'moved', $carol),
	'open=55000,heartbeat=55000,list=55000,by_id=55000,connections=ok,close=55000',
	'the library refuses to run (55000); connections does not look names up');
my $log_from = -s $node->logfile;
sleep 3;
like(log_since($node, $log_from), qr/schema "session" is not a schema of extension "session"/,
	'the worker refuses too, and says why');
is(calls('postgres'), '0:', 'none of her functions ran');

#
# ALTER EXTENSION UPDATE of a 0.2.0 install whose schema she owns
#
fresh_db('old');
$node->safe_psql('old', 'CREATE SCHEMA session', connstr => $node->connstr('old') . ' user=mallory');
$node->safe_psql('old', "CREATE EXTENSION session VERSION '0.2.0'");
$node->safe_psql('old', $plant_log, connstr => $node->connstr('old') . ' user=mallory');
is(sqlstate('old', 'ALTER SCHEMA session RENAME TO moved; CREATE SCHEMA session;' . plant('session'), 'mallory'),
	'ok', '0.2.0 accepted her empty schema: she renames it away and plants her functions');
is(sqlstate('old', 'ALTER EXTENSION session UPDATE'), '55000', 'ALTER EXTENSION UPDATE refuses (55000)');
$node->psql('old', 'ALTER EXTENSION session UPDATE', stderr => \$stderr);
like($stderr, qr/schema "session" is not the extension's schema/, 'and names the schema');
is($node->safe_psql('old', "SELECT extversion FROM pg_extension WHERE extname = 'session'"),
	'0.2.0', 'the install stays at 0.2.0');
is(calls('old'), '0:', 'none of her functions ran');

# the same install before she renamed it: still hers, refused as well
fresh_db('old2');
$node->safe_psql('old2', 'CREATE SCHEMA session', connstr => $node->connstr('old2') . ' user=mallory');
$node->safe_psql('old2', "CREATE EXTENSION session VERSION '0.2.0'");
$node->safe_psql('old2', q{CREATE FUNCTION session.extra() RETURNS int LANGUAGE sql AS 'SELECT 1'},
	connstr => $node->connstr('old2') . ' user=mallory');
$node->psql('old2', 'ALTER EXTENSION session UPDATE', stderr => \$stderr);
like($stderr, qr/schema "session" is owned by role mallory/, 'an install in her schema is refused before she renames it');
# the fix, step by step, as the hint says
$node->safe_psql('old2', 'ALTER SCHEMA session OWNER TO CURRENT_USER');
$node->psql('old2', 'ALTER EXTENSION session UPDATE', stderr => \$stderr);
like($stderr, qr/schema "session" holds objects of another role/, 'taken back, it still holds her function: refused');
$node->safe_psql('old2', 'DROP FUNCTION session.extra(); GRANT CREATE ON SCHEMA session TO mallory');
$node->psql('old2', 'ALTER EXTENSION session UPDATE', stderr => \$stderr);
like($stderr, qr/schema "session" lets other roles create objects in it/, 'with CREATE granted to her: refused');
$node->safe_psql('old2', 'REVOKE CREATE ON SCHEMA session FROM mallory');
is(sqlstate('old2', 'ALTER EXTENSION session UPDATE'), 'ok', 'cleaned up, the install updates');
is( $node->safe_psql('old2',
		"SELECT extversion = default_version FROM pg_extension, pg_available_extensions WHERE extname = 'session' AND name = 'session'"),
	't', 'to the current version');

$node->stop;
done_testing();
