-- batched heartbeats, one call heartbeats "batch" consecutive open sessions
\set b random(0, :nblocks - 1)
SELECT session.heartbeat(ARRAY(SELECT generate_series(:b::bigint * :batch + 1, :b::bigint * :batch + :batch)), array_fill(100::bigint, ARRAY[:batch::int]));
