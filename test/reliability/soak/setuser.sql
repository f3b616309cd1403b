-- log a user in or out of a recent open session (locked first, so it is still open)
\set k random(0, 400)
\set u random(1, 500)
WITH s AS (SELECT id FROM session_storage.sessions
		   WHERE id >= (SELECT last_value - :k FROM session_storage.sessions_id_seq)
		   ORDER BY id LIMIT 1 FOR UPDATE)
SELECT session.set_session_user(s.id, CASE WHEN :u % 4 = 0 THEN NULL ELSE 'u' || :u END) FROM s;
