-- Hostile input for every function of the session extension (read by
-- test/reliability/hostile.sh).  One row per call: the function, what is odd about
-- the input, the expected outcome and the statement.
--
-- expect: a SQLSTATE, "ok" (any success), "=VALUE" (success, and the first
-- column of the first row is VALUE as text), or alternatives joined by "|".
-- timeout: the call runs under statement_timeout = 200ms.
--
-- Statements may use hid(name): the id of a session made by the setup below
-- (open, ended, cl = open clientless, cl_ended = ended clientless, victim*).

CREATE TABLE hostile_ids (name text PRIMARY KEY, id bigint NOT NULL);
CREATE FUNCTION hid(text) RETURNS bigint LANGUAGE sql STABLE
	AS $$ SELECT id FROM hostile_ids WHERE name = $1 $$;
INSERT INTO hostile_ids VALUES ('open', session.open_session('alice', 'proj', '10.0.0.1', node => 'n1'));
INSERT INTO hostile_ids VALUES ('open2', session.open_session('bob', 'proj'));
INSERT INTO hostile_ids VALUES ('ended', session.open_session('carol', 'proj'));
SELECT session.close_session(hid('ended'));
INSERT INTO hostile_ids VALUES ('cl', session.open_clientless_session('dora', 'proj'));
INSERT INTO hostile_ids VALUES ('cl_ended', session.open_clientless_session('dora', 'proj'));
SELECT session.close_clientless_session(hid('cl_ended'));
INSERT INTO hostile_ids VALUES ('max', session.open_session('maxi', 'proj'));

-- Round trips in a volatile function, whose statements see each other's
-- writes (a STABLE function in the same statement would not).
CREATE FUNCTION rt_user(u text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE i bigint := session.open_session(u, 'p');
BEGIN RETURN session.get_session_user(i) = coalesce(u, 'Unauthenticated'); END $$;
CREATE FUNCTION rt_authenticated(u text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE i bigint := session.open_session(u, 'p');
BEGIN RETURN (session.get_session_info(i)).authenticated; END $$;
CREATE FUNCTION rt_project(p text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE i bigint := session.open_session('u', p);
BEGIN RETURN (session.get_session_info(i)).project = p; END $$;
CREATE FUNCTION rt_reason(r text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE i bigint := session.open_session('u', 'p');
BEGIN
	PERFORM session.close_session(i, r);
	RETURN (session.get_session_info(i)).end_reason = r;
END $$;
CREATE FUNCTION rt_login(u text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE i bigint := session.open_session(NULL, 'p');
BEGIN
	PERFORM session.set_session_user(i, u);
	RETURN session.get_session_user(i) = u;
END $$;

CREATE TABLE hostile_cases (
	n		serial,
	fn		text NOT NULL,
	input	text NOT NULL,
	expect	text NOT NULL,
	sql		text NOT NULL,
	timeout	boolean NOT NULL DEFAULT false
);

INSERT INTO hostile_cases (fn, input, expect, sql) VALUES
-- open_session
('open_session', 'username NULL: Unauthenticated', '=true', $q$SELECT rt_user(NULL)$q$),
('open_session', 'username NULL: not authenticated', '=false', $q$SELECT rt_authenticated(NULL)$q$),
('open_session', 'username ''Unauthenticated'': not authenticated', '=false', $q$SELECT rt_authenticated('Unauthenticated')$q$),
('open_session', 'project NULL', '22004', $q$SELECT session.open_session('u', NULL)$q$),
('open_session', 'all NULL', '22004', $q$SELECT session.open_session(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)$q$),
('open_session', 'username empty', '22023', $q$SELECT session.open_session('', 'p')$q$),
('open_session', 'project empty', '22023', $q$SELECT session.open_session('u', '')$q$),
('open_session', 'scope NULL', '22004', $q$SELECT session.open_session('u', 'p', scope => NULL)$q$),
('open_session', 'scope empty', '22023', $q$SELECT session.open_session('u', 'p', scope => '')$q$),
('open_session', 'scope unknown', '22023', $q$SELECT session.open_session('u', 'p', scope => 'telnet')$q$),
('open_session', 'scope wrong case', '22023', $q$SELECT session.open_session('u', 'p', scope => 'Browser')$q$),
('open_session', 'scope with trailing space', '22023', $q$SELECT session.open_session('u', 'p', scope => 'browser ')$q$),
('open_session', 'scope injection', '22023', $q$SELECT session.open_session('u', 'p', scope => $$browser'); DROP TABLE session_storage.sessions; --$$)$q$),
('open_session', 'username 256 chars', 'ok', $q$SELECT session.open_session(repeat('u', 256), 'p')$q$),
('open_session', 'username 257 chars', '22001', $q$SELECT session.open_session(repeat('u', 257), 'p')$q$),
('open_session', 'username 256 emoji (1024 bytes)', 'ok', $q$SELECT session.open_session(repeat(U&'\+01F600', 256), 'p')$q$),
('open_session', 'username 257 emoji', '22001', $q$SELECT session.open_session(repeat(U&'\+01F600', 257), 'p')$q$),
('open_session', 'username 20 MB', '22001|54000', $q$SELECT session.open_session(repeat('x', 20000000), 'p')$q$),
('open_session', 'project 256 chars', 'ok', $q$SELECT session.open_session('u', repeat('p', 256))$q$),
('open_session', 'project 257 chars', '22001', $q$SELECT session.open_session('u', repeat('p', 257))$q$),
('open_session', 'node 257 chars', '22001', $q$SELECT session.open_session('u', 'p', node => repeat('n', 257))$q$),
('open_session', 'node empty', '22023', $q$SELECT session.open_session('u', 'p', node => '')$q$),
('open_session', 'client_id 257 chars', '22001', $q$SELECT session.open_session('u', 'p', client_id => repeat('c', 257))$q$),
('open_session', 'client_id 256 chars', 'ok', $q$SELECT session.open_session('u', 'p', client_id => repeat('c', 256))$q$),
('open_session', 'user_agent 1024 chars', 'ok', $q$SELECT session.open_session('u', 'p', user_agent => repeat('a', 1024))$q$),
('open_session', 'user_agent 1025 chars', '22001', $q$SELECT session.open_session('u', 'p', user_agent => repeat('a', 1025))$q$),
('open_session', 'user_agent 1025 2-byte chars', '22001', $q$SELECT session.open_session('u', 'p', user_agent => repeat(U&'\00E9', 1025))$q$),
('open_session', 'address malformed', '22P02', $q$SELECT session.open_session('u', 'p', '999.1.1.1')$q$),
('open_session', 'address IPv6 with zone-like text', '22P02', $q$SELECT session.open_session('u', 'p', 'fe80::1%eth0')$q$),
('open_session', 'attributes JSON array', '22023', $q$SELECT session.open_session('u', 'p', attributes => '[1, 2]')$q$),
('open_session', 'attributes JSON string', '22023', $q$SELECT session.open_session('u', 'p', attributes => '"x"')$q$),
('open_session', 'attributes JSON null', '22023', $q$SELECT session.open_session('u', 'p', attributes => 'null'::jsonb)$q$),
('open_session', 'attributes malformed JSON', '22P02', $q$SELECT session.open_session('u', 'p', attributes => '{"a":')$q$),
('open_session', 'attributes unquoted keys', '22P02', $q$SELECT session.open_session('u', 'p', attributes => '{a: 1}')$q$),
('open_session', 'attributes NUL escape \u0000', '22P05', $q$SELECT session.open_session('u', 'p', attributes => '{"a": "\u0000"}')$q$),
('open_session', 'attributes 60 kB', 'ok', $q$SELECT session.open_session('u', 'p', attributes => jsonb_build_object('k', repeat('v', 60000)))$q$),
('open_session', 'attributes 70 kB', '22001', $q$SELECT session.open_session('u', 'p', attributes => jsonb_build_object('k', repeat('v', 70000)))$q$),
('open_session', 'attributes 10000 keys', 'ok|22001', $q$SELECT session.open_session('u', 'p', attributes => (SELECT jsonb_object_agg('k' || g, g) FROM generate_series(1, 10000) g))$q$),
('open_session', 'attributes nested 1000 deep', 'ok|22001', $q$SELECT session.open_session('u', 'p', attributes => (repeat('{"a":', 1000) || '1' || repeat('}', 1000))::jsonb)$q$),
('open_session', 'username NUL byte via convert_from', '22021', $q$SELECT session.open_session(convert_from('\x610062'::bytea, 'UTF8'), 'p')$q$),
('open_session', 'username invalid UTF-8 via convert_from', '22021', $q$SELECT session.open_session(convert_from('\xc328'::bytea, 'UTF8'), 'p')$q$),
('open_session', 'username emoji ZWJ sequence, stored verbatim', '=true', $q$SELECT rt_user(U&'\+01F469\200D\+01F4BB')$q$),
('open_session', 'username combining chars, stored verbatim', '=true', $q$SELECT rt_user(U&'e\0301\0301\0301')$q$),
('open_session', 'username RTL + RLO override, stored verbatim', '=true', $q$SELECT rt_user(U&'\202E\05E9\05DC\05D5\05DD')$q$),
('open_session', 'username U+FFFD, BOM, zero-width space, stored verbatim', '=true', $q$SELECT rt_user(U&'\FFFD\FEFF\200B')$q$),
('open_session', 'username 256 4-byte chars, stored verbatim', '=true', $q$SELECT rt_user(repeat(U&'\+01F4A9', 256))$q$),
('open_session', 'username only whitespace', 'ok', $q$SELECT session.open_session(E' \t\n', 'p')$q$),
('open_session', 'username control chars', 'ok', $q$SELECT session.open_session(E'\x01\x1b[31m\x7f', 'p')$q$),
('open_session', 'username SQL injection, stored verbatim', '=true', $q$SELECT rt_user($$x'); DROP TABLE session_storage.sessions; --$$)$q$),
('open_session', 'project SQL injection, stored verbatim', '=true', $q$SELECT rt_project($$' OR 1=1; DELETE FROM session_storage.ended_sessions; --$$)$q$),
('open_session', 'username with dollar quotes, quotes and backslashes', '=true', $q$SELECT rt_user(repeat(chr(36), 2) || chr(92) || chr(39) || chr(34) || '\x00')$q$),
('open_session', 'format-string username (%s%n%x)', 'ok', $q$SELECT session.open_session('%s%s%s%n%n%x%p', '%n')$q$),
('open_session', 'sessions table still there', '=true', $q$SELECT to_regclass('session_storage.sessions') IS NOT NULL AND to_regclass('session_storage.ended_sessions') IS NOT NULL$q$),
-- open_clientless_session
('open_clientless_session', 'username NULL', '22004', $q$SELECT session.open_clientless_session(NULL)$q$),
('open_clientless_session', 'username empty', '22023', $q$SELECT session.open_clientless_session('')$q$),
('open_clientless_session', 'username 257 chars', '22001', $q$SELECT session.open_clientless_session(repeat('u', 257))$q$),
('open_clientless_session', 'project NULL', 'ok', $q$SELECT session.open_clientless_session('svc')$q$),
('open_clientless_session', 'project empty', '22023', $q$SELECT session.open_clientless_session('svc', '')$q$),
('open_clientless_session', 'node 257 chars', '22001', $q$SELECT session.open_clientless_session('svc', 'p', repeat('n', 257))$q$),
('open_clientless_session', 'attributes array', '22023', $q$SELECT session.open_clientless_session('svc', 'p', 'n', '[]')$q$),
('open_clientless_session', 'attributes 70 kB', '22001', $q$SELECT session.open_clientless_session('svc', 'p', 'n', jsonb_build_object('k', repeat('v', 70000)))$q$),
-- set_session_user
('set_session_user', 'session_id NULL', '22004', $q$SELECT session.set_session_user(NULL, 'u')$q$),
('set_session_user', 'unknown id', 'SE404', $q$SELECT session.set_session_user(9223372036854775807, 'u')$q$),
('set_session_user', 'id -1', 'SE404', $q$SELECT session.set_session_user(-1, 'u')$q$),
('set_session_user', 'id 0', 'SE404', $q$SELECT session.set_session_user(0, 'u')$q$),
('set_session_user', 'id min bigint', 'SE404', $q$SELECT session.set_session_user(-9223372036854775808, 'u')$q$),
('set_session_user', 'id out of bigint range', '22003', $q$SELECT session.set_session_user('9223372036854775808'::bigint, 'u')$q$),
('set_session_user', 'ended session', 'SE404', $q$SELECT session.set_session_user(hid('ended'), 'u')$q$),
('set_session_user', 'username empty', '22023', $q$SELECT session.set_session_user(hid('open2'), '')$q$),
('set_session_user', 'username 257 chars', '22001', $q$SELECT session.set_session_user(hid('open2'), repeat('u', 257))$q$),
('set_session_user', 'username NULL (log out)', 'ok', $q$SELECT session.set_session_user(hid('open2'), NULL)$q$),
('set_session_user', 'username injection, stored verbatim', '=true', $q$SELECT rt_login($$'; TRUNCATE session_storage.sessions; --$$)$q$),
('set_session_user', 'username odd Unicode, stored verbatim', '=true', $q$SELECT rt_login(U&'\202Eadmin\FFFD')$q$),
-- heartbeat (one)
('heartbeat', 'session_id NULL', '22004', $q$SELECT session.heartbeat(NULL::bigint)$q$),
('heartbeat', 'bytes_sent NULL', '22004', $q$SELECT session.heartbeat(hid('open'), NULL)$q$),
('heartbeat', 'bytes_sent -1', '22023', $q$SELECT session.heartbeat(hid('open'), -1)$q$),
('heartbeat', 'bytes_sent min bigint', '22023', $q$SELECT session.heartbeat(hid('open'), -9223372036854775808)$q$),
('heartbeat', 'unknown id', '=false', $q$SELECT session.heartbeat(9223372036854775807)$q$),
('heartbeat', 'id -1', '=false', $q$SELECT session.heartbeat(-1)$q$),
('heartbeat', 'ended id', '=false', $q$SELECT session.heartbeat(hid('ended'))$q$),
('heartbeat', 'bytes max bigint', '=true', $q$SELECT session.heartbeat(hid('max'), 9223372036854775807)$q$),
('heartbeat', 'bytes total saturates at the bigint maximum', '=true', $q$SELECT session.heartbeat(hid('max'), 1)$q$),
('heartbeat[]', 'bytes total saturates at the bigint maximum', '=1', $q$SELECT session.heartbeat(ARRAY[hid('max')], ARRAY[1]::bigint[])$q$),
('heartbeat[]', 'a saturated session does not fail its batch', '=2', $q$SELECT session.heartbeat(ARRAY[hid('max'), hid('open')], ARRAY[9223372036854775807, 1]::bigint[])$q$),
('close_session', 'session with bigint-max bytes', '=true', $q$SELECT session.close_session(hid('max'))$q$),
('heartbeat', 'page_ids 1000 entries', '=true', $q$SELECT session.heartbeat(hid('open'), 0, array_fill('page'::text, ARRAY[1000]))$q$),
('heartbeat', 'page_ids 1001 entries', '22001', $q$SELECT session.heartbeat(hid('open'), 0, array_fill('page'::text, ARRAY[1001]))$q$),
('heartbeat', 'page_ids 1000000 entries', '22001', $q$SELECT session.heartbeat(hid('open'), 0, array_fill('p'::text, ARRAY[1000000]))$q$),
('heartbeat', 'page_ids with a NULL', '22004', $q$SELECT session.heartbeat(hid('open'), 0, ARRAY['a', NULL])$q$),
('heartbeat', 'page id 256 chars', '=true', $q$SELECT session.heartbeat(hid('open'), 0, ARRAY[repeat('p', 256)])$q$),
('heartbeat', 'page id 257 chars', '22001', $q$SELECT session.heartbeat(hid('open'), 0, ARRAY[repeat('p', 257)])$q$),
('heartbeat', 'page_ids two-dimensional', '22023', $q$SELECT session.heartbeat(hid('open'), 0, ARRAY[['a', 'b'], ['c', 'd']])$q$),
('heartbeat', 'page_ids lower bound 5', '=true', $q$SELECT session.heartbeat(hid('open'), 0, '[5:6]={a,b}'::text[])$q$),
('heartbeat', 'page_ids empty', '=true', $q$SELECT session.heartbeat(hid('open'), 0, '{}')$q$),
('heartbeat', 'page_ids odd Unicode', '=true', $q$SELECT session.heartbeat(hid('open'), 0, ARRAY[U&'\+01F600', U&'\202E', U&'\FFFD', ''])$q$),
('heartbeat', 'page_ids malformed literal', '22P02', $q$SELECT session.heartbeat(hid('open'), 0, '{a,"b}'::text[])$q$),
-- heartbeat (batch)
('heartbeat[]', 'session_ids NULL', '22004', $q$SELECT session.heartbeat(NULL::bigint[])$q$),
('heartbeat[]', 'session_ids with a NULL', '22004', $q$SELECT session.heartbeat(ARRAY[hid('open'), NULL])$q$),
('heartbeat[]', 'bytes_sent with a NULL', '22004', $q$SELECT session.heartbeat(ARRAY[hid('open'), hid('open2')], ARRAY[1, NULL]::bigint[])$q$),
('heartbeat[]', 'bytes_sent shorter', '22023', $q$SELECT session.heartbeat(ARRAY[hid('open'), hid('open2')], ARRAY[1]::bigint[])$q$),
('heartbeat[]', 'bytes_sent longer', '22023', $q$SELECT session.heartbeat(ARRAY[hid('open')], ARRAY[1, 2]::bigint[])$q$),
('heartbeat[]', 'bytes_sent negative', '22023', $q$SELECT session.heartbeat(ARRAY[hid('open'), hid('open2')], ARRAY[1, -1]::bigint[])$q$),
('heartbeat[]', 'empty arrays', '=0', $q$SELECT session.heartbeat('{}'::bigint[], '{}'::bigint[])$q$),
('heartbeat[]', 'unknown, -1 and max ids', '=0', $q$SELECT session.heartbeat(ARRAY[-1, 0, 9223372036854775807, -9223372036854775808]::bigint[])$q$),
('heartbeat[]', 'duplicates counted once', '=1', $q$SELECT session.heartbeat(ARRAY[hid('open'), hid('open'), hid('open')])$q$),
('heartbeat[]', 'duplicate bytes saturate', '=1', $q$SELECT session.heartbeat(ARRAY[hid('open'), hid('open')], ARRAY[9223372036854775807, 1]::bigint[])$q$),
('heartbeat[]', 'two-dimensional ids', 'ok', $q$SELECT session.heartbeat(ARRAY[[hid('open'), hid('open2')], [1, 2]])$q$),
('heartbeat[]', '100000 ids', '=true',
 $q$SELECT session.heartbeat(ARRAY(SELECT g FROM generate_series(hid('open') - 50000, hid('open') + 49999) g)) = (SELECT count(*) FROM session_storage.sessions WHERE id BETWEEN hid('open') - 50000 AND hid('open') + 49999)$q$),
('heartbeat[]', '100000 ids with bytes', 'ok',
 $q$SELECT session.heartbeat(ARRAY(SELECT g FROM generate_series(1, 100000) g), array_fill(7::bigint, ARRAY[100000]))$q$),
-- close_session
('close_session', 'session_id NULL', '22004', $q$SELECT session.close_session(NULL)$q$),
('close_session', 'reason NULL', '22004', $q$SELECT session.close_session(hid('open'), NULL)$q$),
('close_session', 'reason empty', '22023', $q$SELECT session.close_session(hid('open'), '')$q$),
('close_session', 'reason 257 chars', '22001', $q$SELECT session.close_session(hid('open'), repeat('r', 257))$q$),
('close_session', 'unknown id', 'SE404', $q$SELECT session.close_session(9223372036854775807)$q$),
('close_session', 'id -1', 'SE404', $q$SELECT session.close_session(-1)$q$),
('close_session', 'ended id', '=false', $q$SELECT session.close_session(hid('ended'))$q$),
('close_session', 'reason emoji, stored verbatim', '=true', $q$SELECT rt_reason(U&'\+01F389 bye')$q$),
('close_session', 'reason injection, stored verbatim', '=true', $q$SELECT rt_reason($$'); DROP SCHEMA session CASCADE; --$$)$q$),
('close_session', 'reason 256 chars', '=true', $q$SELECT rt_reason(repeat('r', 256))$q$),
('close_session', 'the reason terminated is reserved', '22023', $q$SELECT session.close_session(hid('open'), 'terminated')$q$),
('close_session', 'the reason timeout is reserved', '22023', $q$SELECT session.close_session(hid('open'), 'timeout')$q$),
('close_session', 'the reason evicted is reserved', '22023', $q$SELECT session.close_session(hid('open'), 'evicted')$q$),
-- close_clientless_session
('close_clientless_session', 'session_id NULL', '22004', $q$SELECT session.close_clientless_session(NULL)$q$),
('close_clientless_session', 'unknown id', 'SE404', $q$SELECT session.close_clientless_session(-1)$q$),
('close_clientless_session', 'open non-clientless session', 'SE404', $q$SELECT session.close_clientless_session(hid('open'))$q$),
('close_clientless_session', 'ended non-clientless session', 'SE404', $q$SELECT session.close_clientless_session(hid('ended'))$q$),
('close_clientless_session', 'ended clientless session', '=false', $q$SELECT session.close_clientless_session(hid('cl_ended'))$q$),
-- terminate_session
('terminate_session', 'session_id NULL', '22004', $q$SELECT session.terminate_session(NULL)$q$),
('terminate_session', 'reason NULL', '22004', $q$SELECT session.terminate_session(hid('open'), NULL)$q$),
('terminate_session', 'reason empty', '22023', $q$SELECT session.terminate_session(hid('open'), '')$q$),
('terminate_session', 'reason 257 chars', '22001', $q$SELECT session.terminate_session(hid('open'), repeat('r', 257))$q$),
('terminate_session', 'unknown id', 'SE404', $q$SELECT session.terminate_session(9223372036854775807)$q$),
('terminate_session', 'ended id', '=false', $q$SELECT session.terminate_session(hid('ended'))$q$),
-- close_node_sessions
('close_node_sessions', 'node NULL', '22004', $q$SELECT session.close_node_sessions(NULL)$q$),
('close_node_sessions', 'node empty', '22023', $q$SELECT session.close_node_sessions('')$q$),
('close_node_sessions', 'node 257 chars', '22001', $q$SELECT session.close_node_sessions(repeat('n', 257))$q$),
('close_node_sessions', 'the reason terminated is reserved', '22023', $q$SELECT session.close_node_sessions('n1', 'terminated')$q$),
('close_node_sessions', 'reason NULL', '22004', $q$SELECT session.close_node_sessions('n1', NULL)$q$),
('close_node_sessions', 'reason empty', '22023', $q$SELECT session.close_node_sessions('n1', '')$q$),
('close_node_sessions', 'node as a regex / LIKE pattern', '=0', $q$SELECT session.close_node_sessions('%')$q$),
('close_node_sessions', 'node injection', '=0', $q$SELECT session.close_node_sessions($$n1' OR '1'='1$$)$q$),
-- get_session_info (list)
('get_session_info', 'both NULL', 'ok', $q$SELECT * FROM session.get_session_info(NULL, NULL)$q$),
('get_session_info', 'username_regex "("', '2201B', $q$SELECT * FROM session.get_session_info('(')$q$),
('get_session_info', 'username_regex "["', '2201B', $q$SELECT * FROM session.get_session_info('[')$q$),
('get_session_info', 'username_regex "*"', '2201B', $q$SELECT * FROM session.get_session_info('*')$q$),
('get_session_info', 'username_regex "a{2,1}"', '2201B', $q$SELECT * FROM session.get_session_info('a{2,1}')$q$),
('get_session_info', 'username_regex trailing backslash', '2201B', $q$SELECT * FROM session.get_session_info(E'abc\\')$q$),
('get_session_info', 'username_regex unbalanced ")" (breaks out of the wrapper)', '2201B', $q$SELECT * FROM session.get_session_info('a)|(b')$q$),
('get_session_info', 'username_regex ")(" ', '2201B', $q$SELECT * FROM session.get_session_info('x)(?:.*')$q$),
('get_session_info', 'username_regex bad option (?z)', '2201B', $q$SELECT * FROM session.get_session_info('(?z)a')$q$),
('get_session_info', 'username_regex bad backreference', '2201B', $q$SELECT * FROM session.get_session_info('(a)\2')$q$),
('get_session_info', 'username_regex a{1000}', '2201B|ok', $q$SELECT * FROM session.get_session_info('a{1000}')$q$),
('get_session_info', 'username_regex too complex', '2201B|54001|ok', $q$SELECT * FROM session.get_session_info('((((((a{1,100}){1,100}){1,100}){1,100}){1,100}){1,100})')$q$),
('get_session_info', 'project_regex "("', '2201B', $q$SELECT * FROM session.get_session_info(NULL, '(')$q$),
('get_session_info', 'project_regex "+"', '2201B', $q$SELECT * FROM session.get_session_info('alice', '+')$q$),
('get_session_info', 'username_regex empty', '=0', $q$SELECT count(*) FROM session.get_session_info('')$q$),
('get_session_info', 'SQL injection as a regex: no rows, nothing run', '=0', $q$SELECT count(*) FROM session.get_session_info($$'; DROP TABLE session_storage.sessions; --$$)$q$),
('get_session_info', 'SQL injection as a project regex', '=0', $q$SELECT count(*) FROM session.get_session_info(NULL, $$' OR 1=1 --$$)$q$),
('get_session_info', 'whole-match: alice only', '=1', $q$SELECT count(*) FROM session.get_session_info('alice')$q$),
('get_session_info', 'literal director ***=', '=1', $q$SELECT count(*) FROM session.get_session_info('***=alice')$q$),
('get_session_info', '(?i) option', '=1', $q$SELECT count(*) FROM session.get_session_info('(?i)ALICE')$q$),
('get_session_info', '(?q) literal metacharacters', '=0', $q$SELECT count(*) FROM session.get_session_info('(?q).*')$q$),
('get_session_info', '(?x) with a trailing comment', '=1', $q$SELECT count(*) FROM session.get_session_info('(?x) a l i c e # comment')$q$),
('get_session_info', 'emoji regex', 'ok', $q$SELECT * FROM session.get_session_info(U&'\+01F469.*', U&'.\0301?')$q$),
('get_session_info', 'regex 100 kB', 'ok|2201B|54001', $q$SELECT * FROM session.get_session_info(repeat('a', 100000))$q$),
-- get_session_info (by id) and get_session_user
('get_session_info(id)', 'session_id NULL', '22004', $q$SELECT * FROM session.get_session_info(NULL::bigint)$q$),
('get_session_info(id)', 'unknown id', 'SE404', $q$SELECT * FROM session.get_session_info(9223372036854775807)$q$),
('get_session_info(id)', 'id -1', 'SE404', $q$SELECT * FROM session.get_session_info(-1)$q$),
('get_session_info(id)', 'id min bigint', 'SE404', $q$SELECT * FROM session.get_session_info(-9223372036854775808)$q$),
('get_session_info(id)', 'ended id', '=carol', $q$SELECT username FROM session.get_session_info(hid('ended'))$q$),
('get_session_user', 'session_id NULL', '22004', $q$SELECT session.get_session_user(NULL)$q$),
('get_session_user', 'unknown id', 'SE404', $q$SELECT session.get_session_user(0)$q$),
('get_session_user', 'ended id', '=carol', $q$SELECT session.get_session_user(hid('ended'))$q$),
-- user context
('set_user_context', 'username empty', '22023', $q$SELECT session.set_user_context('')$q$),
('set_user_context', 'username 257 chars', '22001', $q$SELECT session.set_user_context(repeat('u', 257))$q$),
('set_user_context', 'is_local NULL', '22004', $q$SELECT session.set_user_context('u', NULL)$q$),
('set_user_context', '256 emoji', '=true', $q$SELECT session.set_user_context(repeat(U&'\+01F600', 256)) IS NULL OR session.get_user_context() = repeat(U&'\+01F600', 256)$q$),
('set_user_context', 'injection, kept verbatim', '=true', $q$SELECT session.set_user_context($$'; RESET ALL; --$$) IS NOT NULL AND session.get_user_context() = $$'; RESET ALL; --$$$q$),
('set_user_context', 'NULL clears', '=true', $q$SELECT session.set_user_context(NULL) IS NOT NULL AND session.get_user_context() IS NULL$q$),
('set_user_context', 'forged with set_config', '42501', $q$SELECT set_config('session.user_context', 'root', false)$q$),
('set_user_context', 'forged with SET', '42501', $q$SET session.user_context = 'root'$q$),
('set_user_context', 'forged session id with SET', '42501', $q$SET session.session_id = '1'$q$),
('set_user_context', 'forged session id with set_config local', '42501', $q$SELECT set_config('session.session_id', '-1', true)$q$),
('reset_user_context', 'no context', 'ok', $q$SELECT session.reset_user_context()$q$),
('get_user_context', 'after failed forgeries', '=true', $q$SELECT session.get_user_context() IS NULL AND session.current_session_id() IS NULL$q$),
('attach_session', 'session_id NULL', '22004', $q$SELECT session.attach_session(NULL)$q$),
('attach_session', 'is_local NULL', '22004', $q$SELECT session.attach_session(hid('open'), NULL)$q$),
('attach_session', 'unknown id', 'SE404', $q$SELECT session.attach_session(9223372036854775807)$q$),
('attach_session', 'id -1', 'SE404', $q$SELECT session.attach_session(-1)$q$),
('attach_session', 'ended id', 'SE404', $q$SELECT session.attach_session(hid('ended'))$q$),
('attach_session', 'open id', '=true', $q$SELECT session.attach_session(hid('open'), true) IS NULL AND session.current_session_id() = hid('open')$q$),
-- maintenance
('expire_sessions', 'plain call', 'ok', $q$SELECT session.expire_sessions()$q$),
('purge_history', 'older_than NULL', '22004', $q$SELECT session.purge_history(NULL)$q$),
('purge_history', 'negative', '22023', $q$SELECT session.purge_history('-1 day')$q$),
('purge_history', 'negative months', '22023', $q$SELECT session.purge_history('-1 mon')$q$),
('purge_history', '100 years', '=0', $q$SELECT session.purge_history('100 years')$q$),
('purge_history', '1000000 years (before the first timestamp)', '=0|22008', $q$SELECT session.purge_history('1000000 years')$q$),
('purge_history', 'malformed interval', '22007', $q$SELECT session.purge_history('forever')$q$),
('concurrency', 'from NULL', '22004', $q$SELECT * FROM session.concurrency(NULL, now())$q$),
('concurrency', 'to NULL', '22004', $q$SELECT * FROM session.concurrency(now(), NULL)$q$),
('concurrency', 'bucket NULL', '22004', $q$SELECT * FROM session.concurrency(now() - interval '1 day', now(), NULL)$q$),
('concurrency', 'from = to', '22023', $q$SELECT * FROM session.concurrency(now(), now())$q$),
('concurrency', 'from after to', '22023', $q$SELECT * FROM session.concurrency(now(), now() - interval '1 day')$q$),
('concurrency', 'infinite range', '22023', $q$SELECT * FROM session.concurrency('-infinity', 'infinity')$q$),
('concurrency', 'bucket 0', '22023', $q$SELECT * FROM session.concurrency(now() - interval '1 day', now(), '0')$q$),
('concurrency', 'bucket negative', '22023', $q$SELECT * FROM session.concurrency(now() - interval '1 day', now(), '-1 hour')$q$),
('concurrency', 'bucket mixed signs', '22023', $q$SELECT * FROM session.concurrency(now() - interval '1 day', now(), '1 day -1 hour')$q$),
('concurrency', 'too many buckets', '22023', $q$SELECT * FROM session.concurrency(now() - interval '1 year', now(), '1 second')$q$),
('concurrency', 'bad project regex', '2201B', $q$SELECT * FROM session.concurrency(now() - interval '1 day', now(), '1 hour', '(')$q$),
('concurrency', 'end of the timestamp range', 'ok|22008', $q$SELECT * FROM session.concurrency('294276-11-01', '294276-12-31', '1 mon')$q$),
('concurrency', 'start of the timestamp range', 'ok|22008', $q$SELECT * FROM session.concurrency('4713-01-01 BC', '4713-03-01 BC', '1 mon')$q$),
('concurrency', 'plain call', 'ok', $q$SELECT * FROM session.concurrency(now() - interval '1 day', now() + interval '1 hour', '10 minutes', 'pro.*')$q$),
('backend_contexts', 'plain call', 'ok', $q$SELECT * FROM session.backend_contexts()$q$),
('views', 'active_sessions', 'ok', $q$SELECT * FROM session.active_sessions$q$),
('views', 'history', 'ok', $q$SELECT * FROM session.history$q$),
('views', 'project_usage', 'ok', $q$SELECT * FROM session.project_usage$q$),
('views', 'connections', 'ok', $q$SELECT * FROM session.connections$q$),
-- privileges: roles made by hostile.sh, holding nothing, session_reader,
-- session_app or session_admin
('privileges', 'SET ROLE hostile_nobody', 'ok', $q$SET ROLE hostile_nobody$q$),
('privileges', 'nobody: open_session', '42501', $q$SELECT session.open_session('x', 'p')$q$),
('privileges', 'nobody: heartbeat', '42501', $q$SELECT session.heartbeat(hid('open'))$q$),
('privileges', 'nobody: get_session_info()', '42501', $q$SELECT * FROM session.get_session_info()$q$),
('privileges', 'nobody: get_session_user', '42501', $q$SELECT session.get_session_user(hid('open'))$q$),
('privileges', 'nobody: set_user_context', '42501', $q$SELECT session.set_user_context('root')$q$),
('privileges', 'nobody: attach_session', '42501', $q$SELECT session.attach_session(hid('open'))$q$),
('privileges', 'nobody: set_config on the context', '42501', $q$SELECT set_config('session.user_context', 'root', false)$q$),
('privileges', 'nobody: get_user_context (PUBLIC)', 'ok', $q$SELECT session.get_user_context()$q$),
('privileges', 'nobody: current_session_id (PUBLIC)', 'ok', $q$SELECT session.current_session_id()$q$),
('privileges', 'nobody: the sessions table', '42501', $q$SELECT count(*) FROM session_storage.sessions$q$),
('privileges', 'nobody: the active_sessions view', '42501', $q$SELECT count(*) FROM session.active_sessions$q$),
('privileges', 'nobody: backend_contexts', '42501', $q$SELECT count(*) FROM session.backend_contexts()$q$),
('privileges', 'SET ROLE hostile_reader', 'ok', $q$SET ROLE hostile_reader$q$),
('privileges', 'reader: get_session_info()', 'ok', $q$SELECT * FROM session.get_session_info()$q$),
('privileges', 'reader: get_session_user', '=alice', $q$SELECT session.get_session_user(hid('open'))$q$),
('privileges', 'reader: active_sessions, history, project_usage, connections', 'ok',
 $q$SELECT (SELECT count(*) FROM session.active_sessions) + (SELECT count(*) FROM session.history) + (SELECT count(*) FROM session.project_usage) + (SELECT count(*) FROM session.connections)$q$),
('privileges', 'reader: concurrency', 'ok', $q$SELECT * FROM session.concurrency(now() - interval '1 day', now())$q$),
('privileges', 'reader: open_session', '42501', $q$SELECT session.open_session('x', 'p')$q$),
('privileges', 'reader: close_session', '42501', $q$SELECT session.close_session(hid('open2'))$q$),
('privileges', 'reader: terminate_session', '42501', $q$SELECT session.terminate_session(hid('open2'))$q$),
('privileges', 'reader: expire_sessions', '42501', $q$SELECT session.expire_sessions()$q$),
('privileges', 'reader: purge_history', '42501', $q$SELECT session.purge_history('1 day')$q$),
('privileges', 'reader: set_user_context', '42501', $q$SELECT session.set_user_context('root')$q$),
('privileges', 'reader: the sessions table', '42501', $q$SELECT count(*) FROM session_storage.sessions$q$),
('privileges', 'SET ROLE hostile_app', 'ok', $q$SET ROLE hostile_app$q$),
('privileges', 'app: open_session + heartbeat + close_session', '=true',
 $q$SELECT session.heartbeat(id, 5, ARRAY['x']) AND session.close_session(id, 'app') FROM (SELECT session.open_session('app', 'p') AS id) s$q$),
('privileges', 'app: open + close clientless', '=true', $q$SELECT session.close_clientless_session(session.open_clientless_session('app'))$q$),
('privileges', 'app: set_session_user', 'ok', $q$SELECT session.set_session_user(hid('open2'), 'bob')$q$),
('privileges', 'app: set_user_context, attach_session, reset', 'ok',
 $q$SELECT session.set_user_context('app'), session.attach_session(hid('open'), true), session.reset_user_context()$q$),
('privileges', 'app: get_session_info()', '42501', $q$SELECT * FROM session.get_session_info()$q$),
('privileges', 'app: terminate_session', '42501', $q$SELECT session.terminate_session(hid('open2'))$q$),
('privileges', 'app: close_node_sessions (a node closes its own)', 'ok', $q$SELECT session.close_node_sessions('no-such-node')$q$),
('privileges', 'app: expire_sessions', '42501', $q$SELECT session.expire_sessions()$q$),
('privileges', 'app: purge_history', '42501', $q$SELECT session.purge_history('1 day')$q$),
('privileges', 'app: writing the table directly', '42501', $q$UPDATE session_storage.sessions SET username = 'x'$q$),
('privileges', 'app: forging the context with SET', '42501', $q$SET session.user_context = 'root'$q$),
('privileges', 'SET ROLE hostile_admin', 'ok', $q$SET ROLE hostile_admin$q$),
('privileges', 'admin: terminate_session', '=true', $q$SELECT session.terminate_session(session.open_session('adm', 'p'))$q$),
('privileges', 'admin: expire_sessions, purge_history, close_node_sessions', 'ok',
 $q$SELECT session.expire_sessions(), session.purge_history('100 years'), session.close_node_sessions('no-such-node')$q$),
('privileges', 'admin: get_session_info() (reader)', 'ok', $q$SELECT * FROM session.get_session_info()$q$),
('privileges', 'admin: deleting history directly', '42501', $q$DELETE FROM session_storage.ended_sessions$q$),
('privileges', 'RESET ROLE', 'ok', $q$RESET ROLE$q$);

-- Regular expressions that take long: cancelled by statement_timeout (57014),
-- or answered quickly by PostgreSQL's engine.  Run after the load below.
CREATE TABLE hostile_slow_cases (LIKE hostile_cases INCLUDING DEFAULTS);
INSERT INTO hostile_slow_cases (fn, input, expect, sql, timeout) VALUES
('get_session_info', 'catastrophic backreferences (a*)(a*)(a*)\3\2\1b, 200 rows', '57014',
 $q$SELECT count(*) FROM session.get_session_info('(a*)(a*)(a*)\3\2\1b')$q$, true),
('get_session_info', 'catastrophic backreferences as project_regex', '57014',
 $q$SELECT count(*) FROM session.get_session_info(NULL, '(a*)(a*)(a*)\3\2\1b')$q$, true),
('get_session_info', '(a*)*b over 20000 rows', 'ok|57014',
 $q$SELECT count(*) FROM session.get_session_info('(a*)*b')$q$, true),
('get_session_info', '(x+x+)+y over 20000 rows', 'ok|57014',
 $q$SELECT count(*) FROM session.get_session_info('(x+x+)+y')$q$, true),
('get_session_info', '(.*a){12}b over 20000 rows', 'ok|57014',
 $q$SELECT count(*) FROM session.get_session_info('(.*a){12}b')$q$, true),
('concurrency', 'catastrophic project_regex', '57014',
 $q$SELECT count(*) FROM session.concurrency(now() - interval '1 day', now() + interval '1 hour', '1 hour', '(a*)(a*)(a*)\3\2\1b')$q$, true),
('get_session_info', 'server still answers after the cancellations', '=1',
 $q$SELECT count(*) FROM session.get_session_info('alice')$q$, false);
