-- literal-prefix regex, 'userNN.*' with NN from 10 to 99 (1.1% of the users)
\set p random(10, 99)
SELECT * FROM naive.get_session_info('user' || :p::int || '.*');
