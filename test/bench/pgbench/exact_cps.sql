-- a user's sessions (connect-pg-simple), it has no such query, so the user is read out of the JSON
\set u random(1, :users)
SELECT sid, sess, expire FROM "session" WHERE sess ->> 'user' = 'user' || :u::int AND expire >= now();
