-- heartbeats of the active sessions while expire_sessions() ends the idle ones
\set id random(:afirst, :alast)
SELECT session.heartbeat(:id::bigint, 100);
