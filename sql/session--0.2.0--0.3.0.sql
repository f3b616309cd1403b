/* session: upgrade from 0.2.0 to 0.3.0 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "ALTER EXTENSION session UPDATE TO '0.3.0'" to load this file. \quit

-------------------------------------------------------------------------------
-- session.history describes ended rows: last_comm_ms runs to end_time (as
-- uptime_ms does), and the column comments speak of the end, not of now
-------------------------------------------------------------------------------

CREATE OR REPLACE VIEW session.history AS
	SELECT e.id, e.uuid, e.username COLLATE "default" AS username, e.authenticated, e.project,
		   e.address, e.scope, e.scope = 'designer' AS is_designer, e.client_id,
		   e.user_agent, e.node, e.start_time, e.last_comm,
		   GREATEST(session.elapsed_ms(e.start_time, e.end_time), 0) AS uptime_ms,
		   GREATEST(session.elapsed_ms(e.last_comm, e.end_time), 0) AS last_comm_ms,
		   pg_catalog.cardinality(e.page_ids) AS active_pages, e.page_ids,
		   e.recent_bytes_sent, e.total_bytes_sent, e.attributes, e.end_time,
		   e.end_reason, e.end_time - e.start_time AS duration
	FROM session_storage.ended_sessions e;

COMMENT ON COLUMN session.session_info.last_comm_ms IS 'Milliseconds since last_comm (to end_time once ended)';
COMMENT ON COLUMN session.active_sessions.last_comm_ms IS 'Milliseconds since last_comm (to end_time once ended)';
COMMENT ON COLUMN session.session_info.page_ids IS 'Pages open now (when it ended, for an ended session)';
COMMENT ON COLUMN session.active_sessions.page_ids IS 'Pages open now (when it ended, for an ended session)';

COMMENT ON COLUMN session.history.username IS 'The user when the session ended; ''Unauthenticated'' if nobody was logged in';
COMMENT ON COLUMN session.history.authenticated IS 'False if nobody was logged in when the session ended';
COMMENT ON COLUMN session.history.node IS 'The application node that owned the session';
COMMENT ON COLUMN session.history.last_comm IS 'Last communication before the end';
COMMENT ON COLUMN session.history.uptime_ms IS 'Milliseconds from start_time to end_time';
COMMENT ON COLUMN session.history.last_comm_ms IS 'Milliseconds from last_comm to end_time';
COMMENT ON COLUMN session.history.active_pages IS 'Number of page_ids open when the session ended';
COMMENT ON COLUMN session.history.page_ids IS 'Pages open when the session ended';
COMMENT ON COLUMN session.history.recent_bytes_sent IS 'Bytes reported by the last heartbeat';
COMMENT ON COLUMN session.history.end_time IS 'When the session ended';
COMMENT ON COLUMN session.history.end_reason IS 'logout, timeout, max_lifetime, terminated, node_shutdown, closed, evicted, or the caller''s own word';
