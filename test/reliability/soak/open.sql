-- open a session (a tenth unauthenticated) of one of 500 users
\set u random(1, 500)
\set p random(0, 7)
\set s random(1, 5)
\set n random(0, 9)
SELECT session.open_session(CASE WHEN :u % 10 = 0 THEN NULL ELSE 'u' || :u END, 'proj' || :p,
	('10.0.' || :p || '.' || :n)::inet, (ARRAY['browser', 'designer', 'ios', 'android', 'client'])[:s],
	client_id => 'c' || :u, user_agent => 'pgbench', node => 'n' || :n,
	attributes => jsonb_build_object('u', :u));
