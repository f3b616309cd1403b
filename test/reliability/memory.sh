#!/usr/bin/env bash
# Memory: within one backend, calls each function MEMORY_CALLS times
# (default 10000; a tenth to a five-hundredth for the slow ones) in a
# PL/pgSQL loop, and lists MEMORY_LIST_ROWS open
# sessions (default 100000) with get_session_info(), and compares the
# backend's memory (the sum of total_bytes of pg_backend_memory_contexts)
# before and after each, and inside each loop between its first tenth and its
# end (each call is its own transaction: a procedure commits after each;
# PL/pgSQL's own context grows a little per committed write, so the growth of
# a baseline loop without the extension is subtracted).  Every growth must
# stay under MEMORY_TOLERANCE_KB (default 1024).
# The listing runs in a fresh backend.  Also prints each backend's anonymous
# resident memory (RssAnon, from /proc) at its start, its peak and its end.
# Then the background worker's memory under flushes (worker_memory below).
set -uo pipefail
# shellcheck source=test/reliability/lib.sh
source "$(dirname "$0")/lib.sh"

START=$(now_s)
CALLS=${MEMORY_CALLS:-10000}
LIST_ROWS=${MEMORY_LIST_ROWS:-100000}
TOL_KB=${MEMORY_TOLERANCE_KB:-1024}
NAME=${MEMORY_NAME:-memory}
check_begin "$NAME"
WORK=$(mktemp -d /tmp/session-memory.XXXXXX)
trap '[ "${SESSION_TEST_KEEP:-0}" = 1 ] || rm -rf "$WORK"; check_end' EXIT

# label | divisor of CALLS | loop body (i: iteration, ids: 1000 open sessions)
CASES=$(cat <<'CASES'
baseline: UPDATE of a plain table, no extension|1|UPDATE mem_base SET x = x + 1;
open_session + close_session|1|PERFORM session.close_session(session.open_session('m' || i, 'p', '10.0.0.1', 'ios', 'c', 'ua', 'mem', '{"a": 1}'));
open_clientless_session + close_clientless_session|1|PERFORM session.close_clientless_session(session.open_clientless_session('svc' || i, 'p'));
open_session + terminate_session|1|PERFORM session.terminate_session(session.open_session('t' || i, 'p'), 'kicked');
heartbeat|1|PERFORM session.heartbeat(ids[1 + i % 1000], i, ARRAY['home', 'page' || i]);
heartbeat(ids[]) of 100|10|PERFORM session.heartbeat(ids[1 + i % 900:100 + i % 900], NULL);
get_session_info(username exact)|10|PERFORM count(*) FROM session.get_session_info('u' || (i % 1000));
get_session_info(username prefix)|20|PERFORM count(*) FROM session.get_session_info('u99.*', 'p');
get_session_info(scan, 1000 rows)|40|PERFORM count(*) FROM session.get_session_info(NULL, 'p.*');
get_session_info(id)|1|PERFORM session.get_session_info(ids[1 + i % 1000]);
get_session_user|1|PERFORM session.get_session_user(ids[1 + i % 1000]);
set_session_user|1|PERFORM session.set_session_user(ids[1 + i % 1000], CASE WHEN i % 3 = 0 THEN NULL ELSE 'u' || (i % 1000) END);
set_user_context + get_user_context|1|PERFORM session.set_user_context('u' || i, i % 2 = 0); PERFORM session.get_user_context();
attach_session + current_session_id + reset|1|PERFORM session.attach_session(ids[1 + i % 1000]); PERFORM session.current_session_id(); PERFORM session.reset_user_context();
expire_sessions|20|PERFORM session.expire_sessions();
close_node_sessions (no match)|10|PERFORM session.close_node_sessions('no-such-node');
purge_history (nothing old)|10|PERFORM session.purge_history('100 years');
concurrency|2000|PERFORM count(*) FROM session.concurrency(now() - interval '1 hour', now() + interval '1 hour', '10 minutes', 'p');
backend_contexts|1|PERFORM count(*) FROM session.backend_contexts();
errors: 2201B, SE404, 22023, 22001, 22004|20|BEGIN PERFORM session.get_session_info('('); EXCEPTION WHEN OTHERS THEN NULL; END; BEGIN PERFORM session.close_session(-i); EXCEPTION WHEN OTHERS THEN NULL; END; BEGIN PERFORM session.open_session('', 'p'); EXCEPTION WHEN OTHERS THEN NULL; END; BEGIN PERFORM session.heartbeat(ids[1], 0, array_fill('x'::text, ARRAY[1001])); EXCEPTION WHEN OTHERS THEN NULL; END; BEGIN PERFORM session.attach_session(NULL); EXCEPTION WHEN OTHERS THEN NULL; END;
CASES
)

# psql preamble: the backend's pid for the sampler, and mem()
preamble() {
	cat <<'SQL'
\set ON_ERROR_STOP 1
SELECT pg_backend_pid() AS pid \gset
\o :pidfile
\qecho :pid
\o
SQL
}

{
	preamble
	cat <<'SQL'
CREATE FUNCTION mem() RETURNS bigint LANGUAGE sql VOLATILE
	AS $$ SELECT sum(total_bytes)::bigint FROM pg_backend_memory_contexts $$;
CREATE TABLE mem_ids (k int PRIMARY KEY, id bigint NOT NULL);
INSERT INTO mem_ids SELECT g, session.open_session('u' || g, 'p', node => 'n') FROM generate_series(1, 1000) g;
CREATE TABLE mem_base (x int);
INSERT INTO mem_base VALUES (0);
CREATE TABLE mem_results (k int, label text, calls int, before bigint, early bigint, late bigint, after bigint, ms numeric);
SQL
	k=0
	while IFS='|' read -r label div body; do
		[ -n "$label" ] || continue
		k=$((k + 1))
		n=$((CALLS / div))
		cat <<SQL
CREATE PROCEDURE mc_$k(n int, INOUT early bigint DEFAULT NULL, INOUT late bigint DEFAULT NULL)
LANGUAGE plpgsql AS \$f\$
DECLARE
	ids bigint[] := ARRAY(SELECT id FROM mem_ids ORDER BY k);
BEGIN
	FOR i IN 1..n LOOP
		$body
		COMMIT;
		IF i = greatest(n / 10, 1) THEN early := mem(); END IF;
	END LOOP;
	late := mem();
END \$f\$;
ANALYZE session_storage.sessions, session_storage.ended_sessions;
CALL mc_$k(least(200, $n));
SELECT mem() AS before, clock_timestamp() AS t0 \\gset
CALL mc_$k($n) \\gset
SELECT mem() AS after \\gset
INSERT INTO mem_results VALUES ($k, '$(printf '%s' "$label" | sed "s/'/''/g")', $n, :before, :early, :late, :after,
	round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000));
SQL
	done <<<"$CASES"
	cat <<SQL
-- many sessions for the listing: rows put straight into the table, as a superuser may
INSERT INTO session_storage.sessions (uuid, username, authenticated, project, scope, start_time, last_comm)
SELECT gen_random_uuid(), 'bulk' || g, true, 'bulk', 'browser', now() - interval '1 minute', now()
FROM generate_series(1, $LIST_ROWS) g;
ANALYZE session_storage.sessions;
SQL
} >"$WORK/loops.sql"

# the listing, in a backend of its own so that its resident memory says
# what listing costs
{
	preamble
	cat <<SQL
SELECT count(*) FROM session.get_session_info(NULL, 'nothing');
SELECT mem() AS before, clock_timestamp() AS t0 \\gset
SELECT pg_sleep(0.2);
SELECT count(*) AS listed FROM session.get_session_info(NULL, 'bulk') \\gset
SELECT count(*) FROM session.get_session_info('bulk.*');
SELECT count(*) FROM session.active_sessions;
SELECT mem() AS after \\gset
INSERT INTO mem_results VALUES (1000, 'get_session_info() listing ' || :listed || ' rows (x3)', 3, :before, NULL, NULL, :after,
	round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000));
SQL
} >"$WORK/list.sql"

# run_sampled FILE: runs a psql script while sampling its backend's
# anonymous resident memory (RssAnon) every 50 ms; sets RC, RSS_START,
# RSS_PEAK, RSS_END (kB).
run_sampled() {
	local psql_pid pid rss
	rm -f "$WORK/pid"
	q -v pidfile="$WORK/pid" -f "$1" >>"$WORK/out" 2>&1 &
	psql_pid=$!
	RSS_START='' RSS_PEAK=0 RSS_END=''
	while kill -0 "$psql_pid" 2>/dev/null; do
		if [ -s "$WORK/pid" ]; then
			pid=$(tr -dc 0-9 <"$WORK/pid")
			rss=$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
			if [ -n "$rss" ]; then
				[ -n "$RSS_START" ] || RSS_START=$rss
				[ "$rss" -gt "$RSS_PEAK" ] && RSS_PEAK=$rss
				RSS_END=$rss
			fi
		fi
		sleep 0.05
	done
	wait "$psql_pid"
	RC=$?
}

run_sampled "$WORK/loops.sql"
LOOPS_RSS="start ${RSS_START:-?} kB, peak $RSS_PEAK kB, end ${RSS_END:-?} kB"
if [ "$RC" -eq 0 ]; then
	run_sampled "$WORK/list.sql"
	LIST_RSS="start ${RSS_START:-?} kB, peak $RSS_PEAK kB, end ${RSS_END:-?} kB"
fi
if [ "$RC" -ne 0 ]; then
	cat "$WORK/out"
	die "the memory script failed (psql exited $RC)"
fi

# in a loop, PL/pgSQL's own procedure context grows by some bytes per
# committed write (the baseline, without the extension); net_in_loop is the
# growth beyond that baseline, scaled to the case's number of calls
q -c "CREATE VIEW mem_net AS SELECT *, (late - early) - (SELECT (late - early)::numeric / calls
	FROM mem_results WHERE k = 1) * calls AS net FROM mem_results" >/dev/null
echo "$NAME: backend memory (sum of pg_backend_memory_contexts.total_bytes) before and after each"
echo "$NAME: loop of calls, and in the loop; tolerance $TOL_KB kB"
q -P pager=off -P footer=off -c "
SELECT label AS function, calls, before / 1024 AS before_kb, after / 1024 AS after_kb,
	   (after - before) / 1024 AS growth_kb, (late - early) / 1024 AS in_loop_kb,
	   greatest(round(net / 1024), 0) AS net_in_loop_kb, ms,
	   CASE WHEN after - before < $TOL_KB * 1024 AND coalesce(net, 0) < $TOL_KB * 1024
			THEN 'pass' ELSE 'FAIL' END AS result
FROM mem_net ORDER BY k"
FAILED=$(q1 "SELECT count(*) FROM mem_net WHERE NOT (after - before < $TOL_KB * 1024 AND coalesce(net, 0) < $TOL_KB * 1024)")
TOTAL=$(q1 "SELECT count(*) FROM mem_net")

# The background worker: MEMORY_WORKER_SESSIONS (20000) sessions with
# buffered heartbeats, MEMORY_WORKER_BEATS (2000) of them heartbeated every
# 100 ms for MEMORY_WORKER_SECONDS (90), flushed every 100 ms; the worker's
# anonymous resident memory (RssAnon of /proc/PID/status: its heap, where
# palloc'd memory lives) at MEMORY_WORKER_BASELINE_SECONDS (30) and at the
# end must differ by less than MEMORY_WORKER_TOLERANCE_KB (2048).  Not VmRSS:
# that also counts the shared memory the worker touches (shared_buffers, the
# heartbeat buffer), which grows as it reads more of it and is no leak.  The
# heartbeats go to session.database, the only database the worker serves.
WSECS=${MEMORY_WORKER_SECONDS:-90}
WBASE=${MEMORY_WORKER_BASELINE_SECONDS:-30}
WSESSIONS=${MEMORY_WORKER_SESSIONS:-20000}
WBEATS=${MEMORY_WORKER_BEATS:-2000}
WTOL=${MEMORY_WORKER_TOLERANCE_KB:-2048}
WDB=$(psql -X -A -t -d postgres -c "SHOW session.database")
wq() {
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$WDB" "$@"
}
worker_pid() {
	psql -X -A -t -d postgres -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'session reaper'"
}
worker_memory() {
	local created_db=0 created_ext=0 pid pid_end t0 t rss base='' last='' status
	local flushes0 rows0 beat_pid smaps_base smaps_end
	if [ "$(psql -X -A -t -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$WDB'")" = 0 ]; then
		psql -X -q -d postgres -c "CREATE DATABASE \"$WDB\"" >/dev/null || return 1
		created_db=1
	fi
	if [ "$(wq -c "SELECT count(*) FROM pg_extension WHERE extname = 'session'")" = 0 ]; then
		wq -c 'CREATE EXTENSION session' >/dev/null || return 1
		created_ext=1
	fi
	psql -X -q -d postgres -c "ALTER SYSTEM SET session.heartbeat_flush_interval = '100ms'" \
		-c "SELECT pg_reload_conf()" >/dev/null
	wq -c "SELECT count(session.open_session('w' || g, 'memw', node => 'memory-worker'))
		FROM generate_series(1, $WSESSIONS) g" >/dev/null || return 1
	# every session gets an entry (buffering starts once the worker has attached)
	for _ in $(seq 1 60); do
		wq -c "SELECT session.heartbeat(ARRAY(SELECT id FROM session_storage.sessions
			WHERE node = 'memory-worker'), NULL)" >/dev/null
		[ "$(wq -c "SELECT used >= $WSESSIONS FROM session.heartbeat_buffer_status()")" = t ] && break
		sleep 1
	done
	pid=$(worker_pid)
	read -r flushes0 rows0 < <(wq -F ' ' -c "SELECT flushes, flushed_rows FROM session.heartbeat_buffer_status()")
	wq -c "DO \$\$
DECLARE
	ids bigint[] := ARRAY(SELECT id FROM session_storage.sessions WHERE node = 'memory-worker' ORDER BY id);
	n int := cardinality(ids);
	k int := 0;
	t_end timestamptz := clock_timestamp() + interval '$WSECS s';
BEGIN
	WHILE clock_timestamp() < t_end LOOP
		PERFORM session.heartbeat(ids[k + 1:k + $WBEATS], array_fill(1::bigint, ARRAY[$WBEATS]));
		COMMIT;
		k := (k + $WBEATS) % n;
		PERFORM pg_sleep(0.1);
	END LOOP;
END \$\$" >/dev/null &
	beat_pid=$!
	t0=$(date +%s)
	while kill -0 "$beat_pid" 2>/dev/null; do
		rss=$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
		t=$(($(date +%s) - t0))
		if [ -n "$rss" ]; then
			if [ -z "$base" ] && [ "$t" -ge "$WBASE" ]; then
				base=$rss
				smaps_base=$(awk '/^(Pss|Private_Dirty):/ { printf "%s %s kB ", $1, $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null)
			fi
			last=$rss
		fi
		sleep 1
	done
	wait "$beat_pid"
	status=$?
	smaps_end=$(awk '/^(Pss|Private_Dirty):/ { printf "%s %s kB ", $1, $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null)
	pid_end=$(worker_pid)
	read -r WFLUSHES WROWS < <(wq -F ' ' -c "SELECT flushes - $flushes0, flushed_rows - $rows0 FROM session.heartbeat_buffer_status()")
	wq -c "SELECT session.close_node_sessions('memory-worker')" >/dev/null
	psql -X -q -d postgres -c "ALTER SYSTEM RESET session.heartbeat_flush_interval" \
		-c "SELECT pg_reload_conf()" >/dev/null
	[ "$created_ext" = 0 ] || wq -c 'DROP EXTENSION session' >/dev/null
	[ "$created_db" = 0 ] || psql -X -q -d postgres -c "DROP DATABASE \"$WDB\" WITH (FORCE)" >/dev/null
	echo "$NAME: worker (pid $pid): $WSESSIONS sessions, $WBEATS heartbeated every 100 ms, flush every 100 ms, ${WSECS} s: $WFLUSHES flushes, $WROWS rows"
	echo "$NAME: worker RssAnon at ${WBASE} s ${base:-?} kB, at the end ${last:-?} kB (tolerance $WTOL kB); smaps_rollup at ${WBASE} s: ${smaps_base:-?}; at the end: ${smaps_end:-?}"
	[ "$status" -eq 0 ] || { echo "$NAME: FAILED: the heartbeat loop failed"; return 1; }
	[ "$pid_end" = "$pid" ] || { echo "$NAME: FAILED: the worker restarted ($pid, then $pid_end)"; return 1; }
	[ -n "$base" ] && [ -n "$last" ] || { echo "$NAME: FAILED: no RssAnon of the worker"; return 1; }
	[ "$WFLUSHES" -ge $((WSECS * 2)) ] || { echo "$NAME: FAILED: too few flushes ($WFLUSHES)"; return 1; }
	[ "$((last - base))" -lt "$WTOL" ] || { echo "$NAME: FAILED: the worker grew by $((last - base)) kB"; return 1; }
	echo "$NAME: worker memory flat: pass"
}
TOTAL=$((TOTAL + 1))
worker_memory || FAILED=$((FAILED + 1))
MAXG=$(q1 "SELECT max(greatest(after - before, coalesce(net, 0)))::bigint FROM mem_net")
CRASHES=$(crash_count)
[ "$CRASHES" -eq 0 ] || { echo "$NAME: FAILED: $CRASHES backend crash(es)"; FAILED=$((FAILED + 1)); }
echo "$NAME: backend RssAnon (anonymous resident memory): loops $LOOPS_RSS; listing $LIST_RSS"
echo "$NAME: $CALLS calls per function, $LIST_ROWS sessions listed; largest growth $MAXG bytes; backend crashes: $CRASHES; $(elapsed "$START") s"
echo "$NAME: $((TOTAL - FAILED)) passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
