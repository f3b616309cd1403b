-- close a recent open session (false if someone else ended it first)
\set k random(0, 400)
SELECT session.close_session(id, 'soak') FROM session_storage.sessions
WHERE id >= (SELECT last_value - :k FROM session_storage.sessions_id_seq) ORDER BY id LIMIT 1;
