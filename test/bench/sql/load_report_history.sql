-- Ended sessions straight into session_storage.ended_sessions (ids :first .. :last of
-- :total), ended over the :days days (UTC) before today, lasting from 1 minute to
-- 4 hours, each with its login (partitions made first by
-- session_storage.create_history_partition). Ids rise with end_time, so each
-- partition's heap is in end_time order: the order in which the registry appends
-- history rows as sessions close or expire.
INSERT INTO session_storage.ended_sessions (id, uuid, username, authenticated, project, address,
	scope, client_id, user_agent, node, start_time, last_comm, page_ids,
	recent_bytes_sent, total_bytes_sent, attributes, end_time, end_reason, login_times, login_users)
SELECT g.i, gen_random_uuid(), g.username, true, g.project, g.address, g.scope,
	g.client_id, g.user_agent, g.node, e.end_time - make_interval(secs => 60 + (g.i * 31) % 14400),
	e.end_time - make_interval(secs => g.i % 60), g.page_ids,
	g.recent_bytes, g.total_bytes, NULL, e.end_time,
	CASE WHEN g.i % 3 = 0 THEN 'timeout' ELSE 'logout' END,
	ARRAY[e.end_time - make_interval(secs => 60 + (g.i * 31) % 14400)], ARRAY[g.username::text]
FROM bench_gen(:first, :last, :users) g,
	LATERAL (SELECT date_trunc('day', now(), 'UTC') - make_interval(days => :days)
			 + make_interval(secs => (g.i - 1) * (86400.0 * :days / :total)) AS end_time) e;
