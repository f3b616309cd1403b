-- What must be the same after a dump of this database is restored elsewhere,
-- one line per item: every table and partition of the storage schema (row
-- count and a checksum of its rows), every sequence there (its position), and
-- what the reporting views and functions show. Columns that depend on the
-- clock of the query (uptime_ms, last_comm_ms, duration) are left out.
\set ON_ERROR_STOP on
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET extra_float_digits = 1;
\pset format unaligned
\pset tuples_only on
\pset fieldsep ' '

SELECT pg_catalog.format(
	'SELECT %L, count(*), md5(coalesce(string_agg(t::text, E''\n'' ORDER BY t::text), '''')) FROM %s t',
	'table ' || c.relname, c.oid::regclass)
FROM pg_catalog.pg_class c
	JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'session_storage' AND c.relkind IN ('r', 'p')
ORDER BY c.relname
\gexec

SELECT pg_catalog.format('SELECT %L, last_value, is_called FROM %s',
	'sequence ' || c.relname, c.oid::regclass)
FROM pg_catalog.pg_class c
	JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'session_storage' AND c.relkind = 'S'
ORDER BY c.relname
\gexec

SELECT 'open sessions', count(*),
	md5(coalesce(string_agg(concat_ws('|', id, uuid, username, authenticated, project, address,
		scope, client_id, user_agent, node, start_time, last_comm, active_pages, page_ids,
		recent_bytes_sent, total_bytes_sent, attributes), E'\n' ORDER BY id), ''))
FROM session.get_session_info();

SELECT 'history', count(*),
	md5(coalesce(string_agg(concat_ws('|', id, uuid, username, project, scope, start_time,
		end_time, end_reason, total_bytes_sent), E'\n' ORDER BY id), ''))
FROM session.history;

SELECT 'project usage', count(*), md5(coalesce(string_agg(p::text, E'\n' ORDER BY project), ''))
FROM session.project_usage p;
