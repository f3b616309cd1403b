#!/usr/bin/env bash
# make bench: benchmarks the session extension against the session stores people
# use today, in a throwaway cluster (pg_virtualenv), and appends what it measures to
# test/bench/results/results.tsv (run, table, row, round, metric, value); then
# test/bench/report.py renders the markdown tables (printed, and written to
# test/bench/results/latest.md); report.py --doc writes a run into
# doc/performance.md's results sections.
#
# The timed pgbench rows are data: test/bench/workloads.tsv (one line a row: its
# table, database, pgbench script, flags, label), test/bench/tables.tsv (how each
# table is measured and titled) and test/bench/targets.tsv (the goals). Adding a row
# is a pgbench script in test/bench/pgbench and a line in workloads.tsv. Heap growth,
# expiry under heartbeats and the RLS policy are measured by the functions wl_heap,
# wl_expire and wl_rls below.
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
#   BENCH_QUICK=1            reduced run, about 5 minutes on 2 cores
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
#   BENCH_WORKLOADS (all)    any of: listing batch lifecycle heap expire rls hbuf report
#   BENCH_REPORT_IMPORT (100000)  sessions (with a login each) imported in one call
#   BENCH_REPORT_HISTORY (10000000 / 1000000)  ended sessions for the point-in-time
#                            listing, over BENCH_REPORT_DAYS (90) days; the instants
#                            asked are 30 days back, BENCH_REPORT_REPEAT (21 / 11) of them
#   BENCH_HBUF_WAL (2000000 / 200000)  single heartbeats for the heartbeat buffer's
#                            WAL row (on BENCH_EXPIRE_ACTIVE sessions); its batched row
#                            takes BENCH_BATCH ids a call (the published figure: 10000)
#   BENCH_MACHINE            what the published page says the machine is (default:
#                            the cores and CPU model)
#   BENCH_PORT               port of the cluster (default: the first free one from 5432)
#   BENCH_KEEP=1             keep the working directory (logs) in /tmp
#   BENCH_BUILD=0            as root, do not run make / make install first
#   BENCH_BASELINE           a git ref (a tag such as v0.2.0, a branch, a commit): run
#                            every selected row for that version too, side by side; see
#                            "Side by side" below
#   BENCH_BASELINE_PORT      port of the baseline's cluster (default: BENCH_PORT + 1 when
#                            BENCH_PORT is set, else the first free one)
# Benchmarks report; they never fail. The exit status is non-zero only when the
# harness itself breaks (no cluster, a set-up step failing). As root, it builds and
# installs the extension first (BENCH_BUILD=0: not) and runs as postgres in a copy
# of the tree.
#
# Side by side (BENCH_BASELINE=REF): the machine's load moves from minute to minute, so
# two versions are compared only within one run. The ref's committed tree (git archive)
# is built with the same PG_CONFIG and installed into a private directory, never into
# PostgreSQL's; it gets a second throwaway cluster whose extension_destdir (Debian's
# setting, which pg_virtualenv -p uses the same way) and dynamic_library_path point at
# that directory, so the baseline's cluster loads the baseline's session.so, control file
# and scripts while the current tree's cluster loads the installed ones; both run at once,
# with the same options. Every set-up step and workload runs in both clusters, the same
# scripts of the current tree; each timed row runs in both, back to back, the baseline
# first in odd rounds and second in even ones. Each cluster's figures are a run of their
# own in results.tsv (the baseline's run id ends in -baseline and comes first, so
# report.py still renders the current tree's run), and test/bench/compare.py renders
# the side-by-side table: medians of both, their ratio, the median and range of the
# rounds' own ratios, and the figures worse than 10% marked (results/comparison.md).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=test/scripts/lib.sh
source "$ROOT/test/scripts/lib.sh"

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
[ "$WORKLOADS" = all ] && WORKLOADS="listing batch lifecycle heap expire rls hbuf report"
REPORT_IMPORT=${BENCH_REPORT_IMPORT:-100000}
REPORT_HISTORY=${BENCH_REPORT_HISTORY:-$(q_or 10000000 1000000)}
REPORT_DAYS=${BENCH_REPORT_DAYS:-90}
REPORT_REPEAT=${BENCH_REPORT_REPEAT:-$(q_or 21 11)}
HBUF_WAL=${BENCH_HBUF_WAL:-$(q_or 2000000 200000)}
[ -z "${BENCH_PORT:-}" ] || export SESSION_TEST_PORT=$BENCH_PORT
BASELINE=${BENCH_BASELINE:-}
BASELINE_PORT=${BENCH_BASELINE_PORT:-}
[ -n "$BASELINE_PORT" ] || [ -z "${BENCH_PORT:-}" ] || BASELINE_PORT=$((BENCH_PORT + 1))
LOAD_CHUNK=250000
NBLOCKS=$((OPEN / BATCH))
[ "$THREADS" -gt "$CLIENTS" ] && THREADS=$CLIENTS


# ---------------------------------------------------------------------------
# Between the clusters (BENCH_BASELINE): run by pg_virtualenv in the baseline's
# cluster, this notes that cluster's port and runs the rest of the command line,
# which makes the current tree's cluster and runs the benchmark in it
# ---------------------------------------------------------------------------
if [ "${1:-}" = --in-baseline-cluster ]; then
	shift
	export BENCH_BASELINE_PGPORT=$PGPORT
	clean_pg_env
	exec "$@"
fi

# build_baseline DIR: the committed tree of BASELINE (git archive) built in DIR/src
# and installed under DIR/destdir, readable by the server
build_baseline() {
	local dir=$1 rev
	if ! rev=$(git -C "$ROOT" rev-parse --verify --quiet "$BASELINE^{commit}"); then
		echo "bench: BENCH_BASELINE=$BASELINE is not a commit of the repository at $ROOT"
		return 1
	fi
	BENCH_BASELINE_REV=$(git -C "$ROOT" describe --tags --always "$rev")
	mkdir -p "$dir/src" || return 1
	if ! { git -C "$ROOT" archive "$rev" | tar -x -C "$dir/src" &&
		(cd "$dir/src" && pgxs_make -s && pgxs_make -s install DESTDIR="$dir/destdir"); } >"$dir/build.log" 2>&1; then
		tail -n 30 "$dir/build.log"
		echo "bench: $BASELINE did not build"
		return 1
	fi
	chmod -R a+rX "$dir"
}

# ---------------------------------------------------------------------------
# Outside the cluster: build and install (as root), make the cluster, run the rest
# of this script in it, append its results to results.tsv and render the report.
# ---------------------------------------------------------------------------
if [ "${1:-}" != --in-cluster ]; then
	RESULTS_DIR=$HERE/results
	out=$(mktemp -d /tmp/session-bench-out.XXXXXX) || exit 1
	if [ "$(id -u)" -eq 0 ] && [ "${BENCH_BUILD:-1}" = 1 ]; then
		say "build and install the extension (make, make install)"
		if ! (cd "$ROOT" && pgxs_make -s && pgxs_make -s install) >"$out/build.log" 2>&1; then
			tail -n 30 "$out/build.log"
			echo "bench: the extension did not build; the session rows are skipped"
			[ -z "$BASELINE" ] || exit 1
		fi
	fi
	[ "$(id -u)" -ne 0 ] || chown postgres: "$out"
	base=
	if [ -n "$BASELINE" ]; then
		# the baseline's cluster finds its files through Debian's extension_destdir
		if ! grep -q extension_destdir "$("$PG_CONFIG" --sharedir)/postgresql.conf.sample"; then
			echo "bench: BENCH_BASELINE needs a PostgreSQL with Debian's extension_destdir setting"
			echo "bench: (the packages of Debian and apt.postgresql.org have it)"
			exit 1
		fi
		if [ ! -f "$("$PG_CONFIG" --pkglibdir)/session.so" ]; then
			echo "bench: BENCH_BASELINE compares with the installed extension, and it is not installed"
			exit 1
		fi
		base=$(mktemp -d /tmp/session-bench-baseline.XXXXXX) || exit 1
		say "build the baseline, $BASELINE, in $base"
		build_baseline "$base" || exit 1
		BENCH_CURRENT_REV=$(git -C "$ROOT" describe --tags --always --dirty 2>/dev/null || echo "the working tree")
		BENCH_BASELINE_DESTDIR=$base/destdir
	fi
	conf=(-o "fsync=on" -o "synchronous_commit=$SYNC_COMMIT" -o "shared_buffers=1GB"
		-o "maintenance_work_mem=256MB" -o "max_wal_size=8GB" -o "min_wal_size=1GB"
		-o "checkpoint_timeout=30min" -o "session.database=postgres" -o "log_min_messages=warning")
	# The heartbeat buffer (issue 12) serves the worker's database only: the hbuf rows
	# run in b_hbuf, which the worker serves (expiring nothing there by itself: its
	# idle_timeout is 0); every other session database writes through.
	if [[ " $WORKLOADS " == *" hbuf "* ]]; then
		conf+=(-o "session.database=b_hbuf" -o "session.reaper_interval=3600"
			-o "session.heartbeat_slots=$((EXPIRE_IDLE + EXPIRE_ACTIVE + 100000))")
	fi
	if [ ! -f "$("$PG_CONFIG" --pkglibdir)/session.so" ]; then
		conf+=(-o "shared_preload_libraries=")
	fi
	if [ -z "${BENCH_COMMAND:-}" ]; then
		BENCH_COMMAND="make bench"
		for name in $(compgen -v BENCH_ | sort); do
			case $name in
				BENCH_COMMAND | BENCH_KEEP | BENCH_BUILD | BENCH_MACHINE | BENCH_*_REV | BENCH_BASELINE_DESTDIR) continue ;;
			esac
			BENCH_COMMAND+=" $name=${!name}"
		done
	fi
	export BENCH_COMMAND
	clean_pg_env
	WORK=$(tree_for_postgres "$ROOT") || exit 1
	if [ -n "$BASELINE" ]; then
		# the baseline's cluster (its port: BASELINE_PORT), in which --in-baseline-cluster
		# makes the current tree's (its port: BENCH_PORT)
		base_conf=("${conf[@]}" -o "shared_preload_libraries=session"
			-o "extension_destdir=$BENCH_BASELINE_DESTDIR"
			-o "dynamic_library_path=$BENCH_BASELINE_DESTDIR$("$PG_CONFIG" --pkglibdir):\$libdir")
		export BENCH_BASELINE_REV BENCH_CURRENT_REV BENCH_BASELINE_DESTDIR
		(cd "$WORK" && BENCH_OUT=$out PGPORT=$BASELINE_PORT as_postgres "${VIRTUALENV[@]}" "${base_conf[@]}" \
			bash test/bench/run.sh --in-baseline-cluster \
			"${VIRTUALENV[@]}" "${conf[@]}" bash test/bench/run.sh --in-cluster)
	else
		(cd "$WORK" && BENCH_OUT=$out as_postgres "${VIRTUALENV[@]}" "${conf[@]}" bash test/bench/run.sh --in-cluster)
	fi
	rc=$?
	drop_tree_for_postgres "$ROOT" "$WORK"
	# the baseline's run first: report.py renders the last run of the file
	if [ -n "$BASELINE" ] && [ -s "$out/results.tsv" ] && [ -s "$out/results-baseline.tsv" ]; then
		mkdir -p "$RESULTS_DIR"
		[ -s "$RESULTS_DIR/results.tsv" ] || head -n 1 "$out/results-baseline.tsv" >"$RESULTS_DIR/results.tsv"
		tail -n +2 "$out/results-baseline.tsv" >>"$RESULTS_DIR/results.tsv"
	fi
	if [ -s "$out/results.tsv" ]; then
		mkdir -p "$RESULTS_DIR"
		[ -s "$RESULTS_DIR/results.tsv" ] || head -n 1 "$out/results.tsv" >"$RESULTS_DIR/results.tsv"
		tail -n +2 "$out/results.tsv" >>"$RESULTS_DIR/results.tsv"
		say "bench: results (test/bench/report.py)"
		if /usr/bin/python3 "$HERE/report.py" "$RESULTS_DIR/results.tsv" >"$RESULTS_DIR/latest.md"; then
			cat "$RESULTS_DIR/latest.md"
			echo "bench: rows appended to test/bench/results/results.tsv; tables in test/bench/results/latest.md"
		else
			rc=1
		fi
		if [ -n "$BASELINE" ]; then
			say "bench: side by side with $BASELINE (test/bench/compare.py)"
			if /usr/bin/python3 "$HERE/compare.py" "$RESULTS_DIR/results.tsv" >"$RESULTS_DIR/comparison.md"; then
				cat "$RESULTS_DIR/comparison.md"
				echo "bench: the side-by-side table in test/bench/results/comparison.md"
			else
				rc=1
			fi
		fi
	fi
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: kept $out${base:+ and $base}"
	else
		rm -rf "$out" ${base:+"$base"}
	fi
	exit "$rc"
fi

# ---------------------------------------------------------------------------
# In the cluster (as its owner): pgbench over the Unix socket
# ---------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/session-bench.XXXXXX)
START_TS=$(date +%s)
LOAD_START=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null)
RUN=$(date -u +%Y%m%dT%H%M%SZ)
# The sides: current, the cluster pg_virtualenv made for this script, and with
# BENCH_BASELINE the baseline's cluster first (BENCH_BASELINE_PGPORT). Each has its own
# port, run id, results file and logs; side_use SIDE points everything below at one
# (PGPORT, PGHOST, RUN, RESULTS, LOGS, DATABASES).
SIDES=current
declare -A PORT_OF=([current]=$PGPORT) RUN_OF=([current]=$RUN) LOGS_OF=([current]=$WORK/logs)
declare -A RESULTS_OF=([current]=${BENCH_OUT:?}/results.tsv) HOST_OF=() DBS_OF=()
if [ -n "${BENCH_BASELINE_PGPORT:-}" ]; then
	SIDES="baseline current"
	PORT_OF[baseline]=$BENCH_BASELINE_PGPORT
	RUN_OF[baseline]=$RUN-baseline
	LOGS_OF[baseline]=$WORK/logs-baseline
	RESULTS_OF[baseline]=$BENCH_OUT/results-baseline.tsv
fi
for side in $SIDES; do
	HOST_OF[$side]=$(PGPORT=${PORT_OF[$side]} psql -X -A -t -d postgres \
		-c "SELECT split_part(current_setting('unix_socket_directories'), ',', 1)") || exit 1
	mkdir -p "${LOGS_OF[$side]}"
	printf 'run\ttable\trow\tround\tmetric\tvalue\n' >"${RESULTS_OF[$side]}"
done
SIDE_TAG=
side_use() {
	SIDE=$1
	export PGPORT=${PORT_OF[$1]} PGHOST=${HOST_OF[$1]}
	RUN=${RUN_OF[$1]} RESULTS=${RESULTS_OF[$1]} LOGS=${LOGS_OF[$1]} DATABASES=${DBS_OF[$1]:-}
	# the side in the progress lines, when there are two
	[ "$SIDES" = current ] || SIDE_TAG=" ($1)"
}
# sides_of_round R: the sides in the order of round R (the baseline first in odd rounds)
sides_of_round() {
	if (($1 % 2)); then echo "$SIDES"; else echo "$SIDES" | tr ' ' '\n' | tac | tr '\n' ' '; fi
}
side_use current

# res TABLE ROW ROUND METRIC VALUE: one line of the results file
res() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$RUN" "$1" "$2" "$3" "$4" "${5:-}" >>"$RESULTS"
}

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
JOB_LOGS=$WORK/logs
: >"$JOB_FAIL"
job() {
	local name=$1
	shift
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS_MAX" ]; do
		wait -n
	done
	(
		local t0=$SECONDS
		# in a subshell of its own, so that an exit (set -u) counts as a failure too
		if ! ("$@") >"$JOB_LOGS/job-$name.log" 2>&1; then
			echo "$name" >>"$JOB_FAIL"
		fi
		echo "$name $((SECONDS - t0))" >>"$JOB_LOGS/job-times"
	) &
}
jobs_wait() {
	wait
	if [ -s "$JOB_FAIL" ]; then
		local name
		while read -r name; do
			harness_error "set-up job $name failed:"
			tail -n 15 "$JOB_LOGS/job-$name.log" >&2
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

# tps_of FILE: the tps pgbench printed
tps_of() {
	sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$1"
}

# ---------------------------------------------------------------------------
# pgbench
# ---------------------------------------------------------------------------
# pgb TABLE ROW ROUND DB SCRIPT CLIENTS SECONDS [pgbench options]: one run; records
# tps and failed, and with LATLOG=1 p50, p95 and max in ms from pgbench's
# per-transaction log.
PGB_RUN=0
pgb() {
	local table=$1 row=$2 round=$3 db=$4 script=$5 clients=$6 secs=$7
	shift 7
	local threads=$THREADS out rc tps failed aborted
	[ "$threads" -gt "$clients" ] && threads=$clients
	PGB_RUN=$((PGB_RUN + 1))
	out=$LOGS/pgbench-$PGB_RUN-$table-$row.out
	rm -rf "$WORK/lat" && mkdir -p "$WORK/lat"
	pgbench -n -M prepared -c "$clients" -j "$threads" -T "$secs" \
		-D users="$USERS" -D nblocks="$NBLOCKS" -D batch="$BATCH" \
		-D nheap="$HEAP_SESSIONS" -D afirst=$((EXPIRE_IDLE + 1)) \
		-D alast=$((EXPIRE_IDLE + EXPIRE_ACTIVE)) \
		${LATLOG:+-l --log-prefix="$WORK/lat/tx"} "$@" \
		-f "$HERE/pgbench/$script" "$db" >"$out" 2>&1
	rc=$?
	tps=$(tps_of "$out")
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out")
	aborted=$(grep -c 'aborted in command' "$out")
	res "$table" "$row" "$round" failed "$((${failed:-0} + aborted))"
	if [ -z "$tps" ] || [ "$rc" -ne 0 ]; then
		note "pgbench $table/$row ($script on $db) exited $rc; see below"
		tail -n 5 "$out" >&2
	fi
	[ -n "$tps" ] || return 0
	res "$table" "$row" "$round" tps "$tps"
	[ -n "${LATLOG:-}" ] || return 0
	cat "$WORK"/lat/tx.* 2>/dev/null | awk '{print $3 / 1000}' | sort -g | awk '
		{v[NR] = $1}
		END {
			if (NR == 0) exit;
			i95 = int(NR * 0.95 + 0.5); if (i95 < 1) i95 = 1;
			printf "p50 %.6g\np95 %.6g\nmax %.6g\n", v[int((NR + 1) / 2)], v[i95], v[NR] }' |
		while read -r metric value; do
			res "$table" "$row" "$round" "$metric" "$value"
		done
}

# ---------------------------------------------------------------------------
# Cluster
# ---------------------------------------------------------------------------
HAVE_SESSION=0
if [ "$(q postgres "SELECT current_setting('shared_preload_libraries') ~ 'session'")" = t ]; then
	HAVE_SESSION=1
fi
SYSTEMS="spring cps naive raw"
if [ "$HAVE_SESSION" = 1 ]; then
	SYSTEMS="session $SYSTEMS"
else
	note "the session extension is not installed; its rows are skipped"
fi
# session_library: the session.so the server of this side preloaded (the checkpointer
# maps what the postmaster loaded)
session_library() {
	local pid
	pid=$(q postgres "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
	awk '$6 ~ /\/session\.so$/ {print $6; exit}' "/proc/$pid/maps" 2>/dev/null
}
# Side by side: each cluster must run its own build, the baseline's from its directory
if [ "$SIDES" != current ]; then
	[ "$HAVE_SESSION" = 1 ] || {
		harness_error "the session extension is not preloaded in the current tree's cluster"
		exit 1
	}
	declare -A LIBRARY_OF=()
	for side in $SIDES; do
		side_use "$side"
		LIBRARY_OF[$side]=$(session_library)
		note "$side: ${LIBRARY_OF[$side]:-no session.so} on port $PGPORT"
	done
	side_use current
	if [[ ${LIBRARY_OF[baseline]} != "${BENCH_BASELINE_DESTDIR:?}"/* ]] ||
		[[ ${LIBRARY_OF[current]} == "$BENCH_BASELINE_DESTDIR"/* ]] || [ -z "${LIBRARY_OF[current]}" ]; then
		harness_error "the clusters do not run one build each (baseline: ${LIBRARY_OF[baseline]:-none}, current: ${LIBRARY_OF[current]:-none})"
		exit 1
	fi
fi
has() { [[ " $SYSTEMS " == *" $1 "* ]]; }
# the database of each system
declare -A DB=([session]=b_session [spring]=b_spring [cps]=b_cps [naive]=b_naive [raw]=b_raw)
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
# the heartbeat buffer's database, laid out as b_expire; the worker serves it and
# leaves its expiry to the benchmark (idle_timeout 0 for the worker only)
setup_hbuf() {
	create_db b_hbuf &&
		q postgres "ALTER DATABASE b_hbuf SET session.idle_timeout = 0" &&
		q b_hbuf "CREATE EXTENSION session" &&
		load b_hbuf load_session.sql 1 "$EXPIRE_IDLE" -v users="$USERS" -v age=7200 &&
		load b_hbuf load_session.sql $((EXPIRE_IDLE + 1)) $((EXPIRE_IDLE + EXPIRE_ACTIVE)) \
			-v users="$USERS" -v age=0 &&
		q b_hbuf "VACUUM ANALYZE"
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

# setup_jobs NAME FUNCTION [ARGS]: the set-up job NAME in every side's cluster (its name
# prefixed with the side when there are two)
setup_jobs() {
	local name=$1 side
	shift
	for side in $SIDES; do
		side_use "$side"
		if [ "$SIDES" = current ]; then job "$name" "$@"; else job "$side-$name" "$@"; fi
	done
	side_use current
}
HIST_OK=0
if has session && wants listing; then
	HIST_OK=1
	setup_jobs history setup_history
fi
has session && wants rls && setup_jobs rls setup_rls
for sys in spring session cps naive raw; do
	has "$sys" && setup_jobs "$sys" setup_system "$sys"
done
has session && wants expire && setup_jobs expire setup_expire
has session && wants heap && setup_jobs heap setup_heap
has session && wants hbuf && setup_jobs hbuf setup_hbuf
jobs_wait || exit 1
for side in $SIDES; do
	side_use "$side"
	[ "$HIST_OK" = 1 ] &&
		note "history$SIDE_TAG: $(q b_session_hist "SELECT count(*) FROM session_storage.ended_sessions") ended sessions, $(q b_session_hist "SELECT count(*) FROM session_storage.ended_sessions_default") of them in the default partition"
	# a checkpoint now rather than during the workloads (quick runs write too little
	# WAL to reach one)
	[ "$QUICK" = 1 ] || q postgres "CHECKPOINT" >/dev/null
	DBS_OF[$side]=" $(q postgres "SELECT string_agg(datname, ' ') FROM pg_database") "
done
side_use current
SETUP_SECONDS=$(elapsed)
note "set-up done"

# ---------------------------------------------------------------------------
# The rows of workloads.tsv, table by table (tables.tsv), round after round
# ---------------------------------------------------------------------------
declare -A KIND
TABLES=()
while IFS=$'\t' read -r table workload kind _; do
	KIND[$table]=$kind
	TABLES+=("$table:$workload")
done < <(grep -v '^#' "$HERE/tables.tsv" | grep .)
mapfile -t ROWS < <(grep -v '^#' "$HERE/workloads.tsv" | grep .)

# run_table TABLE ROUND: every present row of TABLE, once
run_table() {
	local want=$1 round=$2 line table row db script flags side
	for line in "${ROWS[@]}"; do
		IFS=$'\t' read -r table row db script flags _ <<<"$line"
		[ "$table" = "$want" ] || continue
		[[ ,$flags, == *,extra,* ]] && [ "$EXTRAS" != 1 ] && continue
		# side by side: the row in both clusters, one after the other
		for side in $(sides_of_round "$round"); do
			side_use "$side"
			run_row
		done
	done
	side_use current
}

# run_row: the row of run_table (its variables table, row, round, db, script, flags)
# in the cluster of the current side, once
run_row() {
	local listener=
	[[ $DATABASES == *" $db "* ]] || return 0
	local pgoptions=${PGOPTIONS:-}
	[[ ,$flags, == *,generic,* ]] && pgoptions+=" -c plan_cache_mode=force_generic_plan"
	[[ ,$flags, == *,nonotify,* ]] && pgoptions+=" -c session.notify=off"
	if [[ ,$flags, == *,hbload,* ]]; then
		# CLIENTS clients heartbeating the active sessions of b_hbuf meanwhile
		pgbench -n -M prepared -c "$CLIENTS" -j "$THREADS" -T $((LAT_DURATION + 2)) \
			-D afirst=$((EXPIRE_IDLE + 1)) -D alast=$((EXPIRE_IDLE + EXPIRE_ACTIVE)) \
			-f "$HERE/pgbench/hbuf_single_session.sql" b_hbuf >"$LOGS/hbload-$round.out" 2>&1 &
		listener=$!
		sleep 1
	fi
	if [[ ,$flags, == *,listen,* ]]; then
		# an application node listening to the events (and reading them, five
		# times a second): session then queues a NOTIFY per open and close
		(while sleep 0.2; do echo "SELECT 1;"; done) |
			psql -X -q -d "$db" -c "LISTEN session_events" -f - >/dev/null 2>&1 &
		listener=$!
		sleep 0.5
	fi
	if [ "${KIND[$table]}" = latency ]; then
		PGOPTIONS=$pgoptions LATLOG=1 \
			pgb "$table" "$row" "$round" "$db" "$script" "$LAT_CLIENTS" "$LAT_DURATION"
	else
		PGOPTIONS=$pgoptions pgb "$table" "$row" "$round" "$db" "$script" "$CLIENTS" "$DURATION"
	fi
	if [ -n "${listener:-}" ]; then
		kill "$listener" 2>/dev/null
		wait "$listener" 2>/dev/null
		listener=
	fi
}

# run_workload NAME: the tables of NAME (tables.tsv), ROUNDS rounds
run_workload() {
	local r entry tables=()
	for entry in "${TABLES[@]}"; do
		[ "${entry#*:}" = "$1" ] && tables+=("${entry%%:*}")
	done
	[ ${#tables[@]} -gt 0 ] || return 1
	say "bench: $1 (${tables[*]}; $ROUNDS rounds)"
	for ((r = 1; r <= ROUNDS; r++)); do
		for entry in "${tables[@]}"; do
			run_table "$entry" "$r"
		done
		note "$1 round $r done"
	done
}

# heap_sizes ROW: the size of the sessions table, alone and with its indexes
heap_sizes() {
	local heap total
	IFS='|' read -r heap total < <(q b_heap "SELECT pg_relation_size('session_storage.sessions'),
		pg_total_relation_size('session_storage.sessions')")
	res heap "$1" 1 heap "$heap"
	res heap "$1" 1 total "$total"
}

# heap size before / after HEAP_HEARTBEATS single heartbeats on HEAP_SESSIONS sessions
wl_heap() {
	has session || return 0
	say "bench$SIDE_TAG: heap growth ($HEAP_HEARTBEATS heartbeats on $HEAP_SESSIONS sessions)"
	local per=$(((HEAP_HEARTBEATS + CLIENTS - 1) / CLIENTS)) t0 t1
	heap_sizes before
	t0=$(date +%s.%N)
	pgbench -n -M prepared -c "$CLIENTS" -j "$THREADS" -t "$per" -D nheap="$HEAP_SESSIONS" \
		-f "$HERE/pgbench/heap_session.sql" b_heap >"$LOGS/heap.out" 2>&1 ||
		note "pgbench heap exited $? (see $LOGS/heap.out)"
	t1=$(date +%s.%N)
	res heap heartbeats 1 tps "$(tps_of "$LOGS/heap.out")"
	res heap heartbeats 1 seconds "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
	sleep 1
	heap_sizes after
	local upd hot avc
	IFS='|' read -r upd hot avc < <(q b_heap "SELECT n_tup_upd, n_tup_hot_upd, autovacuum_count
		FROM pg_stat_user_tables WHERE relid = 'session_storage.sessions'::regclass")
	res heap heartbeats 1 updates "$upd"
	res heap heartbeats 1 hot "$hot"
	res heap heartbeats 1 autovacuum "$avc"
}

# expire EXPIRE_IDLE idle sessions while CLIENTS clients heartbeat EXPIRE_ACTIVE others
# expire_run DB RATE KEY: expire the idle sessions of DB while CLIENTS clients
# heartbeat the active ones at RATE heartbeats/s (0: as fast as they can), in
# 1-second pgbench runs until expiry is over (so they cover it however long it
# takes, and each run still reports its failures); results in the rows KEY of expire
expire_run() {
	local db=$1 rate=$2 key=$3 d0 d1 loop t0 t1 n mx r
	local -a rate_opt=()
	[ "$rate" -gt 0 ] && rate_opt=(-R "$rate")
	d0=$(q postgres "SELECT sum(deadlocks) FROM pg_stat_database")
	res expire "$key" 1 idle "$(q "$db" "SELECT count(*) FROM session_storage.sessions WHERE last_comm < now() - interval '30 minutes'")"
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
	res expire "$key" 1 rc $?
	t1=$(date +%s.%N)
	sleep 1
	touch "$WORK/expire.done"
	wait "$loop"
	res expire "$key" 1 timeout "$(sed -n 1p "$LOGS/$key.out")"
	res expire "$key" 1 count "$(sed -n 2p "$LOGS/$key.out")"
	res expire "$key" 1 seconds "$(sed -n 3p "$LOGS/$key.out")"
	sleep 1
	d1=$(q postgres "SELECT sum(deadlocks) FROM pg_stat_database")
	res expire "$key" 1 deadlocks $((d1 - d0))
	res expire "$key" 1 errors "$(cat "$LOGS/$key"-hb-*.out | awk '
		/^number of failed transactions: / {f += $5}
		/aborted in command|ERROR/ {f++}
		END {print f + 0}')"
	# heartbeats that ended while expire_sessions() ran, and the slowest of them
	# (its own time: with -R pgbench counts from the scheduled start, the lag is $7)
	cat "$WORK"/lat/tx* 2>/dev/null | awk -v t0="$t0" -v t1="$t1" '
		{t = $5 + $6 / 1e6; x = $3 - (NF >= 7 ? $7 : 0); if (t >= t0 && t <= t1) {n++; if (x > m) m = x}}
		END {printf "%d %.3f %.6g\n", n, m / 1000, n / (t1 - t0)}' | {
		read -r n mx r
		res expire "$key" 1 hb_count "$n"
		res expire "$key" 1 hb_max_ms "$mx"
		res expire "$key" 1 hb_rate "$r"
	}
}

wl_expire() {
	has session || return 0
	say "bench$SIDE_TAG: expiry of $EXPIRE_IDLE idle sessions under heartbeats"
	expire_run b_expire "$EXPIRE_RATE" session
	if [ "$EXTRAS" = 1 ] && [ "$EXPIRE_RATE" -gt 0 ]; then
		expire_run b_expire_max 0 session_max
	fi
}

# get_user_context() in an RLS policy vs a constant, as a non-superuser
wl_rls() {
	has session || return 0
	say "bench$SIDE_TAG: RLS policy with get_user_context() vs a constant ($RLS_ROWS rows)"
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
	# "a|count" then "Time: N ms" per query; a is the policy with the context
	awk -F'|' '
		$1 == "a" || $1 == "b" {w = ($1 == "a") ? "context" : "constant"; n[w]++; c[w] = $2; next}
		/^Time: / && w != "" {split($0, t, " "); print w "\t" n[w] "\tms\t" t[2]; w = ""}
		END {print "context\t1\tvisible\t" c["context"]; print "constant\t1\tvisible\t" c["constant"]}' \
		"$LOGS/rls.out" | while IFS=$'\t' read -r row round metric value; do
		res rls "$row" "$round" "$metric" "$value"
	done
	res rls context 1 parallel "$(psql -X -q -A -t -U bench_rls -d b_rls \
		-c "SELECT session.set_user_context('user42')" -c "EXPLAIN SELECT count(*) FROM docs_a" 2>&1 |
		grep -c Parallel)"
	res rls constant 1 parallel "$(psql -X -q -A -t -U bench_rls -d b_rls \
		-c "EXPLAIN SELECT count(*) FROM docs_b" 2>&1 | grep -c Parallel)"
}

# wal_bytes of the cluster (pg_stat_wal)
wal_bytes() { q postgres "SELECT wal_bytes FROM pg_stat_wal"; }
# wal_per ROW DB SCRIPT: WAL bytes per transaction of HBUF_WAL single heartbeats,
# nothing else running (the flushes that follow them counted)
wal_per() {
	local per=$(((HBUF_WAL + CLIENTS - 1) / CLIENTS)) w0 w1
	sleep 2
	w0=$(wal_bytes)
	pgbench -n -M prepared -c "$CLIENTS" -j "$THREADS" -t "$per" \
		-D afirst=$((EXPIRE_IDLE + 1)) -D alast=$((EXPIRE_IDLE + EXPIRE_ACTIVE)) \
		-D nwal="$EXPIRE_ACTIVE" -f "$HERE/pgbench/$3" "$2" >"$LOGS/hbuf-wal-$1.out" 2>&1 ||
		note "pgbench $3 exited $? (see $LOGS/hbuf-wal-$1.out)"
	sleep 3
	w1=$(wal_bytes)
	res hbuf_wal "$1" 1 bytes_per_heartbeat "$(awk -v a="$w0" -v b="$w1" -v n=$((per * CLIENTS)) 'BEGIN { print (b - a) / n }')"
}
# The heartbeat buffer's rows that are not pgbench rates (its tables ran first): WAL
# per heartbeat against raw's UPDATE, then expiry of the idle sessions of b_hbuf
# while CLIENTS clients heartbeat the active ones at full speed
wl_hbuf() {
	has session || return 0
	say "bench$SIDE_TAG: heartbeat buffer, WAL and expiry"
	wal_per session b_hbuf hbuf_single_session.sql
	has raw && wal_per raw b_raw hbuf_single_raw.sql
	PGOPTIONS="-c session.idle_timeout=30min" expire_run b_hbuf 0 hbuf
	# only the active sessions loaded for it: the hbuf_lifecycle rows ran in b_hbuf
	# too, and the sessions they closed (higher ids) are not expiry's
	res expire hbuf 1 active_ended "$(q b_hbuf "SELECT count(*) FROM session_storage.ended_sessions
		WHERE id BETWEEN $((EXPIRE_IDLE + 1)) AND $((EXPIRE_IDLE + EXPIRE_ACTIVE))")"
	# the buffer's counters, those of them this version's heartbeat_buffer_status() has
	# (its columns differ between versions, and a side-by-side run reads two)
	q b_hbuf "SELECT m, s ->> m FROM (SELECT to_jsonb(b) AS s FROM session.heartbeat_buffer_status() b) x,
			unnest('{flushes,flushed_rows,table_path_heartbeats}'::text[]) WITH ORDINALITY AS u(m, i)
		WHERE s ? m ORDER BY i" |
		while IFS='|' read -r metric value; do
			res hbuf_status session 1 "$metric" "$value"
		done
}

# The CPU seconds this backend has used (superuser: reads /proc/self/stat), for the
# figures that a loaded machine's wall clock would blur
CPU_SQL="(split_part(pg_read_file('/proc/self/stat'), ' ', 14)::int
	+ split_part(pg_read_file('/proc/self/stat'), ' ', 15)::int) / 100.0"

# Reporting: import_sessions of REPORT_IMPORT sessions in one call (wall and CPU
# seconds), then get_session_info_at 30 days back over REPORT_HISTORY ended sessions
# spread over REPORT_DAYS days (p50 and p95 of REPORT_REPEAT instants, and the
# partitions and indexes its statement reads)
wl_report() {
	has session || return 0
	say "bench: import of $REPORT_IMPORT sessions; sessions open at an instant ($REPORT_HISTORY ended over $REPORT_DAYS days)"
	create_db b_report && q b_report "CREATE EXTENSION session" || {
		harness_error "b_report"
		return 0
	}
	# a baseline from before import_sessions has nothing to measure here
	if [ "$(q b_report "SELECT to_regprocedure('session.import_sessions(jsonb, boolean)') IS NOT NULL")" != t ]; then
		note "no session.import_sessions in this version$SIDE_TAG: the report rows are skipped"
		return 0
	fi
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d b_report >"$LOGS/report-import.out" 2>&1 <<-SQL
		CREATE TEMP TABLE src AS SELECT jsonb_agg(jsonb_build_object(
			'project', 'p' || (i % 20), 'node', 'node-' || (i % 5), 'address', '10.0.' || (i % 250) || '.' || (i % 200),
			'scope', (ARRAY['browser', 'designer', 'ios', 'android', 'client'])[1 + i % 5],
			'start_time', st, 'last_comm', st + interval '20 minutes', 'end_time', st + interval '30 minutes',
			'end_reason', (ARRAY['logout', 'timeout', 'terminated', 'node_shutdown'])[1 + i % 4],
			'total_bytes_sent', i * 10,
			'logins', jsonb_build_array(jsonb_build_object('username', 'user' || (i % 5000),
				'login_time', st + interval '1 minute', 'logout_time', st + interval '25 minutes'))))
			AS j
		FROM (SELECT i, now() - interval '6 days' + i * (interval '5 days' / $REPORT_IMPORT) AS st
			  FROM generate_series(1, $REPORT_IMPORT) i) g;
		SELECT clock_timestamp() AS t0, $CPU_SQL AS c0 \gset
		SELECT session.import_sessions(j) FROM src;
		SELECT extract(epoch FROM clock_timestamp() - :'t0'), $CPU_SQL - :c0;
	SQL
	res report import 1 rc $?
	res report import 1 rows "$(sed -n 1p "$LOGS/report-import.out")"
	res report import 1 seconds "$(sed -n 2p "$LOGS/report-import.out" | cut -d'|' -f1)"
	res report import 1 cpu_seconds "$(sed -n 2p "$LOGS/report-import.out" | cut -d'|' -f2)"

	# the history, with the partitions the extension makes
	q b_report "TRUNCATE session_storage.ended_sessions;
		SELECT session_storage.create_history_partition(d::date)
		FROM generate_series((now() AT TIME ZONE 'UTC')::date - $REPORT_DAYS - 1, (now() AT TIME ZONE 'UTC')::date - 1, '1 day') d
		WHERE to_regclass('session_storage.ended_sessions_' || to_char(d, 'YYYYMMDD')) IS NULL" >/dev/null &&
		load b_report load_report_history.sql 1 "$REPORT_HISTORY" -v users="$USERS" -v days="$REPORT_DAYS" -v total="$REPORT_HISTORY" &&
		q b_report "VACUUM ANALYZE session_storage.ended_sessions" || {
		harness_error "report history"
		return 0
	}
	local i script=$WORK/report-at.sql
	{
		printf '%s\n' '\timing on'
		for ((i = 1; i <= REPORT_REPEAT; i++)); do
			echo "SELECT 'at', count(*) FROM session.get_session_info_at(now() - interval '30 days' - interval '$((i * 67)) minutes');"
		done
	} >"$script"
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d b_report -f "$script" >"$LOGS/report-at.out" 2>&1 ||
		note "point-in-time run failed (see $LOGS/report-at.out)"
	awk -F'|' '$1 == "at" {rows = $2; next} /^Time: / && rows != "" {split($0, t, " "); print t[2] "\t" rows; rows = ""}' \
		"$LOGS/report-at.out" | sort -n | awk -v n="$REPORT_REPEAT" '
		{ms[NR] = $1; rows += $2}
		END {if (NR) printf "%s %s %s\n", ms[int((NR + 1) / 2)], ms[int(NR * 0.95 + 0.999)], rows / NR}' | {
		read -r p50 p95 rows
		res report at 1 ms "$p50"
		res report at 1 p95_ms "$p95"
		res report at 1 rows "$rows"
	}
	# the plan of its statement for one instant: partitions read and their indexes
	q b_report "EXPLAIN (ANALYZE, COSTS OFF, SUMMARY OFF, TIMING OFF)
		SELECT e.id FROM session_storage.ended_sessions e
		WHERE e.end_time > now() - interval '30 days' AND e.start_time <= now() - interval '30 days'" \
		>"$LOGS/report-explain.out" 2>&1
	res report at 1 partitions_read "$(grep -c 'Index.*Scan.* on ended_sessions_' "$LOGS/report-explain.out")"
	res report at 1 partitions "$(q b_report "SELECT count(*) FROM pg_inherits
		WHERE inhparent = 'session_storage.ended_sessions'::regclass")"
	res report at 1 seq_scans "$(grep -c 'Seq Scan on ended_sessions_[0-9]' "$LOGS/report-explain.out")"
	cat "$LOGS/report-explain.out" >&2
}

# a workload's tables (tables.tsv), then its function wl_NAME if it has one
for w in $WORKLOADS; do
	ran=0
	run_workload "$w" && ran=1
	if declare -F "wl_$w" >/dev/null; then
		for side in $SIDES; do
			side_use "$side"
			"wl_$w"
		done
		side_use current
	elif [ "$ran" = 0 ]; then
		harness_error "no workload $w"
	fi
done
# rows per call of the listings (the same facts in every system): the 90 patterns of
# each kind match disjoint sets of users, so their average is a count / 90
if wants listing; then
	db=b_naive from="naive.sessions WHERE end_time IS NULL AND"
	has session && db=b_session from="session_storage.sessions WHERE"
	for side in $SIDES; do
		side_use "$side"
		res unanchored - 0 rows "$(q "$db" "SELECT count(*) / 90.0 FROM $from username ~ '[1-9][0-9]\$'")"
		res prefix - 0 rows "$(q "$db" "SELECT count(*) / 90.0 FROM $from username ~ '^user[1-9][0-9]'")"
	done
	side_use current
fi

# The figures of the run, for the report's header (with two sides, each side's run
# has them all)
info() { res run - 0 "$1" "$2"; }
run_info() {
	if [ "$SIDES" != current ]; then
		# which build this side's run measured, and the run it is compared with
		info side "$SIDE"
		info baseline "$BENCH_BASELINE"
		info baseline_run "${RUN_OF[baseline]}"
		info current_run "${RUN_OF[current]}"
		if [ "$SIDE" = baseline ]; then
			info ref "${BENCH_BASELINE_REV:-$BENCH_BASELINE}"
		else
			info ref "${BENCH_CURRENT_REV:-}"
		fi
		info library "${LIBRARY_OF[$SIDE]}"
		info extension_version "$(q postgres "SELECT default_version FROM pg_available_extensions WHERE name = 'session'")"
	fi
	info command "$BENCH_COMMAND"
	info date "$(date -u '+%Y-%m-%d %H:%M UTC')"
	info server_version "$(q postgres "SELECT current_setting('server_version')")"
	info cores "$(nproc)"
	info cpu "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
	info machine "${BENCH_MACHINE:-}"
	info load_start "${LOAD_START:-?}"
	info locale "$LOCALE"
	info fsync "$(q postgres "SHOW fsync")"
	info synchronous_commit "$(q postgres "SHOW synchronous_commit")"
	info clients "$CLIENTS"
	info threads "$THREADS"
	info latency_clients "$LAT_CLIENTS"
	info rounds "$ROUNDS"
	info duration "$DURATION"
	info latency_duration "$LAT_DURATION"
	info open "$OPEN"
	info users "$USERS"
	info history "$HISTORY"
	info batch "$BATCH"
	info heap_sessions "$HEAP_SESSIONS"
	info heap_heartbeats "$HEAP_HEARTBEATS"
	info expire_idle "$EXPIRE_IDLE"
	info expire_active "$EXPIRE_ACTIVE"
	info expire_rate "$EXPIRE_RATE"
	info rls_rows "$RLS_ROWS"
	info extras "$EXTRAS"
	info have_session "$HAVE_SESSION"
	info setup_seconds "$SETUP_SECONDS"
	info total_seconds "$(elapsed)"
	info harness_errors "$HARNESS_ERRORS"
}
for side in $SIDES; do
	side_use "$side"
	run_info
done
side_use current
[ "$HARNESS_ERRORS" -eq 0 ]
