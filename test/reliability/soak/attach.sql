-- attach to a recent open session for one transaction
\set k random(0, 400)
BEGIN;
WITH s AS (SELECT id FROM session_storage.sessions
		   WHERE id >= (SELECT last_value - :k FROM session_storage.sessions_id_seq)
		   ORDER BY id LIMIT 1 FOR KEY SHARE)
SELECT session.attach_session(s.id, true) FROM s;
SELECT session.get_user_context(), session.current_session_id();
COMMIT;
