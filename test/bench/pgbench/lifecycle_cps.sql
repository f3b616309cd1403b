-- lifecycle (connect-pg-simple), set = upsert of the whole session, touch =
-- UPDATE of expire on each request, destroy = DELETE.  Not emulated, in its
-- favour, the SELECT (get) that loads the session at the start of every request.
\set u random(1, :users)
INSERT INTO "session" (sess, expire, sid) SELECT ('{"cookie": {"originalMaxAge": 1800000, "expires": ' || to_json(now() + interval '30 minutes')::text || ', "secure": false, "httpOnly": true, "path": "/"}, "user": "user' || :u::int || '", "project": "project' || (:u::int % 10) || '", "address": "10.20.30.40", "scope": "browser", "clientId": "client-bench", "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "node": "node1", "pageIds": ["/main", "/page/1"]}')::json, to_timestamp(date_part('epoch', now()) + 1800), md5(random()::text) ON CONFLICT (sid) DO UPDATE SET sess = EXCLUDED.sess, expire = EXCLUDED.expire RETURNING sid \gset
UPDATE "session" SET expire = to_timestamp(date_part('epoch', now()) + 1800) WHERE sid = :sid RETURNING sid;
UPDATE "session" SET expire = to_timestamp(date_part('epoch', now()) + 1800) WHERE sid = :sid RETURNING sid;
DELETE FROM "session" WHERE sid = :sid;
