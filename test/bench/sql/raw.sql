-- raw: the fewest plain SQL statements that record the same facts, no
-- functions: the limit.  One table (end_time IS NULL while open), an INSERT
-- to open, an UPDATE per heartbeat, an UPDATE to close (../pgbench/*_raw.sql).
-- Listing is a plain indexed SELECT (by exact username, or by the range of a
-- literal prefix).  The table gets what makes session_storage.sessions fast
-- (fillfactor 70 for heap-only updates, username COLLATE "C" for prefix
-- ranges) and only the indexes these statements need (id, username), so the
-- comparison measures the statements.

CREATE SCHEMA raw;

CREATE TABLE raw.sessions (
	id bigserial PRIMARY KEY,
	uuid uuid NOT NULL,
	username text COLLATE "C" NOT NULL,
	authenticated boolean NOT NULL,
	project text,
	address inet,
	scope text NOT NULL,
	client_id text,
	user_agent text,
	node text,
	start_time timestamptz NOT NULL,
	last_comm timestamptz NOT NULL,
	page_ids text[] NOT NULL DEFAULT '{}',
	recent_bytes_sent bigint NOT NULL DEFAULT 0,
	total_bytes_sent bigint NOT NULL DEFAULT 0,
	attributes jsonb,
	end_time timestamptz,
	end_reason text
) WITH (fillfactor = 70);

CREATE INDEX ON raw.sessions (username);
