\set u random(1, :users)
SELECT * FROM session.get_session_info('user' || :u::int);
