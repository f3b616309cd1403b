-- a clientless session: open, use, close
\set u random(1, 500)
BEGIN;
SELECT session.open_clientless_session('svc' || :u, 'proj1', 'n1') AS cid \gset
SELECT session.heartbeat(:cid);
SELECT session.set_user_context('svc' || :u, true);
SELECT session.close_clientless_session(:cid);
COMMIT;
