-- batched heartbeat of up to 100 recent ids, in random order, with duplicates
\set n random(1, 100)
SELECT session.heartbeat(ARRAY(SELECT s.last_value - (g % 60) FROM session_storage.sessions_id_seq s,
	generate_series(0, :n) g ORDER BY random()));
