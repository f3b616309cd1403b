-- apply the timeouts (session.idle_timeout is 1s in the soak)
SELECT session.expire_sessions();
