-- literal-prefix regex, counted on the server (no rows sent to the client)
\set p random(10, 99)
SELECT count(*) FROM session.get_session_info('user' || :p::int || '.*');
