-- lifecycle as lifecycle_session.sql, without page_ids in the first heartbeat: what
-- the lifecycle would cost if page_ids were buffered too (both heartbeats buffered)
\set u random(1, :users)
SELECT session.open_session('user' || :u::int, 'project' || (:u::int % 10), '10.20.30.40', 'browser', 'client-bench', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', 'node1') AS id \gset
SELECT session.heartbeat(:id::bigint, 1024);
SELECT session.heartbeat(:id::bigint, 2048);
SELECT session.close_session(:id::bigint, 'logout');
