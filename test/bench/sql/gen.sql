-- The facts of bulk-loaded sessions, the same for every system: session i
-- belongs to user 1 + (i - 1) % users ('user1' .. 'userU', as many sessions
-- per user), and was last heard from age_s seconds ago (plus up to 5 min).
-- Loaded into public of every benchmark database; STABLE SQL so it inlines.

CREATE FUNCTION bench_gen(first bigint, last bigint, users integer, age_s integer DEFAULT 0)
RETURNS TABLE (i bigint, username text, project text, address inet, scope text,
			   client_id text, user_agent text, node text, start_time timestamptz,
			   last_comm timestamptz, page_ids text[], recent_bytes bigint,
			   total_bytes bigint)
LANGUAGE sql STABLE AS $$
	SELECT g.i,
		   'user' || (1 + (g.i - 1) % users),
		   'project' || (g.i % 10),
		   ('10.' || ((g.i >> 16) & 255) || '.' || ((g.i >> 8) & 255) || '.' || (g.i & 255))::inet,
		   CASE WHEN g.i % 50 = 0 THEN 'designer' ELSE 'browser' END,
		   'client-' || g.i,
		   'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
		   'node' || (g.i % 4),
		   now() - make_interval(secs => age_s + 300 + g.i % 28800),
		   now() - make_interval(secs => age_s + g.i % 300),
		   ARRAY['/main', '/page/' || (g.i % 50)],
		   g.i % 4096,
		   (g.i % 4096) * 100
	FROM generate_series(first, last) AS g(i)
$$;
