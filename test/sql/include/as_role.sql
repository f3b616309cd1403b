-- pg_temp.as_role(r, q): runs q as role r and returns its single result as text
-- (errors propagate), for the files that switch roles.
-- Include with "\i test/sql/include/as_role.sql" (see err.sql for why \i).
CREATE FUNCTION pg_temp.as_role(r name, q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	result text;
BEGIN
	EXECUTE format('SET LOCAL ROLE %I', r);
	EXECUTE q INTO result;
	RESET ROLE;
	RETURN result;
END
$$;
