-- unanchorable regex, '.*NN' with NN from 10 to 99 (1% of the users)
\set d random(10, 99)
SELECT * FROM naive.get_session_info('.*' || :d::int);
