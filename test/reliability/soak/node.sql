-- now and then a node restarts: end its sessions
\set n random(0, 9)
\set r random(1, 25)
\if :r = 1
SELECT session.close_node_sessions('n' || :n);
\else
SELECT 1;
\endif
