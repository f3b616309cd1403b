-- lifecycle (naive), open, heartbeat twice, close the session this loop opened
\set u random(1, :users)
SELECT naive.open_session('user' || :u::int, 'project' || (:u::int % 10), '10.20.30.40', 'browser', 'client-bench', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', 'node1') AS id \gset
SELECT naive.heartbeat(:id::bigint, 1024, '{/main,/page/1}');
SELECT naive.heartbeat(:id::bigint, 2048);
SELECT naive.close_session(:id::bigint, 'logout');
