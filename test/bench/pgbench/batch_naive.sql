-- batched heartbeats (naive), the hand-written registry has no batch call, so one statement calls its heartbeat per id
\set b random(0, :nblocks - 1)
SELECT count(*) FILTER (WHERE naive.heartbeat(i, 100)) FROM generate_series(:b::bigint * :batch + 1, :b::bigint * :batch + :batch) AS i;
