-- issue 12: the protocol's limit, one round trip that does nothing
SELECT 1;
