-- naive: the session registry a user writes by hand.  One table for open and
-- ended sessions (end_time IS NULL while open), PL/pgSQL functions with the
-- same signatures as the extension's, and listing by a regular expression in
-- a SQL query.  It gets what a careful hand-written version gets (a primary
-- key, an index on username, whole-value regex matching) and nothing more.

CREATE SCHEMA naive;

CREATE TABLE naive.sessions (
	id bigserial PRIMARY KEY,
	uuid uuid NOT NULL DEFAULT gen_random_uuid(),
	username text NOT NULL,
	authenticated boolean NOT NULL,
	project text,
	address inet,
	scope text NOT NULL,
	client_id text,
	user_agent text,
	node text,
	start_time timestamptz NOT NULL DEFAULT now(),
	last_comm timestamptz NOT NULL DEFAULT now(),
	page_ids text[] NOT NULL DEFAULT '{}',
	recent_bytes_sent bigint NOT NULL DEFAULT 0,
	total_bytes_sent bigint NOT NULL DEFAULT 0,
	attributes jsonb,
	end_time timestamptz,
	end_reason text
);

CREATE INDEX ON naive.sessions (username);

CREATE TYPE naive.session_info AS (
	id bigint, uuid uuid, username text, authenticated boolean, project text,
	address inet, scope text, is_designer boolean, client_id text,
	user_agent text, node text, start_time timestamptz, last_comm timestamptz,
	uptime_ms bigint, last_comm_ms bigint, active_pages integer, page_ids text[],
	recent_bytes_sent bigint, total_bytes_sent bigint, attributes jsonb,
	end_time timestamptz, end_reason text
);

CREATE FUNCTION naive.open_session(p_username text, p_project text,
		p_address inet DEFAULT NULL, p_scope text DEFAULT 'browser',
		p_client_id text DEFAULT NULL, p_user_agent text DEFAULT NULL,
		p_node text DEFAULT NULL, p_attributes jsonb DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	v_id bigint;
BEGIN
	IF p_scope NOT IN ('browser', 'designer', 'ios', 'android', 'client', 'clientless') THEN
		RAISE EXCEPTION 'unknown scope "%"', p_scope USING ERRCODE = '22023';
	END IF;
	INSERT INTO naive.sessions (username, authenticated, project, address, scope,
			client_id, user_agent, node, attributes)
	VALUES (coalesce(p_username, 'Unauthenticated'), p_username IS NOT NULL, p_project,
			p_address, p_scope, p_client_id, p_user_agent, p_node, p_attributes)
	RETURNING id INTO v_id;
	RETURN v_id;
END
$$;

CREATE FUNCTION naive.heartbeat(p_id bigint, p_bytes bigint DEFAULT 0,
		p_page_ids text[] DEFAULT NULL)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	UPDATE naive.sessions
	SET last_comm = greatest(last_comm, now()),
		recent_bytes_sent = p_bytes,
		total_bytes_sent = total_bytes_sent + p_bytes,
		page_ids = coalesce(p_page_ids, page_ids)
	WHERE id = p_id AND end_time IS NULL;
	RETURN FOUND;
END
$$;

CREATE FUNCTION naive.close_session(p_id bigint, p_reason text DEFAULT 'logout')
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	UPDATE naive.sessions SET end_time = now(), end_reason = p_reason
	WHERE id = p_id AND end_time IS NULL;
	IF FOUND THEN
		RETURN true;
	END IF;
	IF NOT EXISTS (SELECT FROM naive.sessions WHERE id = p_id) THEN
		RAISE EXCEPTION 'session % not found', p_id USING ERRCODE = 'SE404';
	END IF;
	RETURN false;
END
$$;

CREATE FUNCTION naive.get_session_info(username_regex text DEFAULT NULL,
		project_regex text DEFAULT NULL)
RETURNS SETOF naive.session_info LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN QUERY
	SELECT s.id, s.uuid, s.username, s.authenticated, s.project, s.address,
		s.scope, s.scope = 'designer', s.client_id, s.user_agent, s.node,
		s.start_time, s.last_comm,
		(extract(epoch FROM now() - s.start_time) * 1000)::bigint,
		(extract(epoch FROM now() - s.last_comm) * 1000)::bigint,
		cardinality(s.page_ids), s.page_ids, s.recent_bytes_sent,
		s.total_bytes_sent, s.attributes, s.end_time, s.end_reason
	FROM naive.sessions s
	WHERE s.end_time IS NULL
	  AND (username_regex IS NULL OR s.username ~ ('^(?:' || username_regex || ')$'))
	  AND (project_regex IS NULL OR s.project ~ ('^(?:' || project_regex || ')$'))
	ORDER BY s.start_time, s.id;
END
$$;

-- what an administrator's cron job would run
CREATE FUNCTION naive.expire_sessions(p_idle interval DEFAULT '30 minutes')
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	UPDATE naive.sessions SET end_time = now(), end_reason = 'timeout'
	WHERE end_time IS NULL AND last_comm < now() - p_idle;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
