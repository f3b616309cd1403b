-- one session by id and its user
\set k random(0, 400)
SELECT (session.get_session_info(id)).end_reason, session.get_session_user(id)
FROM session_storage.sessions WHERE id >= (SELECT last_value - :k FROM session_storage.sessions_id_seq)
ORDER BY id LIMIT 1;
SELECT (session.get_session_info(id)).end_reason
FROM session_storage.ended_sessions WHERE id >= (SELECT last_value - :k FROM session_storage.sessions_id_seq)
ORDER BY id LIMIT 1;
