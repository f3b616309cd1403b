#!/usr/bin/python3
"""Cost of one Prometheus scrape of doc/prometheus/session-exporter-queries.yaml.

Fills a database of its own with OPEN open sessions and ENDED ended ones
(written with SQL straight into the storage tables, spread over DAYS daily
partitions), then runs every query of the query file RUNS times and prints
the median per query and for the whole scrape.

    PGHOST=... PGPORT=... PGUSER=<superuser> test/bench/scrape.py \
        [--open 1000000] [--ended 10000000] [--days 10] [--runs 7] [--keep]

The server needs shared_preload_libraries = 'session' (session.stats()).
The database (session_scrape_bench) is dropped at the end unless --keep;
with --keep a second run reuses it when its sizes match.
"""
import argparse
import os
import statistics
import sys
import time

import psycopg
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUERIES = os.path.join(ROOT, "doc", "prometheus", "session-exporter-queries.yaml")
DB = "session_scrape_bench"

COLUMNS = ("uuid, username, authenticated, project, address, scope, client_id, user_agent, "
           "node, start_time, last_comm, page_ids, recent_bytes_sent, total_bytes_sent, attributes")


def fill(conn, storage, n_open, n_ended, days):
    with conn.cursor() as cur:
        # open sessions: 50 projects, 8 nodes, every scope, 200,000 users
        cur.execute(f"""
            INSERT INTO {storage}.sessions ({COLUMNS})
            SELECT gen_random_uuid(),
                   CASE WHEN i %% 10 = 0 THEN 'Unauthenticated' ELSE 'user' || i %% 200000 END,
                   i %% 10 <> 0, 'project' || i %% 50, '10.1.2.3',
                   (ARRAY['browser','designer','ios','android','client','clientless'])[1 + i %% 6],
                   'client' || i, 'Mozilla/5.0 (X11; Linux x86_64)', 'node' || i %% 8,
                   now() - (i %% 86400) * interval '1 second', now(), '{{page1,page2}}', 100, 10000, NULL
            FROM generate_series(1, %s) i""", (n_open,))
        # ended sessions: one partition per past day, like a registry running for DAYS days
        for d in range(1, days + 1):
            cur.execute("SELECT to_char(t - %s, 'YYYYMMDD'), (t - %s)::text, (t - %s + 1)::text "
                        "FROM (SELECT (now() AT TIME ZONE 'UTC')::date AS t) x", (d, d, d))
            name, lo, hi = cur.fetchone()
            cur.execute(f"""
                CREATE TABLE {storage}.ended_sessions_{name} (LIKE {storage}.ended_sessions
                    INCLUDING DEFAULTS INCLUDING STORAGE)""")
            cur.execute(f"""
                INSERT INTO {storage}.ended_sessions_{name} ({COLUMNS}, end_time, end_reason)
                SELECT gen_random_uuid(), 'user' || i %% 200000, true, 'project' || i %% 50,
                       '10.1.2.3', 'browser', 'client' || i, 'Mozilla/5.0 (X11; Linux x86_64)',
                       'node' || i %% 8, t - interval '1 hour', t, '{{page1}}', 100, 10000, NULL,
                       t, (ARRAY['logout','timeout','max_lifetime','terminated'])[1 + i %% 4]
                FROM generate_series(1, %s) i,
                     LATERAL (SELECT (%s || ' 00:00:00+00')::timestamptz + (i %% 86400) * interval '1 second' AS t) x""",
                        (n_ended // days, lo))
            cur.execute(f"CREATE INDEX ON {storage}.ended_sessions_{name} (id)")
            cur.execute(f"""ALTER TABLE {storage}.ended_sessions ATTACH PARTITION
                {storage}.ended_sessions_{name}
                FOR VALUES FROM ('{lo} 00:00:00+00') TO ('{hi} 00:00:00+00')""")
            conn.commit()
            print(f"  day {lo}: {n_ended // days} ended sessions", flush=True)
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE")
    conn.autocommit = False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--open", type=int, default=1_000_000)
    ap.add_argument("--ended", type=int, default=10_000_000)
    ap.add_argument("--days", type=int, default=10)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    with open(QUERIES) as f:
        queries = yaml.safe_load(f)

    with psycopg.connect(dbname="postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).fetchone()
    conn = psycopg.connect(dbname="postgres", autocommit=True)
    if exists:
        conn.close()
        conn = psycopg.connect(dbname=DB)
        n = conn.execute("SELECT (SELECT count(*) FROM session.open_summary s WHERE s.sessions = %s)",
                         (args.open,)).fetchone()[0]
        conn.rollback()
        if n != 1:
            conn.close()
            with psycopg.connect(dbname="postgres", autocommit=True) as admin:
                admin.execute(f"DROP DATABASE {DB}")
            exists = None
    if not exists:
        conn.close()
        with psycopg.connect(dbname="postgres", autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {DB}")
        conn = psycopg.connect(dbname=DB)
        conn.execute("CREATE EXTENSION IF NOT EXISTS session CASCADE")
        conn.commit()
        storage = conn.execute("SELECT CASE WHEN to_regclass('session_storage.sessions') IS NULL "
                               "THEN 'session' ELSE 'session_storage' END").fetchone()[0]
        print(f"filling {DB}: {args.open} open, {args.ended} ended over {args.days} days "
              f"(storage schema {storage})", flush=True)
        t0 = time.monotonic()
        fill(conn, storage, args.open, args.ended, args.days)
        print(f"  filled in {time.monotonic() - t0:.0f} s", flush=True)

    conn.autocommit = True
    print(f"\nmedian of {args.runs} runs per query (ms):")
    totals = []
    per_query = {name: [] for name in queries}
    failed = []
    for _ in range(args.runs):
        total = 0.0
        for name, q in queries.items():
            t0 = time.perf_counter()
            try:
                conn.execute(q["query"]).fetchall()
            except psycopg.Error as e:
                if name not in failed:
                    failed.append(name)
                    print(f"  {name}: {e.diag.sqlstate} {str(e).splitlines()[0]}")
                continue
            ms = (time.perf_counter() - t0) * 1000
            per_query[name].append(ms)
            total += ms
        totals.append(total)
    for name, times in per_query.items():
        if times:
            print(f"  {name:28s} {statistics.median(times):9.1f}")
    print(f"  {'whole scrape':28s} {statistics.median(totals):9.1f}")
    conn.close()
    if not args.keep:
        with psycopg.connect(dbname="postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {DB}")
    return 1 if failed and failed != ["session_heartbeat_buffer"] else 0


if __name__ == "__main__":
    sys.exit(main())
