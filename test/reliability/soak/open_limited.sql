-- open under a limit of 2 sessions per user, evicting the oldest
\set u random(1, 500)
SET session.max_sessions_per_user = 2;
SET session.limit_policy = 'evict_oldest';
SELECT session.open_session('u' || :u, 'proj0', scope => 'browser', node => 'n0');
RESET session.max_sessions_per_user;
