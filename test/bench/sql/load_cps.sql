-- connect-pg-simple rows: sid a 32-character random string, sess the
-- express-session JSON (cookie + the application's facts), expire 30 minutes
-- after the last request.
INSERT INTO "session" (sid, sess, expire)
SELECT md5('s' || g.i),
	json_build_object('cookie', json_build_object('originalMaxAge', 1800000,
			'expires', to_char((g.last_comm + interval '30 minutes') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
			'secure', false, 'httpOnly', true, 'path', '/'),
		'user', g.username, 'project', g.project, 'address', g.address,
		'scope', g.scope, 'clientId', g.client_id, 'userAgent', g.user_agent,
		'node', g.node, 'startTime', g.start_time, 'pageIds', g.page_ids,
		'recentBytesSent', g.recent_bytes, 'totalBytesSent', g.total_bytes),
	g.last_comm + interval '30 minutes'
FROM bench_gen(:first, :last, :users, :age) g;
