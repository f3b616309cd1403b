-- heartbeat one of the 400 newest ids (false when it has ended)
\set k random(0, 400)
\set b random(0, 100000)
\set pg random(0, 4)
SELECT session.heartbeat(last_value - :k, :b,
	CASE WHEN :pg = 0 THEN ARRAY['home', 'page' || :k] END)
FROM session_storage.sessions_id_seq;
