-- listings: a user, a prefix, a project regex, the views
\set u random(1, 500)
\set p random(0, 7)
SELECT count(*) FROM session.get_session_info('u' || :u);
SELECT count(*) FROM session.get_session_info('u' || :u || '.*', NULL);
SELECT count(*) FROM session.get_session_info(NULL, 'proj[0-' || :p || ']');
SELECT count(*) FROM session.active_sessions;
SELECT count(*) FROM session.project_usage;
