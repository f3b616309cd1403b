-- issue 12: one heartbeat (raw), an UPDATE of a random session among the first :nwal
\set id random(1, :nwal)
UPDATE raw.sessions SET last_comm = greatest(last_comm, now()), recent_bytes_sent = 100, total_bytes_sent = total_bytes_sent + 100 WHERE id = :id::bigint AND end_time IS NULL;
