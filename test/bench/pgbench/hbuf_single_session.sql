-- issue 12: one heartbeat of a random active session (buffered in shared memory)
\set id random(:afirst, :alast)
SELECT session.heartbeat(:id::bigint, 100);
