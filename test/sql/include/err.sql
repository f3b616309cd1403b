-- pg_temp.err(stmt): the error a statement raises, with its parts ('no error' as
-- state when it raises none), for the files that check messages.
-- Include with "\i test/sql/include/err.sql": pg_regress feeds a test file to psql on
-- standard input, so paths resolve against the working directory, the tree's root
-- (\ir resolves the same way there and cannot name the file's own folder).
CREATE FUNCTION pg_temp.err(stmt text, OUT state text, OUT message text, OUT detail text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
	state := 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
		detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
END
$$;
