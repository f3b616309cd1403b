-- one heartbeat of a random session among "nheap", with its open pages
\set id random(1, :nheap)
\set p random(1, 50)
SELECT session.heartbeat(:id::bigint, 100, ARRAY['/main', '/page/' || :p::int]);
