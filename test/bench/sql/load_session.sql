-- Open sessions straight into session_storage.sessions (ids :first .. :last).
INSERT INTO session_storage.sessions (id, uuid, username, authenticated, project, address,
	scope, client_id, user_agent, node, start_time, last_comm, page_ids,
	recent_bytes_sent, total_bytes_sent, attributes)
SELECT g.i, gen_random_uuid(), g.username, true, g.project, g.address, g.scope,
	g.client_id, g.user_agent, g.node, g.start_time, g.last_comm, g.page_ids,
	g.recent_bytes, g.total_bytes, NULL
FROM bench_gen(:first, :last, :users, :age) g;
SELECT setval('session_storage.sessions_id_seq', greatest(:last, (SELECT last_value FROM session_storage.sessions_id_seq)));
