\set u random(1, :users)
SELECT * FROM naive.get_session_info('user' || :u::int);
