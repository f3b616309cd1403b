-- Spring Session rows: ids are UUID strings (derived from i so the attribute
-- rows can find their session), times in epoch ms, a 30-minute
-- MAX_INACTIVE_INTERVAL, and one attribute row holding the other facts
-- (Spring keeps application data serialized in ATTRIBUTE_BYTES).
INSERT INTO SPRING_SESSION (PRIMARY_ID, SESSION_ID, CREATION_TIME, LAST_ACCESS_TIME,
	MAX_INACTIVE_INTERVAL, EXPIRY_TIME, PRINCIPAL_NAME)
SELECT md5('p' || g.i)::uuid::text, md5('s' || g.i)::uuid::text,
	(date_part('epoch', g.start_time) * 1000)::bigint,
	(date_part('epoch', g.last_comm) * 1000)::bigint, 1800,
	(date_part('epoch', g.last_comm) * 1000)::bigint + 1800000, g.username
FROM bench_gen(:first, :last, :users, :age) g;
INSERT INTO SPRING_SESSION_ATTRIBUTES (SESSION_PRIMARY_ID, ATTRIBUTE_NAME, ATTRIBUTE_BYTES)
SELECT md5('p' || g.i)::uuid::text, 'SESSION_INFO',
	convert_to(json_build_object('project', g.project, 'address', g.address,
		'scope', g.scope, 'clientId', g.client_id, 'userAgent', g.user_agent,
		'node', g.node, 'pageIds', g.page_ids, 'recentBytesSent', g.recent_bytes,
		'totalBytesSent', g.total_bytes)::text, 'UTF8')
FROM bench_gen(:first, :last, :users, :age) g;
