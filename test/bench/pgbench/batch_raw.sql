-- batched heartbeats (raw), one UPDATE ... FROM unnest of the same arrays
\set b random(0, :nblocks - 1)
UPDATE raw.sessions s SET last_comm = greatest(s.last_comm, now()), recent_bytes_sent = u.b, total_bytes_sent = s.total_bytes_sent + u.b FROM unnest(ARRAY(SELECT generate_series(:b::bigint * :batch + 1, :b::bigint * :batch + :batch)), array_fill(100::bigint, ARRAY[:batch::int])) AS u(id, b) WHERE s.id = u.id AND s.end_time IS NULL;
