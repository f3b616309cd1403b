-- lifecycle (Spring Session JDBC), the statements JdbcIndexedSessionRepository
-- issues.  New session, INSERT of the session and of its attributes in one
-- transaction; each request, UPDATE of LAST_ACCESS_TIME / EXPIRY_TIME; logout,
-- DELETE (attributes by ON DELETE CASCADE).  Not emulated, in Spring's favour,
-- the SELECT that loads the session at the start of every request.
\set u random(1, :users)
BEGIN;
INSERT INTO SPRING_SESSION (PRIMARY_ID, SESSION_ID, CREATION_TIME, LAST_ACCESS_TIME, MAX_INACTIVE_INTERVAL, EXPIRY_TIME, PRINCIPAL_NAME) VALUES (gen_random_uuid()::text, gen_random_uuid()::text, (date_part('epoch', now()) * 1000)::bigint, (date_part('epoch', now()) * 1000)::bigint, 1800, (date_part('epoch', now()) * 1000)::bigint + 1800000, 'user' || :u::int) RETURNING PRIMARY_ID AS pid, SESSION_ID AS sid \gset
INSERT INTO SPRING_SESSION_ATTRIBUTES (SESSION_PRIMARY_ID, ATTRIBUTE_NAME, ATTRIBUTE_BYTES) VALUES (:pid, 'SESSION_INFO', convert_to('{"project": "project' || (:u::int % 10) || '", "address": "10.20.30.40", "scope": "browser", "clientId": "client-bench", "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "node": "node1", "pageIds": ["/main", "/page/1"]}', 'UTF8'));
COMMIT;
UPDATE SPRING_SESSION SET LAST_ACCESS_TIME = (date_part('epoch', now()) * 1000)::bigint, MAX_INACTIVE_INTERVAL = 1800, EXPIRY_TIME = (date_part('epoch', now()) * 1000)::bigint + 1800000, PRINCIPAL_NAME = 'user' || :u::int WHERE PRIMARY_ID = :pid;
UPDATE SPRING_SESSION SET LAST_ACCESS_TIME = (date_part('epoch', now()) * 1000)::bigint, MAX_INACTIVE_INTERVAL = 1800, EXPIRY_TIME = (date_part('epoch', now()) * 1000)::bigint + 1800000, PRINCIPAL_NAME = 'user' || :u::int WHERE PRIMARY_ID = :pid;
DELETE FROM SPRING_SESSION WHERE SESSION_ID = :sid AND MAX_INACTIVE_INTERVAL >= 0;
