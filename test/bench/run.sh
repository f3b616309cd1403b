#!/usr/bin/env bash
# make bench: benchmarks the session extension against the session stores people
# use today, on a throwaway cluster, and prints the markdown tables that the README's
# Performance section reproduces (also written to test/bench/results/latest.md).
#
# Systems, each in its own database of the same cluster, doing the same work:
#   session  this extension's functions
#   spring   Spring Session JDBC, emulated with its schema and statements (sql/spring.sql)
#   cps      connect-pg-simple, emulated likewise (sql/connect_pg_simple.sql)
#   naive    a hand-written registry: one table, PL/pgSQL, regex in SQL (sql/naive.sql)
#   raw      the fewest plain SQL statements that record the same facts (sql/raw.sql)
# Workloads run with pgbench -M prepared, the systems alternating in rounds; tables
# report medians over the rounds. Set-up data is bulk-loaded; only workloads are timed.
#
# Parameters (environment or make variables; defaults, then BENCH_QUICK=1 defaults):
#   BENCH_QUICK=1            reduced run, under 3 minutes on 2 cores
#   BENCH_CLIENTS (4) BENCH_THREADS (2)           pgbench clients / threads
#   BENCH_LATENCY_CLIENTS (1)                     clients for the p50 latency workloads
#   BENCH_ROUNDS (5)         BENCH_DURATION (10 / 1) seconds per pgbench run
#   BENCH_LATENCY_DURATION (5 / 1)                seconds per latency run
#   BENCH_OPEN_SESSIONS (1000000 / 100000)        BENCH_USERS (100000 / 10000)
#   BENCH_HISTORY (10000000 / 500000)  ended sessions   BENCH_HISTORY_DAYS (30)
#   BENCH_BATCH (1000)       sessions per batched heartbeat call
#   BENCH_HEAP_SESSIONS (10000)  BENCH_HEAP_HEARTBEATS (1000000 / 100000)
#   BENCH_EXTRAS (1 / 0)     the informative rows without a target (naive with a generic
#                            plan, session count(*), session.notify = off, naive batches)
#   BENCH_EXPIRE_IDLE (100000)   BENCH_EXPIRE_ACTIVE (10000)
#   BENCH_EXPIRE_RATE (BENCH_EXPIRE_ACTIVE)  heartbeats/s meanwhile (each active
#                            session once a second; 0 = as fast as the clients can)
#   BENCH_RLS_ROWS (1000000)     BENCH_RLS_REPEAT (11 / 5)
#   BENCH_SYNC_COMMIT (off)  synchronous_commit of the cluster, the same for every system
#   BENCH_LOCALE (C.UTF-8)   locale of the benchmark databases
#   BENCH_WORKLOADS (all)    any of: listing batch lifecycle heap expire rls
#   BENCH_PORT (5700)        first port tried for the cluster
#   BENCH_KEEP=1             keep the working directory (logs) in /tmp
#   BENCH_BUILD=0            as root, do not run make / make install first
# Benchmarks report; they never fail. The exit status is non-zero only when the
# harness itself breaks (no cluster, a set-up step failing).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=../scripts/cluster.sh
source "$ROOT/test/scripts/cluster.sh"

# ---------------------------------------------------------------------------
# As root: build and install the extension (as make test does), then run the
# rest as the postgres OS user (initdb refuses root) and copy the results back.
# ---------------------------------------------------------------------------
if [ "$(id -u)" -eq 0 ] && [ "${BENCH_INNER:-0}" != 1 ]; then
	out=$(mktemp -d /tmp/session-bench-out.XXXXXX) || exit 1
	if [ -d "$ROOT/src" ] && [ "${BENCH_BUILD:-1}" = 1 ]; then
		say "build and install the extension (make, make install)"
		if ! (cd "$ROOT" && pgxs_make -s && pgxs_make -s install) >"$out/build.log" 2>&1; then
			tail -n 30 "$out/build.log"
			echo "bench: the extension did not build; the session system is skipped"
		fi
	fi
	chown postgres:postgres "$out"
	chmod 755 "$out"
	pass_env="BENCH_INNER BENCH_OUT BENCH_COMMAND"
	for name in $(compgen -v BENCH_); do
		pass_env+=" $name"
	done
	BENCH_INNER=1 BENCH_OUT=$out SESSION_PASS_ENV="$pass_env" \
		BENCH_COMMAND=${BENCH_COMMAND:-} \
		run_as_postgres bash "$HERE/run.sh"
	rc=$?
	if [ -f "$out/latest.md" ]; then
		mkdir -p "$HERE/results"
		cp "$out/latest.md" "$HERE/results/latest.md"
		echo "bench: tables written to test/bench/results/latest.md"
	fi
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: kept $out"
	else
		rm -rf "$out"
	fi
	exit "$rc"
fi

# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------
QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 1 ] || QUICK=0
q_or() { if [ "$QUICK" = 1 ]; then echo "$2"; else echo "$1"; fi; }

CLIENTS=${BENCH_CLIENTS:-4}
THREADS=${BENCH_THREADS:-2}
LAT_CLIENTS=${BENCH_LATENCY_CLIENTS:-1}
ROUNDS=${BENCH_ROUNDS:-5}
DURATION=${BENCH_DURATION:-$(q_or 10 1)}
LAT_DURATION=${BENCH_LATENCY_DURATION:-$(q_or 5 1)}
OPEN=${BENCH_OPEN_SESSIONS:-$(q_or 1000000 100000)}
USERS=${BENCH_USERS:-$(q_or 100000 10000)}
HISTORY=${BENCH_HISTORY:-$(q_or 10000000 500000)}
HISTORY_DAYS=${BENCH_HISTORY_DAYS:-30}
BATCH=${BENCH_BATCH:-1000}
HEAP_SESSIONS=${BENCH_HEAP_SESSIONS:-10000}
HEAP_HEARTBEATS=${BENCH_HEAP_HEARTBEATS:-$(q_or 1000000 100000)}
EXTRAS=${BENCH_EXTRAS:-$(q_or 1 0)}
EXPIRE_IDLE=${BENCH_EXPIRE_IDLE:-100000}
EXPIRE_ACTIVE=${BENCH_EXPIRE_ACTIVE:-10000}
EXPIRE_RATE=${BENCH_EXPIRE_RATE:-$EXPIRE_ACTIVE}
RLS_ROWS=${BENCH_RLS_ROWS:-1000000}
RLS_REPEAT=${BENCH_RLS_REPEAT:-$(q_or 11 5)}
SYNC_COMMIT=${BENCH_SYNC_COMMIT:-off}
LOCALE=${BENCH_LOCALE:-C.UTF-8}
WORKLOADS=${BENCH_WORKLOADS:-all}
[ "$WORKLOADS" = all ] && WORKLOADS="listing batch lifecycle heap expire rls"
export SESSION_TEST_PORT=${BENCH_PORT:-5700}
LOAD_CHUNK=250000
NBLOCKS=$((OPEN / BATCH))
[ "$THREADS" -gt "$CLIENTS" ] && THREADS=$CLIENTS

OUT=${BENCH_OUT:-$(mktemp -d /tmp/session-bench-out.XXXXXX)}
WORK=$(mktemp -d /tmp/session-bench.XXXXXX)
LOGS=$WORK/logs
DATA=$WORK/data
mkdir -p "$LOGS" "$DATA"
START_TS=$(date +%s)
LOAD_START=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null)

declare -A LABEL=(
	[session]="session"
	[session_hist]="session, with history"
	[session_count]="session, count(*) on the server"
	[session_listen]="session, one connection LISTENing to session_events"
	[spring]="Spring Session JDBC"
	[cps]="connect-pg-simple"
	[naive]="naive"
	[naive_generic]="naive, generic plan (a scan)"
	[raw]="raw"
)
declare -A DB=(
	[session]=b_session [session_hist]=b_session_hist [session_count]=b_session
	[session_listen]=b_session [spring]=b_spring [cps]=b_cps [naive]=b_naive
	[naive_generic]=b_naive
	[raw]=b_raw
)

elapsed() { echo $(($(date +%s) - START_TS)); }
note() { printf '[%4ss] %s\n' "$(elapsed)" "$*" >&2; }
HARNESS_ERRORS=0
harness_error() {
	HARNESS_ERRORS=$((HARNESS_ERRORS + 1))
	note "HARNESS ERROR: $*"
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	local j
	for j in $(jobs -p); do kill "$j" 2>/dev/null; done
	cluster_stop >/dev/null 2>&1
	[ -z "${BENCH_OUT:-}" ] && rm -rf "$OUT"
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# psql helpers: q DB SQL prints the unaligned result; qf DB FILE [-v ...] runs a file.
q() {
	local db=$1
	shift
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" -c "$*"
}
qf() {
	local db=$1 file=$2
	shift 2
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@" -f "$file"
}

# A small job queue for the set-up: at most 2 jobs (the 2 cores) at a time.
JOBS_MAX=2
JOB_FAIL=$WORK/failed-jobs
: >"$JOB_FAIL"
job() {
	local name=$1
	shift
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS_MAX" ]; do
		wait -n
	done
	(
		local t0=$SECONDS
		if ! "$@" >"$LOGS/job-$name.log" 2>&1; then
			echo "$name" >>"$JOB_FAIL"
		fi
		echo "$name $((SECONDS - t0))" >>"$LOGS/job-times"
	) &
}
jobs_wait() {
	wait
	if [ -s "$JOB_FAIL" ]; then
		local name
		while read -r name; do
			harness_error "set-up job $name failed:"
			tail -n 15 "$LOGS/job-$name.log" >&2
		done <"$JOB_FAIL"
		: >"$JOB_FAIL"
		return 1
	fi
	return 0
}

create_db() {
	q postgres "CREATE DATABASE $1 TEMPLATE template0 ENCODING 'UTF8' LOCALE '$LOCALE'" &&
		qf "$1" "$HERE/sql/gen.sql"
}

# ---------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------
# record KEY VALUE: one more per-round value of KEY.
record() { echo "$2" >>"$DATA/$1"; }
# median KEY: the median of the recorded values (empty when none).
median() {
	[ -s "$DATA/$1" ] || return 0
	sort -g "$DATA/$1" | awk '{v[NR] = $1} END {
		if (NR == 0) exit;
		if (NR % 2) printf "%.6g\n", v[(NR + 1) / 2];
		else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
values() { [ -s "$DATA/$1" ] && paste -sd' ' "$DATA/$1"; }
# calc EXPR: floating point arithmetic (empty when an operand is missing).
calc() { awk "BEGIN { x = $1; printf \"%.6g\n\", x }" 2>/dev/null; }
# fmt N [DECIMALS]: a number with thousands separators.
fmt() {
	[ -n "${1:-}" ] || {
		echo "n/a"
		return
	}
	LC_ALL=C awk -v x="$1" -v d="${2:-0}" 'BEGIN {
		s = sprintf("%." d "f", x); neg = (s ~ /^-/); if (neg) s = substr(s, 2);
		split(s, p, "."); i = p[1]; o = "";
		while (length(i) > 3) { o = "," substr(i, length(i) - 2) o; i = substr(i, 1, length(i) - 3) }
		o = i o; if (d > 0) o = o "." p[2]; print (neg ? "-" : "") o }'
}
# fmt_rate N: a rate, with one decimal below 10.
fmt_rate() {
	if [ -n "${1:-}" ] && awk -v x="$1" 'BEGIN { exit !(x < 10) }'; then
		fmt "$1" 1
	else
		fmt "${1:-}"
	fi
}
# met VALUE OP LIMIT: yes / no (OP is one of >= <= < >).
met() {
	if [ -z "${1:-}" ] || [ -z "${3:-}" ]; then
		echo "n/a"
		return
	fi
	awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {
		r = (op == ">=") ? v >= l : (op == "<=") ? v <= l : (op == "<") ? v < l : v > l;
		print r ? "yes" : "**no**" }'
}

# ---------------------------------------------------------------------------
# pgbench
# ---------------------------------------------------------------------------
# pgb KEY DB SCRIPT CLIENTS SECONDS [pgbench options]: one run; records KEY.tps,
# KEY.failed, and with LATLOG=1 KEY.p50 / KEY.p95 / KEY.max in ms from pgbench's
# per-transaction log.
PGB_RUN=0
pgb() {
	local key=$1 db=$2 script=$3 clients=$4 secs=$5
	shift 5
	local threads=$THREADS out rc tps failed aborted
	[ "$threads" -gt "$clients" ] && threads=$clients
	PGB_RUN=$((PGB_RUN + 1))
	out=$LOGS/pgbench-$PGB_RUN-$key.out
	rm -rf "$WORK/lat" && mkdir -p "$WORK/lat"
	pgbench -n -M prepared -c "$clients" -j "$threads" -T "$secs" \
		-D users="$USERS" -D nblocks="$NBLOCKS" -D batch="$BATCH" \
		-D nheap="$HEAP_SESSIONS" -D afirst=$((EXPIRE_IDLE + 1)) \
		-D alast=$((EXPIRE_IDLE + EXPIRE_ACTIVE)) \
		${LATLOG:+-l --log-prefix="$WORK/lat/tx"} "$@" \
		-f "$HERE/pgbench/$script" "$db" >"$out" 2>&1
	rc=$?
	tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$out")
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out")
	aborted=$(grep -c 'aborted in command' "$out")
	record "$key.failed" "$((${failed:-0} + aborted))"
	if [ -z "$tps" ] || [ "$rc" -ne 0 ]; then
		note "pgbench $key ($script on $db) exited $rc; see below"
		tail -n 5 "$out" >&2
		record "$key.errors" 1
	fi
	if [ -n "$tps" ]; then
		record "$key.tps" "$tps"
		cat "$WORK"/lat/tx.* 2>/dev/null | awk '{print $3 / 1000}' | sort -g | awk -v k="$DATA/$key" '
			{v[NR] = $1}
			END {
				if (NR == 0) exit;
				printf "%.6g\n", v[int((NR + 1) / 2)] >> (k ".p50");
				i95 = int(NR * 0.95 + 0.5); if (i95 < 1) i95 = 1;
				printf "%.6g\n", v[i95] >> (k ".p95");
				printf "%.6g\n", v[NR] >> (k ".max");
				printf "%d\n", NR >> (k ".n") }'
	fi
}

# ---------------------------------------------------------------------------
# Cluster
# ---------------------------------------------------------------------------
HAVE_SESSION=0
PG_SHAREDIR=$("$PG_CONFIG" --sharedir)
PG_PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)
if [ -f "$PG_SHAREDIR/extension/session.control" ] && [ -f "$PG_PKGLIBDIR/session.so" ]; then
	HAVE_SESSION=1
fi

say "bench: start a throwaway cluster"
conf=(
	"# --- benchmark settings (test/bench/run.sh), the same for every system ---"
	"fsync = on"
	"synchronous_commit = $SYNC_COMMIT"
	"shared_buffers = 1GB"
	"maintenance_work_mem = 256MB"
	"max_wal_size = 8GB"
	"min_wal_size = 1GB"
	"checkpoint_timeout = 30min"
	"session.database = 'postgres'"
	"log_min_messages = warning"
)
if [ "$HAVE_SESSION" = 0 ]; then
	conf+=("shared_preload_libraries = ''")
fi
if ! cluster_start "${conf[@]}"; then
	echo "bench: could not start a cluster" >&2
	exit 1
fi
SYSTEMS="spring cps naive raw"
if [ "$HAVE_SESSION" = 1 ]; then
	SYSTEMS="session $SYSTEMS"
else
	note "the session extension is not installed; its rows are skipped"
fi
has() { [[ " $SYSTEMS " == *" $1 "* ]]; }
wants() { [[ " $WORKLOADS " == *" $1 "* ]]; }

# ---------------------------------------------------------------------------
# Set-up: schemas, then bulk loads (2 at a time)
# ---------------------------------------------------------------------------
say "bench: set-up ($OPEN open sessions over $USERS users per system, $HISTORY ended sessions)"
# Each database is one set-up job (create, schema, bulk load, VACUUM ANALYZE), the
# largest first, two at a time.
declare -A SCHEMA=([spring]=spring.sql [cps]=connect_pg_simple.sql [naive]=naive.sql [raw]=raw.sql)
# make_db DB SYSTEM: the database with the system's schema (or the extension)
make_db() {
	local db=$1 sys=$2
	create_db "$db" || return 1
	if [ "$sys" = session ]; then
		q "$db" "CREATE EXTENSION session"
	else
		qf "$db" "$HERE/sql/${SCHEMA[$sys]}"
	fi
}
# load DB FILE FIRST LAST [psql -v ...]: FILE over ids FIRST..LAST, LOAD_CHUNK rows
# a statement
load() {
	local db=$1 file=$2 first=$3 last=$4 a b
	shift 4
	for ((a = first; a <= last; a += LOAD_CHUNK)); do
		b=$((a + LOAD_CHUNK - 1))
		[ "$b" -gt "$last" ] && b=$last
		qf "$db" "$HERE/sql/$file" -v first="$a" -v last="$b" "$@" >/dev/null || return 1
	done
}
setup_system() {
	local sys=$1 db=${DB[$1]}
	make_db "$db" "$sys" &&
		load "$db" "load_$sys.sql" 1 "$OPEN" -v users="$USERS" -v age=0 &&
		q "$db" "VACUUM ANALYZE"
}
# session with history: the same open sessions plus the ended ones, with daily
# partitions made as the extension makes them (UTC days, its names, an index on
# id) for the days the history covers; the extension creates today's and the
# next ones itself, and older days would otherwise land in the default partition
setup_history() {
	make_db b_session_hist session &&
		q b_session_hist "
			DO \$\$
			DECLARE
				d date;
				p text;
				parent_indexed boolean := EXISTS (SELECT FROM pg_index
					WHERE indrelid = 'session_storage.ended_sessions'::regclass);
			BEGIN
				FOR d IN SELECT generate_series(current_date - $HISTORY_DAYS - 1, current_date, '1 day')::date LOOP
					p := 'ended_sessions_' || to_char(d, 'YYYYMMDD');
					CONTINUE WHEN to_regclass('session_storage.' || p) IS NOT NULL;
					EXECUTE format('CREATE TABLE session_storage.%I (LIKE session_storage.ended_sessions INCLUDING DEFAULTS INCLUDING STORAGE)', p);
					IF NOT parent_indexed THEN
						EXECUTE format('CREATE INDEX %I ON session_storage.%I (id)', p || '_id_idx', p);
					END IF;
					EXECUTE format('ALTER TABLE session_storage.ended_sessions ATTACH PARTITION session_storage.%I FOR VALUES FROM (%L) TO (%L)',
						p, d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
				END LOOP;
			END \$\$" &&
		load b_session_hist load_session.sql 1 "$OPEN" -v users="$USERS" -v age=0 &&
		load b_session_hist load_session_history.sql $((OPEN + 1)) $((OPEN + HISTORY)) \
			-v users="$USERS" -v days="$HISTORY_DAYS" &&
		q b_session_hist "VACUUM ANALYZE session_storage.sessions" &&
		if [ "$QUICK" = 0 ]; then
			# statistics of the history, as autovacuum would gather them (left to
			# autovacuum in quick runs)
			q b_session_hist "ANALYZE session_storage.ended_sessions"
		fi
}
setup_heap() {
	make_db b_heap session &&
		load b_heap load_session.sql 1 "$HEAP_SESSIONS" -v users="$USERS" -v age=0 &&
		q b_heap "VACUUM ANALYZE"
}
# idle sessions last heard from 2 hours ago, active ones just now
setup_expire() {
	make_db b_expire session &&
		load b_expire load_session.sql 1 "$EXPIRE_IDLE" -v users="$USERS" -v age=7200 &&
		load b_expire load_session.sql $((EXPIRE_IDLE + 1)) $((EXPIRE_IDLE + EXPIRE_ACTIVE)) \
			-v users="$USERS" -v age=0 &&
		q b_expire "VACUUM ANALYZE" &&
		if [ "$EXTRAS" = 1 ] && [ "$EXPIRE_RATE" -gt 0 ]; then
			q postgres "CREATE DATABASE b_expire_max TEMPLATE b_expire"
		fi
}
# two copies of one table, one policy each, read by a non-superuser
setup_rls() {
	make_db b_rls session &&
		q b_rls "
		CREATE TABLE docs_a AS
			SELECT i AS id, 'user' || (i % 1000) AS owner, repeat('x', 40) AS body
			FROM generate_series(1, $RLS_ROWS) i;
		CREATE TABLE docs_b AS SELECT * FROM docs_a;
		ALTER TABLE docs_a ENABLE ROW LEVEL SECURITY;
		ALTER TABLE docs_b ENABLE ROW LEVEL SECURITY;
		CREATE POLICY by_context ON docs_a USING (owner = session.get_user_context());
		CREATE POLICY by_constant ON docs_b USING (owner = 'user42');
		DO \$\$ BEGIN
			IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_rls') THEN
				CREATE ROLE bench_rls LOGIN;
			END IF;
		END \$\$;
		GRANT session_app TO bench_rls;
		GRANT SELECT ON docs_a, docs_b TO bench_rls;" &&
		q b_rls "VACUUM ANALYZE docs_a, docs_b"
}

# The extension creates its roles (and grants) when missing, but two CREATE EXTENSION
# running at once in two databases of a new cluster race on them: create them first.
if has session; then
	q postgres "
		CREATE ROLE session_reader NOLOGIN;
		CREATE ROLE session_app NOLOGIN;
		CREATE ROLE session_admin NOLOGIN;
		GRANT session_reader, session_app TO session_admin;" >/dev/null || exit 1
fi
HIST_OK=0
if has session && wants listing; then
	HIST_OK=1
	job history setup_history
fi
has session && wants rls && job rls setup_rls
for sys in spring session cps naive raw; do
	has "$sys" && job "$sys" setup_system "$sys"
done
has session && wants expire && job expire setup_expire
has session && wants heap && job heap setup_heap
jobs_wait || exit 1
[ "$HIST_OK" = 1 ] &&
	note "history: $(q b_session_hist "SELECT count(*) FROM session_storage.ended_sessions") ended sessions, $(q b_session_hist "SELECT count(*) FROM session_storage.ended_sessions_default") of them in the default partition"
# a checkpoint now rather than during the workloads (quick runs write too little
# WAL to reach one)
[ "$QUICK" = 1 ] || q postgres "CHECKPOINT" >/dev/null
SETUP_SECONDS=$(elapsed)
note "set-up done"

# ---------------------------------------------------------------------------
# Workloads
# ---------------------------------------------------------------------------
# present SYSTEM: the system (or session variant) can run here.
present() {
	case $1 in
		naive_generic | session_count | session_listen | naive_batch) [ "$EXTRAS" = 1 ] && has "${1%%_*}" ;;
		session_hist) [ "$HIST_OK" = 1 ] ;;
		session_*) has session ;;
		naive_*) has naive ;;
		*) has "$1" ;;
	esac
}

# listing: exact username and literal prefix (1 client, latency), unanchorable (rows/s)
wl_listing() {
	local r sys
	say "bench: listing ($ROUNDS rounds)"
	for ((r = 1; r <= ROUNDS; r++)); do
		for sys in session session_hist spring cps naive naive_generic raw; do
			present "$sys" || continue
			case $sys in
				naive_generic)
					PGOPTIONS="-c plan_cache_mode=force_generic_plan" LATLOG=1 \
						pgb "exact.$sys" b_naive exact_naive.sql "$LAT_CLIENTS" "$LAT_DURATION"
					;;
				*) LATLOG=1 pgb "exact.$sys" "${DB[$sys]}" "exact_${sys%_hist}.sql" "$LAT_CLIENTS" "$LAT_DURATION" ;;
			esac
		done
		for sys in session session_hist session_count naive raw; do
			present "$sys" || continue
			case $sys in
				session_count) LATLOG=1 pgb "prefix.$sys" b_session prefix_count_session.sql "$LAT_CLIENTS" "$LAT_DURATION" ;;
				*) LATLOG=1 pgb "prefix.$sys" "${DB[$sys]}" "prefix_${sys%_hist}.sql" "$LAT_CLIENTS" "$LAT_DURATION" ;;
			esac
		done
		for sys in session naive; do
			present "$sys" || continue
			pgb "unanchored.$sys" "${DB[$sys]}" "unanchored_$sys.sql" "$CLIENTS" "$DURATION"
		done
		note "listing round $r done"
	done
	# rows per call (the same facts in every system): the 90 patterns of each
	# kind match disjoint sets of users, so their average is a count / 90
	local db=b_naive from="naive.sessions WHERE end_time IS NULL AND"
	has session && db=b_session from="session_storage.sessions WHERE"
	q "$db" "SELECT count(*) / 90.0 FROM $from username ~ '[1-9][0-9]\$'" >"$DATA/unanchored.rows"
	q "$db" "SELECT count(*) / 90.0 FROM $from username ~ '^user[1-9][0-9]'" >"$DATA/prefix.rows"
}

# batched heartbeats
wl_batch() {
	local r sys
	say "bench: batched heartbeats ($ROUNDS rounds)"
	for ((r = 1; r <= ROUNDS; r++)); do
		for sys in session raw naive; do
			present "$sys" || continue
			[ "$sys" = naive ] && ! present naive_batch && continue
			pgb "batch.$sys" "${DB[$sys]}" "batch_$sys.sql" "$CLIENTS" "$DURATION"
		done
		note "batch round $r done"
	done
}

# lifecycle: open, 2 heartbeats, close
wl_lifecycle() {
	local r sys
	say "bench: lifecycle ($ROUNDS rounds)"
	for ((r = 1; r <= ROUNDS; r++)); do
		for sys in session spring cps naive raw session_listen; do
			present "$sys" || continue
			if [ "$sys" = session_listen ]; then
				# an application node listening to the events (and reading them,
				# five times a second): session then queues a NOTIFY per open and close
				(while sleep 0.2; do echo "SELECT 1;"; done) |
					psql -X -q -d b_session -c "LISTEN session_events" -f - >/dev/null 2>&1 &
				local listener=$!
				sleep 0.5
				pgb "lifecycle.$sys" b_session lifecycle_session.sql "$CLIENTS" "$DURATION"
				kill "$listener" 2>/dev/null
				wait "$listener" 2>/dev/null
			else
				pgb "lifecycle.$sys" "${DB[$sys]}" "lifecycle_$sys.sql" "$CLIENTS" "$DURATION"
			fi
		done
		note "lifecycle round $r done"
	done
}

# heap size before / after HEAP_HEARTBEATS single heartbeats on HEAP_SESSIONS sessions
wl_heap() {
	has session || return 0
	say "bench: heap growth ($HEAP_HEARTBEATS heartbeats on $HEAP_SESSIONS sessions)"
	local per=$(((HEAP_HEARTBEATS + CLIENTS - 1) / CLIENTS)) t0 t1
	q b_heap "SELECT pg_relation_size('session_storage.sessions'), pg_total_relation_size('session_storage.sessions')" >"$DATA/heap.before"
	t0=$(date +%s.%N)
	pgbench -n -M prepared -c "$CLIENTS" -j "$THREADS" -t "$per" -D nheap="$HEAP_SESSIONS" \
		-f "$HERE/pgbench/heap_session.sql" b_heap >"$LOGS/heap.out" 2>&1 ||
		note "pgbench heap exited $? (see $LOGS/heap.out)"
	t1=$(date +%s.%N)
	sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$LOGS/heap.out" >"$DATA/heap.tps"
	calc "$t1 - $t0" >"$DATA/heap.seconds"
	sleep 1
	q b_heap "SELECT pg_relation_size('session_storage.sessions'), pg_total_relation_size('session_storage.sessions')" >"$DATA/heap.after"
	q b_heap "SELECT n_tup_upd, n_tup_hot_upd, autovacuum_count, n_dead_tup FROM pg_stat_user_tables WHERE relid = 'session_storage.sessions'::regclass" >"$DATA/heap.stats"
}

# expire EXPIRE_IDLE idle sessions while CLIENTS clients heartbeat EXPIRE_ACTIVE others
# expire_run DB RATE KEY: expire the idle sessions of DB while CLIENTS clients
# heartbeat the active ones at RATE heartbeats/s (0: as fast as they can), in
# 1-second pgbench runs until expiry is over (so they cover it however long it
# takes, and each run still reports its failures); results in DATA/KEY.*
expire_run() {
	local db=$1 rate=$2 key=$3 d0 d1 loop t0 t1
	local -a rate_opt=()
	[ "$rate" -gt 0 ] && rate_opt=(-R "$rate")
	d0=$(q postgres "SELECT sum(deadlocks) FROM pg_stat_database")
	q "$db" "SELECT count(*) FROM session_storage.sessions WHERE last_comm < now() - interval '30 minutes'" >"$DATA/$key.idle"
	rm -rf "$WORK/lat" "$WORK/expire.done" && mkdir -p "$WORK/lat"
	(
		i=0
		while [ ! -f "$WORK/expire.done" ] && [ "$i" -lt 600 ]; do
			i=$((i + 1))
			pgbench -n -M prepared -c "$CLIENTS" -j "$THREADS" -T 1 "${rate_opt[@]}" \
				-D afirst=$((EXPIRE_IDLE + 1)) -D alast=$((EXPIRE_IDLE + EXPIRE_ACTIVE)) \
				-l --log-prefix="$WORK/lat/tx$i" \
				-f "$HERE/pgbench/expire_hb_session.sql" "$db" >"$LOGS/$key-hb-$i.out" 2>&1
		done
	) &
	loop=$!
	sleep 1
	t0=$(date +%s.%N)
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" >"$LOGS/$key.out" 2>&1 <<-'SQL'
		SHOW session.idle_timeout;
		SELECT clock_timestamp() AS t0 \gset
		SELECT session.expire_sessions();
		SELECT extract(epoch FROM clock_timestamp() - :'t0');
	SQL
	echo $? >"$DATA/$key.rc"
	t1=$(date +%s.%N)
	sleep 1
	touch "$WORK/expire.done"
	wait "$loop"
	sed -n 1p "$LOGS/$key.out" >"$DATA/$key.timeout"
	sed -n 2p "$LOGS/$key.out" >"$DATA/$key.count"
	sed -n 3p "$LOGS/$key.out" >"$DATA/$key.seconds"
	sleep 1
	d1=$(q postgres "SELECT sum(deadlocks) FROM pg_stat_database")
	echo $((d1 - d0)) >"$DATA/$key.deadlocks"
	cat "$LOGS/$key"-hb-*.out | awk '
		/^number of failed transactions: / {f += $5}
		/aborted in command|ERROR/ {f++}
		END {print f + 0}' >"$DATA/$key.errors"
	# heartbeats that ended while expire_sessions() ran, and the slowest of them
	# (its own time: with -R pgbench counts from the scheduled start, the lag is $7)
	cat "$WORK"/lat/tx* 2>/dev/null | awk -v t0="$t0" -v t1="$t1" '
		{t = $5 + $6 / 1e6; x = $3 - (NF >= 7 ? $7 : 0); if (t >= t0 && t <= t1) {n++; if (x > m) m = x}}
		END {printf "%d %.3f %.6g\n", n, m / 1000, n / (t1 - t0)}' >"$DATA/$key.hb"
}

wl_expire() {
	has session || return 0
	say "bench: expiry of $EXPIRE_IDLE idle sessions under heartbeats"
	expire_run b_expire "$EXPIRE_RATE" expire
	if [ "$EXTRAS" = 1 ] && [ "$EXPIRE_RATE" -gt 0 ]; then
		expire_run b_expire_max 0 expire_max
	fi
}

# get_user_context() in an RLS policy vs a constant, as a non-superuser
wl_rls() {
	has session || return 0
	say "bench: RLS policy with get_user_context() vs a constant ($RLS_ROWS rows)"
	local i script=$WORK/rls.sql
	{
		echo "SELECT session.set_user_context('user42');"
		echo "SELECT count(*) FROM docs_a; SELECT count(*) FROM docs_b;"
		printf '%s\n' '\timing on'
		for ((i = 1; i <= RLS_REPEAT; i++)); do
			if ((i % 2)); then
				echo "SELECT 'a', count(*) FROM docs_a;"
				echo "SELECT 'b', count(*) FROM docs_b;"
			else
				echo "SELECT 'b', count(*) FROM docs_b;"
				echo "SELECT 'a', count(*) FROM docs_a;"
			fi
		done
	} >"$script"
	psql -X -q -A -t -v ON_ERROR_STOP=1 -U bench_rls -d b_rls -f "$script" >"$LOGS/rls.out" 2>&1 ||
		note "RLS run failed (see $LOGS/rls.out)"
	awk -F'|' -v dir="$DATA" '
		$1 == "a" || $1 == "b" {w = $1; next}
		/^Time: / && w != "" {split($0, t, " "); print t[2] > (dir "/rls." w); w = ""}' "$LOGS/rls.out"
	grep '^[ab]|' "$LOGS/rls.out" | sort -u >"$DATA/rls.counts"
	psql -X -q -A -t -U bench_rls -d b_rls -c "SELECT session.set_user_context('user42')" \
		-c "EXPLAIN SELECT count(*) FROM docs_a" >"$DATA/rls.plan_a" 2>&1
	psql -X -q -A -t -U bench_rls -d b_rls -c "EXPLAIN SELECT count(*) FROM docs_b" >"$DATA/rls.plan_b" 2>&1
}

for w in listing batch lifecycle heap expire rls; do
	wants "$w" && "wl_$w"
done
TOTAL_SECONDS=$(elapsed)

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
REPORT=$OUT/latest.md
SUMMARY=$WORK/summary.md
: >"$SUMMARY"
# target NAME TARGET MEASURED MET
target() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4" >>"$SUMMARY"; }
failed_note() {
	local f
	f=$(awk '{s += $1} END {print s + 0}' "$DATA/$1.failed" 2>/dev/null)
	if [ -n "$f" ] && [ "$f" != 0 ]; then echo " ($f failed)"; fi
}

{
	pgver=$(q postgres "SELECT current_setting('server_version')")
	cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
	cmd=${BENCH_COMMAND:-}
	if [ -z "$cmd" ]; then
		cmd="make bench"
		for name in $(compgen -v BENCH_ | sort); do
			case $name in BENCH_INNER | BENCH_OUT | BENCH_COMMAND | BENCH_KEEP) continue ;; esac
			cmd+=" $name=${!name}"
		done
	fi
	echo "### Benchmark results"
	echo
	echo "Made by \`$cmd\` on $(date -u '+%Y-%m-%d %H:%M UTC'): PostgreSQL $pgver, $(nproc) cores ($cpu)."
	echo "One throwaway cluster, every system in its own database (locale $LOCALE): fsync = on,"
	echo "synchronous_commit = $SYNC_COMMIT, shared_buffers = 1GB, autovacuum on, the same for all."
	echo "pgbench -M prepared, $CLIENTS clients / $THREADS threads unless noted; $ROUNDS round$([ "$ROUNDS" = 1 ] || echo s) of ${DURATION} s"
	echo "(latency runs: $LAT_CLIENTS client, ${LAT_DURATION} s), systems alternating within each round; medians of the rounds."
	echo "Data: $(fmt "$OPEN") open sessions over $(fmt "$USERS") users in every system, bulk-loaded; the"
	echo "\"with history\" database adds $(fmt "$HISTORY") ended sessions. Set-up $SETUP_SECONDS s, total $TOTAL_SECONDS s."
	echo "Load average before the run: ${LOAD_START:-?} (other work sharing the cores; about 0 on an idle machine)."
	echo

	if wants lifecycle; then
		s=$(median lifecycle.session.tps)
		echo "#### Lifecycle: open, heartbeat twice, close (one pgbench transaction)"
		echo
		echo "| system | lifecycles/s (median) | rounds | session ÷ system | target | met? |"
		echo "|---|---:|---|---:|---|---|"
		for sys in session spring cps naive raw session_listen; do
			present "$sys" || continue
			v=$(median "lifecycle.$sys.tps")
			ratio="" tg="" m=""
			[ -n "$s" ] && [ -n "$v" ] && ratio=$(calc "$s / $v")
			case $sys in
				spring) tg="≥ 1.5" m=$(met "$ratio" ">=" 1.5) ;;
				naive) tg="≥ 1.3" m=$(met "$ratio" ">=" 1.3) ;;
				raw) tg="≥ 0.9" m=$(met "$ratio" ">=" 0.9) ;;
			esac
			[ -n "$tg" ] && has session && target "lifecycle vs ${LABEL[$sys]}" "$tg×" "$(fmt "$ratio" 2)×" "$m"
			echo "| ${LABEL[$sys]} | $(fmt "$v")$(failed_note "lifecycle.$sys") | $(values "lifecycle.$sys.tps" | xargs -n1 printf '%.0f ' 2>/dev/null) | $( [ -n "$ratio" ] && fmt "$ratio" 2 || echo n/a) | $tg | $m |"
		done
		echo
	fi

	if wants batch; then
		echo "#### Batched heartbeats ($BATCH sessions a call)"
		echo
		echo "| system | session heartbeats/s (median) | rounds (calls/s) | session ÷ system | target | met? |"
		echo "|---|---:|---|---:|---|---|"
		s=$(median batch.session.tps)
		for sys in session raw naive; do
			present "$sys" || continue
			[ "$sys" = naive ] && ! present naive_batch && continue
			v=$(median "batch.$sys.tps")
			hb=
			[ -n "$v" ] && hb=$(calc "$v * $BATCH")
			ratio=
			[ -n "$s" ] && [ -n "$v" ] && ratio=$(calc "$s / $v")
			tg="" m=""
			if [ "$sys" = session ]; then
				tg="≥ 300,000/s" m=$(met "$hb" ">=" 300000)
				target "batched heartbeats" "$tg" "$(fmt "$hb")/s" "$m"
			fi
			label=${LABEL[$sys]}
			[ "$sys" = raw ] && label="raw (UPDATE ... FROM unnest)"
			[ "$sys" = naive ] && label="naive (its heartbeat per id)"
			echo "| $label | $(fmt "$hb")$(failed_note "batch.$sys") | $(values "batch.$sys.tps" | xargs -n1 printf '%.0f ' 2>/dev/null) | $( [ -n "$ratio" ] && fmt "$ratio" 2 || echo n/a) | $tg | $m |"
		done
		echo
	fi

	if wants listing; then
		s=$(median exact.session.p50)
		echo "#### Exact-username listing ($(fmt "$OPEN") open sessions, $(fmt "$USERS") users, ~$((OPEN / USERS)) rows a call)"
		echo
		echo "Latency of one call with the rows sent to the client, $LAT_CLIENTS client, from pgbench's per-transaction log."
		echo
		echo "| system | p50 ms (median) | p95 ms | calls/s | system p50 ÷ session p50 | target | met? |"
		echo "|---|---:|---:|---:|---:|---|---|"
		for sys in session session_hist spring cps naive naive_generic raw; do
			present "$sys" || continue
			v=$(median "exact.$sys.p50")
			ratio=
			[ -n "$s" ] && [ -n "$v" ] && ratio=$(calc "$v / $s")
			tg="" m=""
			case $sys in
				session)
					tg="p50 < 0.2 ms" m=$(met "$v" "<" 0.2)
					target "exact-username listing p50" "< 0.2 ms" "$(fmt "$v" 3) ms" "$m"
					;;
				naive)
					tg="≥ 50×" m=$(met "$ratio" ">=" 50)
					target "exact-username listing vs naive" "≥ 50×" "$(fmt "$ratio" 1)×" "$m"
					;;
			esac
			echo "| ${LABEL[$sys]} | $(fmt "$v" 3)$(failed_note "exact.$sys") | $(fmt "$(median "exact.$sys.p95")" 3) | $(fmt_rate "$(median "exact.$sys.tps")") | $( [ -n "$ratio" ] && fmt "$ratio" 1 || echo n/a) | $tg | $m |"
		done
		echo

		rows=$(cat "$DATA/prefix.rows" 2>/dev/null)
		echo "#### Literal-prefix regex ('userNN.*', NN random 10–99, like 'user12.*'; ~$(fmt "$rows") rows a call)"
		echo
		echo "| system | p50 ms (median) | p95 ms | calls/s | system p50 ÷ session p50 | target | met? |"
		echo "|---|---:|---:|---:|---:|---|---|"
		s=$(median prefix.session.p50)
		for sys in session session_hist session_count naive raw; do
			present "$sys" || continue
			v=$(median "prefix.$sys.p50")
			ratio=
			[ -n "$s" ] && [ -n "$v" ] && ratio=$(calc "$v / $s")
			tg="" m=""
			if [ "$sys" = session ]; then
				tg="p50 < 2 ms" m=$(met "$v" "<" 2)
				target "literal-prefix regex p50" "< 2 ms" "$(fmt "$v" 2) ms" "$m"
			fi
			echo "| ${LABEL[$sys]} | $(fmt "$v" 3)$(failed_note "prefix.$sys") | $(fmt "$(median "prefix.$sys.p95")" 3) | $(fmt_rate "$(median "prefix.$sys.tps")") | $( [ -n "$ratio" ] && fmt "$ratio" 1 || echo n/a) | $tg | $m |"
		done
		echo

		rows=$(cat "$DATA/unanchored.rows" 2>/dev/null)
		echo "#### Unanchorable regex ('.*NN', NN random 10–99, like '.*99'; ~$(fmt "$rows") rows a call, $CLIENTS clients)"
		echo
		echo "| system | rows/s (median) | calls/s | session ÷ system | target | met? |"
		echo "|---|---:|---:|---:|---|---|"
		s=$(median unanchored.session.tps)
		for sys in session naive; do
			present "$sys" || continue
			v=$(median "unanchored.$sys.tps")
			rws=
			[ -n "$v" ] && [ -n "$rows" ] && rws=$(calc "$v * $rows")
			ratio=
			[ -n "$s" ] && [ -n "$v" ] && ratio=$(calc "$s / $v")
			tg="" m=""
			if [ "$sys" = naive ]; then
				tg="≥ 1.5×" m=$(met "$ratio" ">=" 1.5)
				has session && target "unanchorable regex vs naive (rows/s)" "≥ 1.5×" "$(fmt "$ratio" 2)×" "$m"
			fi
			echo "| ${LABEL[$sys]} | $(fmt "$rws")$(failed_note "unanchored.$sys") | $(fmt "$v" 1) | $( [ -n "$ratio" ] && fmt "$ratio" 2 || echo n/a) | $tg | $m |"
		done
		echo

		if present session_hist; then
			echo "#### Listing with $(fmt "$HISTORY") ended sessions in history vs none"
			echo
			echo "| listing | p50 ms, no history | p50 ms, with history | with ÷ without | target | met? |"
			echo "|---|---:|---:|---:|---|---|"
			for w in exact prefix; do
				a=$(median "$w.session.p50")
				b=$(median "$w.session_hist.p50")
				ratio=
				[ -n "$a" ] && [ -n "$b" ] && ratio=$(calc "$b / $a")
				m=$(met "$ratio" "<=" 1.1)
				target "$w listing, history vs none" "≤ 1.1×" "$(fmt "$ratio" 2)×" "$m"
				echo "| $w | $(fmt "$a" 3) | $(fmt "$b" 3) | $(fmt "$ratio" 2) | ≤ 1.1× | $m |"
			done
			echo
		fi
	fi

	if wants heap && has session && [ -s "$DATA/heap.before" ]; then
		IFS='|' read -r hb0 tb0 <"$DATA/heap.before"
		IFS='|' read -r hb1 tb1 <"$DATA/heap.after"
		IFS='|' read -r upd hot avc _ <"$DATA/heap.stats"
		ratio=$(calc "$hb1 / $hb0")
		m=$(met "$ratio" "<=" 1.5)
		target "heap after $(fmt "$HEAP_HEARTBEATS") heartbeats on $(fmt "$HEAP_SESSIONS") sessions" "≤ 1.5× before" "$(fmt "$ratio" 2)×" "$m"
		echo "#### Heap size after $(fmt "$HEAP_HEARTBEATS") heartbeats on $(fmt "$HEAP_SESSIONS") sessions ($CLIENTS clients, autovacuum on)"
		echo
		echo "| | before | after | after ÷ before | target | met? |"
		echo "|---|---:|---:|---:|---|---|"
		echo "| session_storage.sessions heap | $(fmt "$((hb0 / 1024))") kB | $(fmt "$((hb1 / 1024))") kB | $(fmt "$ratio" 2) | ≤ 1.5× | $m |"
		echo "| with indexes | $(fmt "$((tb0 / 1024))") kB | $(fmt "$((tb1 / 1024))") kB | $(fmt "$(calc "$tb1 / $tb0")" 2) | | |"
		echo
		echo "$(fmt "$upd") updates, $(fmt "$hot") of them heap-only (HOT, $(fmt "$(calc "100 * $hot / ($upd > 0 ? $upd : 1)")" 1)%);"
		echo "$(fmt "$(cat "$DATA/heap.tps")") heartbeats/s; autovacuum ran $avc times on the table."
		echo
	fi

	if wants expire && has session && [ -s "$DATA/expire.rc" ]; then
		secs=$(cat "$DATA/expire.seconds")
		cnt=$(cat "$DATA/expire.count")
		dl=$(cat "$DATA/expire.deadlocks")
		er=$(cat "$DATA/expire.errors")
		m1=$(met "$secs" "<" 2)
		m2=$(met "$dl" "<=" 0)
		m3=$(met "$er" "<=" 0)
		target "expire $(fmt "$EXPIRE_IDLE") idle sessions under heartbeats" "< 2 s" "$(fmt "$secs" 2) s" "$m1"
		target "deadlocks / heartbeat errors during expiry" "0 / 0" "$dl / $er" "$( [ "$m2" = yes ] && [ "$m3" = yes ] && echo yes || echo '**no**')"
		keys=(expire)
		[ -s "$DATA/expire_max.rc" ] && keys+=(expire_max)
		rate_label="$(fmt "$EXPIRE_RATE") heartbeats/s"
		[ "$EXPIRE_RATE" -gt 0 ] || rate_label="heartbeats as fast as they go"
		echo "#### Expire $(fmt "$EXPIRE_IDLE") idle sessions while $CLIENTS clients heartbeat $(fmt "$EXPIRE_ACTIVE") others"
		echo
		echo "session.expire_sessions() (idle_timeout $(cat "$DATA/expire.timeout")) timed by the server while pgbench heartbeats the active sessions."
		echo
		head="| measure | $rate_label |"
		rule="|---|---:|"
		[ "${#keys[@]}" -gt 1 ] && head+=" heartbeats as fast as they go |" rule+="---:|"
		echo "$head target | met? |"
		echo "$rule---|---|"
		row() { # LABEL TARGET MET CELL...
			local label=$1 tg=$2 mt=$3 line
			shift 3
			line="| $label |"
			for c in "$@"; do line+=" $c |"; done
			echo "$line $tg | $mt |"
		}
		cells() { # FORMAT-COMMAND per key
			local k
			for k in "${keys[@]}"; do "$@" "$k"; done
		}
		c_secs() { echo "$(fmt "$(cat "$DATA/$1.seconds")" 3) s"; }
		c_count() { echo "$(fmt "$(cat "$DATA/$1.count")") of $(fmt "$(cat "$DATA/$1.idle")")"; }
		c_dl() { cat "$DATA/$1.deadlocks"; }
		c_err() { cat "$DATA/$1.errors"; }
		c_hb() { local n mx r; read -r n mx r <"$DATA/$1.hb"; echo "$(fmt "$n") ($(fmt "$r")/s)"; }
		c_max() { local n mx r; read -r n mx r <"$DATA/$1.hb"; echo "$(fmt "$mx" 1) ms"; }
		mapfile -t v < <(cells c_secs)
		row "expire_sessions() time" "< 2 s" "$m1" "${v[@]}"
		mapfile -t v < <(cells c_count)
		row "sessions it ended, of the idle ones" "all" "$(met "$cnt" ">=" "$EXPIRE_IDLE")" "${v[@]}"
		mapfile -t v < <(cells c_dl)
		row "deadlocks (pg_stat_database)" "0" "$m2" "${v[@]}"
		mapfile -t v < <(cells c_err)
		row "heartbeat errors" "0" "$m3" "${v[@]}"
		mapfile -t v < <(cells c_hb)
		row "heartbeats while it ran" "" "" "${v[@]}"
		mapfile -t v < <(cells c_max)
		row "slowest of those heartbeats" "" "" "${v[@]}"
		echo
	fi

	if wants rls && has session && [ -s "$DATA/rls.a" ]; then
		a=$(sort -g "$DATA/rls.a" | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')
		b=$(sort -g "$DATA/rls.b" | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')
		ratio=$(calc "$a / $b")
		m=$(met "$ratio" "<=" 1.2)
		target "RLS policy with get_user_context() vs constant" "≤ 1.2×" "$(fmt "$ratio" 2)×" "$m"
		pa=$(grep -c 'Parallel' "$DATA/rls.plan_a")
		pb=$(grep -c 'Parallel' "$DATA/rls.plan_b")
		echo "#### get_user_context() in an RLS policy over $(fmt "$RLS_ROWS") rows (full-scan count(*), non-superuser)"
		echo
		echo "| policy | median ms ($RLS_REPEAT runs each, alternating) | plan | ratio | target | met? |"
		echo "|---|---:|---|---:|---|---|"
		echo "| owner = session.get_user_context() | $(fmt "$a" 1) | $( [ "$pa" -gt 0 ] && echo parallel || echo serial) | $(fmt "$ratio" 2) | ≤ 1.2× | $m |"
		echo "| owner = 'user42' | $(fmt "$b" 1) | $( [ "$pb" -gt 0 ] && echo parallel || echo serial) | 1.00 | | |"
		echo
		echo "Rows visible: $(paste -sd' ' "$DATA/rls.counts" | sed 's/|/: /g')."
		echo
	fi

	if [ -s "$SUMMARY" ]; then
		echo "#### Targets"
		echo
		echo "| target | goal | measured | met? |"
		echo "|---|---|---|---|"
		cat "$SUMMARY"
		echo
	fi

	echo "Notes:"
	echo
	echo "- Spring Session JDBC and connect-pg-simple are emulated with their own schemas and the"
	echo "  statements they issue (test/bench/sql, test/bench/pgbench); the SELECT each issues to load"
	echo "  the session on every request is left out, in their favour. Neither keeps history: a"
	echo "  logout deletes the row, while session, naive and raw keep every ended session."
	echo "- session is preloaded (shared_preload_libraries), as the README installs it, so it"
	echo "  queues NOTIFY session_events only while some connection LISTENs: none does in the"
	if [ "$EXTRAS" = 1 ]; then
		echo "  rows with targets; the \"LISTENing\" lifecycle row shows the cost when one does."
	else
		echo "  rows here. The other systems send no events."
	fi
	echo "- Listing latency is one call's time as pgbench sees it over a Unix socket, rows included."
	[ "$EXTRAS" = 1 ] && echo "  The \"count(*) on the server\" row leaves out sending the rows."
	echo "- The databases use locale $LOCALE, as a stock cluster does. Under locale C, naive's"
	echo "  btree index on username could also serve its regex's literal prefix."
	if [ "$HAVE_SESSION" = 0 ]; then
		echo "- The session extension was not installed: its rows are missing."
	fi
	if [ "$HARNESS_ERRORS" -gt 0 ]; then
		echo "- $HARNESS_ERRORS harness errors (see the output above)."
	fi
} >"$REPORT"

say "bench: results"
cat "$REPORT"
if [ -z "${BENCH_OUT:-}" ]; then
	mkdir -p "$HERE/results" && cp "$REPORT" "$HERE/results/latest.md" &&
		echo "bench: tables written to test/bench/results/latest.md"
	rm -rf "$OUT"
fi
[ "$HARNESS_ERRORS" -eq 0 ]
