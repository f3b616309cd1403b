-- issue 12: one call heartbeats :batch active sessions (from the first one)
SELECT session.heartbeat(ARRAY(SELECT generate_series(:afirst::bigint, :afirst::bigint + :batch - 1)), array_fill(100::bigint, ARRAY[:batch::int]));
