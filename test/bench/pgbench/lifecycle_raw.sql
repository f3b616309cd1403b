-- lifecycle (raw), INSERT, UPDATE per heartbeat, UPDATE to close
\set u random(1, :users)
INSERT INTO raw.sessions (uuid, username, authenticated, project, address, scope, client_id, user_agent, node, start_time, last_comm) VALUES (gen_random_uuid(), 'user' || :u::int, true, 'project' || (:u::int % 10), '10.20.30.40', 'browser', 'client-bench', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', 'node1', now(), now()) RETURNING id \gset
UPDATE raw.sessions SET last_comm = greatest(last_comm, now()), recent_bytes_sent = 1024, total_bytes_sent = total_bytes_sent + 1024, page_ids = '{/main,/page/1}' WHERE id = :id::bigint AND end_time IS NULL;
UPDATE raw.sessions SET last_comm = greatest(last_comm, now()), recent_bytes_sent = 2048, total_bytes_sent = total_bytes_sent + 2048 WHERE id = :id::bigint AND end_time IS NULL;
UPDATE raw.sessions SET end_time = now(), end_reason = 'logout' WHERE id = :id::bigint AND end_time IS NULL;
