-- issue 12: one heartbeat of a random active session that resends the pages it has
-- open (unchanged after its first heartbeat: bytes buffered, the row not written)
\set id random(:afirst, :alast)
SELECT session.heartbeat(:id::bigint, 100, '{/main,/page/1}');
