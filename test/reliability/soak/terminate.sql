-- terminate a recent open session
\set k random(0, 400)
SELECT session.terminate_session(id) FROM session_storage.sessions
WHERE id >= (SELECT last_value - :k FROM session_storage.sessions_id_seq) ORDER BY id LIMIT 1;
