#!/usr/bin/python3
"""Markdown tables of a make bench run, from its results file.

    /usr/bin/python3 test/bench/report.py [RESULTS.tsv] [--run RUN]
    /usr/bin/python3 test/bench/report.py [RESULTS.tsv] [--run RUN] --doc doc/performance.md [--section NAME]
    /usr/bin/python3 test/bench/report.py --check doc/performance.md

RESULTS.tsv (default test/bench/results/results.tsv) holds the rows that
test/bench/run.sh appends: run, table, row, round, metric, value (tab-separated).
The report covers the last run in the file (or RUN): one table per line of
tables.tsv, with rows from workloads.tsv; then heap growth, expiry and the RLS
policy; then the targets of targets.tsv. Figures are medians over the rounds.

With --doc PAGE it writes the run into the page instead: the lines between
"<!-- begin results: NAME -->" and "<!-- end results: NAME -->" (NAME: --section)
become the command and machine of the run, a table of its figures and its
targets. Section main covers every table but the heartbeat buffer's (one column
per system); section hbuf the heartbeat buffer's tables (make bench
BENCH_WORKLOADS=hbuf), one row per workload. The run's rows are kept in
test/bench/published.tsv (as run NAME), and --check PAGE fails when a section of
the page is not what those rows render.
"""

import argparse
import collections
import csv
import difflib
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def read_tsv(name):
    """The lines of a data file of this folder, without comments, split on tabs."""
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f
                if line.strip() and not line.startswith("#")]


def num(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def fmt(x, decimals=0):
    """A number with thousands separators; n/a when missing."""
    if x is None:
        return "n/a"
    return f"{x:,.{decimals}f}"


def fmt_rate(x):
    return fmt(x, 1) if x is not None and x < 10 else fmt(x)


class Run:
    """The results of one run: values[(table, row, metric)] = [value per round]."""

    def __init__(self, rows):
        self.values = collections.defaultdict(list)
        for r in rows:
            self.values[(r["table"], r["row"], r["metric"])].append(r["value"])
        self.info = {m: v[-1] for (t, _, m), v in self.values.items() if t == "run"}

    def all(self, table, row, metric):
        return [x for x in map(num, self.values.get((table, row, metric), [])) if x is not None]

    def median(self, table, row, metric):
        xs = self.all(table, row, metric)
        return statistics.median(xs) if xs else None

    def text(self, table, row, metric):
        v = self.values.get((table, row, metric))
        return v[-1] if v else None

    def has(self, table, row):
        return any(t == table and r == row for (t, r, _) in self.values)

    def figure(self, name):
        return num(self.info.get(name))


def met(value, op, limit):
    if value is None:
        return "n/a"
    ok = {">=": value >= limit, "<=": value <= limit, "<": value < limit, ">": value > limit}[op]
    return "yes" if ok else "**no**"


class Report:
    def __init__(self, run):
        self.run = run
        self.tables = {t[0]: dict(zip(("table", "workload", "kind", "per_tx", "unit", "title"), t))
                       for t in read_tsv("tables.tsv")}
        self.rows = collections.defaultdict(list)
        for w in read_tsv("workloads.tsv"):
            self.rows[w[0]].append(dict(zip(("table", "row", "database", "script", "flags", "label"), w)))
        self.targets = [dict(zip(("table", "metric", "row", "baseline", "op", "limit", "name"), t))
                        for t in read_tsv("targets.tsv")]
        self.out = []

    def p(self, line=""):
        self.out.append(line)

    # -- figures ---------------------------------------------------------------
    def rate(self, table, row):
        """Units per second: median tps times what a transaction counts for."""
        tps = self.run.median(table, row, "tps")
        per = self.tables[table]["per_tx"]
        if tps is None:
            return None
        if per == "batch":
            return tps * (self.run.figure("batch") or 0)
        if per == "rows":
            rows = self.run.median(table, "-", "rows")
            return tps * rows if rows is not None else None
        return tps

    def value(self, table, metric, row):
        """The figure a target names: rate (of tables.tsv), else a median of the results."""
        if metric == "rate":
            return self.rate(table, row)
        return self.run.median(table, row, metric)

    def target(self, t):
        """(measured, met) of a target."""
        v = self.value(t["table"], t["metric"], t["row"])
        if t["baseline"] != "-":
            b = self.value(t["table"], t["metric"], t["baseline"])
            v = v / b if v is not None and b else None
        return v, met(v, t["op"], float(t["limit"]))

    def targets_of(self, table, row):
        """The targets a row of a table shows: a comparison with the first row shows in the
        other row."""
        first = self.rows[table][0]["row"] if self.rows[table] else None

        def shown_at(t):
            return t["baseline"] if t["baseline"] != "-" and t["row"] == first else t["row"]
        return [t for t in self.targets if t["table"] == table and shown_at(t) == row]

    @staticmethod
    def goal(t):
        unit = "×" if t["baseline"] != "-" else ""
        limit = float(t["limit"])
        shown = fmt(limit) if limit >= 1000 else f"{limit:g}"
        return f"{t['op'].replace('>=', '≥').replace('<=', '≤')} {shown}{unit}"

    def failed_note(self, table, row):
        f = sum(self.run.all(table, row, "failed"))
        return f" ({f:.0f} failed)" if f else ""

    # -- the tables ----------------------------------------------------------------
    def header(self):
        i, f = self.run.info, self.run.figure
        self.p("### Benchmark results")
        self.p()
        self.p(f"Made by `{i.get('command', 'make bench')}` on {i.get('date', '?')}: PostgreSQL "
               f"{i.get('server_version', '?')}, {i.get('cores', '?')} cores ({i.get('cpu', '?')}).")
        self.p(f"One throwaway cluster, every system in its own database (locale {i.get('locale', '?')}): "
               f"fsync = on,")
        self.p(f"synchronous_commit = {i.get('synchronous_commit', '?')}, shared_buffers = 1GB, autovacuum on, "
               f"the same for all.")
        rounds = i.get("rounds", "?")
        self.p(f"pgbench -M prepared, {i.get('clients')} clients / {i.get('threads')} threads unless noted; "
               f"{rounds} round{'' if rounds == '1' else 's'} of {i.get('duration')} s")
        self.p(f"(latency runs: {i.get('latency_clients')} client, {i.get('latency_duration')} s), systems "
               f"alternating within each round; medians of the rounds.")
        self.p(f"Data: {fmt(f('open'))} open sessions over {fmt(f('users'))} users in every system, "
               f"bulk-loaded; the")
        self.p(f"\"with history\" database adds {fmt(f('history'))} ended sessions. "
               f"Set-up {i.get('setup_seconds', '?')} s, total {i.get('total_seconds', '?')} s.")
        self.p(f"Load average before the run: {i.get('load_start', '?')} (other work sharing the cores; "
               f"about 0 on an idle machine).")
        self.p()

    def title(self, table):
        f = self.run.figure
        rows = self.run.median(table, "-", "rows")
        figures = {
            "open": fmt(f("open")), "users": fmt(f("users")), "batch": fmt(f("batch")),
            "clients": fmt(f("clients")), "rows": fmt(rows),
            "rows_per_user": fmt(f("open") / f("users")) if f("open") and f("users") else "?",
        }
        return self.tables[table]["title"].format(**figures)

    def generic(self, table):
        spec = self.tables[table]
        rows = [r for r in self.rows[table] if self.run.has(table, r["row"])]
        if not rows:
            return
        first = self.rows[table][0]["row"]
        self.p(f"#### {self.title(table)}")
        self.p()
        if spec["kind"] == "latency":
            self.p(f"Latency of one call with the rows sent to the client, "
                   f"{self.run.info.get('latency_clients')} client, from pgbench's per-transaction log.")
            self.p()
            self.p(f"| system | p50 ms (median) | p95 ms | calls/s | system p50 ÷ {first} p50 | target | met? |")
            self.p("|---|---:|---:|---:|---:|---|---|")
        else:
            self.p(f"| system | {spec['unit']}/s (median) | rounds (tx/s) | {first} ÷ system | target | met? |")
            self.p("|---|---:|---|---:|---|---|")
        base_p50 = self.run.median(table, first, "p50")
        base_rate = self.rate(table, first)
        for r in rows:
            row = r["row"]
            ts = self.targets_of(table, row)
            goal = "; ".join(self.goal(t) for t in ts)
            verdict = "; ".join(self.target(t)[1] for t in ts)
            if spec["kind"] == "latency":
                p50 = self.run.median(table, row, "p50")
                ratio = p50 / base_p50 if p50 is not None and base_p50 else None
                self.p(f"| {r['label']} | {fmt(p50, 3)}{self.failed_note(table, row)} | "
                       f"{fmt(self.run.median(table, row, 'p95'), 3)} | "
                       f"{fmt_rate(self.run.median(table, row, 'tps'))} | {fmt(ratio, 1)} | {goal} | {verdict} |")
            else:
                v = self.rate(table, row)
                ratio = base_rate / v if v and base_rate is not None else None
                rounds = " ".join(f"{x:.0f}" for x in self.run.all(table, row, "tps"))
                self.p(f"| {r['label']} | {fmt(v)}{self.failed_note(table, row)} | {rounds} | "
                       f"{fmt(ratio, 2)} | {goal} | {verdict} |")
        self.p()

    def heap(self):
        run = self.run
        if not run.has("heap", "after"):
            return
        m = lambda k: run.median("heap", "heartbeats", k)  # noqa: E731
        t = next(t for t in self.targets if t["table"] == "heap")
        growth, verdict = self.target(t)
        sessions, beats = run.figure("heap_sessions"), run.figure("heap_heartbeats")
        self.p(f"#### Heap size after {fmt(beats)} heartbeats on {fmt(sessions)} sessions "
               f"({run.info.get('clients')} clients, autovacuum on)")
        self.p()
        self.p("| | before | after | after ÷ before | target | met? |")
        self.p("|---|---:|---:|---:|---|---|")
        hb, ha = run.median("heap", "before", "heap"), run.median("heap", "after", "heap")
        self.p(f"| sessions table heap | {fmt(hb / 1024)} kB | {fmt(ha / 1024)} kB | "
               f"{fmt(growth, 2)} | {self.goal(t)} | {verdict} |")
        tb, ta = run.median("heap", "before", "total"), run.median("heap", "after", "total")
        self.p(f"| with indexes | {fmt(tb / 1024)} kB | {fmt(ta / 1024)} kB | {fmt(ta / tb if tb else None, 2)} | | |")
        self.p()
        upd, hot = m("updates") or 0, m("hot") or 0
        self.p(f"{fmt(upd)} updates, {fmt(hot)} of them heap-only (HOT, {fmt(100 * hot / (upd or 1), 1)}%);")
        self.p(f"{fmt(m('tps'))} heartbeats/s; autovacuum ran {fmt(m('autovacuum'))} times on the table.")
        self.p()

    def expire(self):
        run = self.run
        rows = [r for r in ("session", "session_max", "hbuf") if run.has("expire", r)]
        if not rows:
            return
        rate = run.figure("expire_rate")
        head = {"session": f"{fmt(rate)} heartbeats/s" if rate else "heartbeats as fast as they go",
                "session_max": "heartbeats as fast as they go",
                "hbuf": "heartbeats buffered, as fast as they go"}
        self.p(f"#### Expire {fmt(run.figure('expire_idle'))} idle sessions while "
               f"{run.info.get('clients')} clients heartbeat {fmt(run.figure('expire_active'))} others")
        self.p()
        buffered = (" The buffered column runs in b_hbuf, where the heartbeat buffer is on: "
                    "expire_sessions() holds the sessions it ends until its transaction ends, as it "
                    "would their rows: heartbeats of other sessions never wait for it."
                    if "hbuf" in rows else "")
        self.p(f"session.expire_sessions() (idle_timeout {run.text('expire', rows[0], 'timeout')}) timed by "
               f"the server while pgbench heartbeats the active sessions.{buffered}")
        self.p()
        self.p("| measure | " + " | ".join(head[r] for r in rows) + " | target | met? |")
        self.p("|---|" + "---:|" * len(rows) + "---|---|")
        # the goals of the first column (write-through when it ran, else the buffered one)
        targets = {t["metric"]: t for t in self.targets if t["table"] == "expire" and t["row"] == rows[0]}

        def line(label, cell, metric=None):
            t = targets.get(metric)
            goal, verdict = (self.goal(t), self.target(t)[1]) if t else ("", "")
            self.p(f"| {label} | " + " | ".join(cell(r) for r in rows) + f" | {goal} | {verdict} |")

        m = lambda r, k: run.median("expire", r, k)  # noqa: E731
        line("expire_sessions() time", lambda r: f"{fmt(m(r, 'seconds'), 3)} s", "seconds")
        line("sessions it ended, of the idle ones", lambda r: f"{fmt(m(r, 'count'))} of {fmt(m(r, 'idle'))}")
        line("deadlocks (pg_stat_database)", lambda r: fmt(m(r, "deadlocks")), "deadlocks")
        line("heartbeat errors", lambda r: fmt(m(r, "errors")), "errors")
        line("heartbeats while it ran", lambda r: f"{fmt(m(r, 'hb_count'))} ({fmt(m(r, 'hb_rate'))}/s)")
        line("slowest of those heartbeats", lambda r: f"{fmt(m(r, 'hb_max_ms'), 1)} ms")
        if "hbuf" in rows:
            line("active sessions it ended", lambda r: fmt(m(r, "active_ended")) if r == "hbuf" else "",
                 "active_ended")
        self.p()

    def rls(self):
        run = self.run
        if not run.has("rls", "context"):
            return
        t = next(t for t in self.targets if t["table"] == "rls")
        ratio, verdict = self.target(t)
        n = len(run.all("rls", "context", "ms"))
        plan = lambda r: "parallel" if run.median("rls", r, "parallel") else "serial"  # noqa: E731
        self.p(f"#### get_user_context() in an RLS policy over {fmt(run.figure('rls_rows'))} rows "
               f"(full-scan count(*), non-superuser)")
        self.p()
        self.p(f"| policy | median ms ({n} runs each, alternating) | plan | ratio | target | met? |")
        self.p("|---|---:|---|---:|---|---|")
        self.p(f"| owner = session.get_user_context() | {fmt(run.median('rls', 'context', 'ms'), 1)} | "
               f"{plan('context')} | {fmt(ratio, 2)} | {self.goal(t)} | {verdict} |")
        self.p(f"| owner = 'user42' | {fmt(run.median('rls', 'constant', 'ms'), 1)} | {plan('constant')} | "
               f"1.00 | | |")
        self.p()
        self.p(f"Rows visible: context {fmt(run.median('rls', 'context', 'visible'))}, "
               f"constant {fmt(run.median('rls', 'constant', 'visible'))}.")
        self.p()

    def report(self):
        run = self.run
        if not run.has("report", "import") and not run.has("report", "at"):
            return
        self.p("#### Reporting: import and the sessions open at an instant")
        self.p()
        if run.has("report", "import"):
            self.p(f"import_sessions of {fmt(run.median('report', 'import', 'rows'))} sessions (a login each) in one "
                   f"call: {fmt(run.median('report', 'import', 'seconds'), 2)} s, "
                   f"{fmt(run.median('report', 'import', 'cpu_seconds'), 2)} s of its backend's CPU.")
        if run.has("report", "at"):
            self.p(f"get_session_info_at 30 days back: p50 {fmt(run.median('report', 'at', 'ms'), 2)} ms, "
                   f"p95 {fmt(run.median('report', 'at', 'p95_ms'), 2)} ms, "
                   f"{fmt(run.median('report', 'at', 'rows'))} rows a call; its statement reads "
                   f"{fmt(run.median('report', 'at', 'partitions_read'))} of "
                   f"{fmt(run.median('report', 'at', 'partitions'))} history partitions, "
                   f"{fmt(run.median('report', 'at', 'seq_scans'))} of them without an index.")
        self.p()

    def summary(self, heading=True, shown=lambda t: True):
        lines = []
        for t in self.targets:
            if not self.run.has(t["table"], t["row"]) or not shown(t):
                continue
            v, verdict = self.target(t)
            decimals = 0 if v is not None and (v >= 1000 or v == int(v) and t["baseline"] == "-") else 3 if v is not None and v < 1 else 2
            unit = "×" if t["baseline"] != "-" and v is not None else ""
            lines.append(f"| {t['name']} | {self.goal(t)} | {fmt(v, decimals)}{unit} | {verdict} |")
        if lines:
            if heading:
                self.p("#### Targets")
                self.p()
            self.p("| target | goal | measured | met? |")
            self.p("|---|---|---|---|")
            self.out.extend(lines)
            self.p()

    def notes(self):
        extras = self.run.info.get("extras") == "1"
        self.p("Notes:")
        self.p()
        self.p("- Spring Session JDBC and connect-pg-simple are emulated with their own schemas and the")
        self.p("  statements they issue (test/bench/sql, test/bench/pgbench); the SELECT each issues to load")
        self.p("  the session on every request is left out, in their favour. Neither keeps history: a")
        self.p("  logout deletes the row, while session, naive and raw keep every ended session.")
        self.p("- session is preloaded (shared_preload_libraries), as the README installs it, so it")
        self.p("  queues NOTIFY session_events only while some connection LISTENs: none does in the")
        self.p("  rows with targets; the \"LISTENing\" lifecycle row shows the cost when one does."
               if extras else "  rows here. The other systems send no events.")
        self.p("- Listing latency is one call's time as pgbench sees it over a Unix socket, rows included.")
        if extras:
            self.p("  The \"count(*) on the server\" row leaves out sending the rows.")
        self.p(f"- The databases use locale {self.run.info.get('locale', '?')}, as a stock cluster does. "
               f"Under locale C, naive's")
        self.p("  btree index on username could also serve its regex's literal prefix.")
        if self.run.info.get("have_session") == "0":
            self.p("- The session extension was not installed: its rows are missing.")
        errors = self.run.figure("harness_errors")
        if errors:
            self.p(f"- {errors:.0f} harness errors (see the output of the run).")

    # -- the published page (--doc) --------------------------------------------
    # The per-system table: (table, metric, what the row says).
    DOC_FIGURES = [
        ("lifecycle", "rate", "lifecycles/s (open, 2 heartbeats, close)"),
        ("batch", "rate", "batched heartbeats/s ({batch} ids a call)"),
        ("exact", "p50", "exact-username listing p50, ms"),
        ("prefix", "p50", "literal-prefix listing p50, ms"),
        ("unanchored", "rate", "unanchorable regex, rows/s"),
    ]
    DOC_SYSTEMS = [("session", "session"), ("spring", "Spring Session JDBC"), ("cps", "connect-pg-simple"),
                   ("naive", "naive"), ("raw", "raw")]

    @staticmethod
    def fmt_doc(x):
        """Rates as whole numbers; latencies with three decimals under 1 ms, else three digits."""
        if x is None:
            return ""
        if x >= 100:
            return fmt(x)
        if x >= 1:
            return f"{x:.{2 if x < 10 else 1}f}"
        return f"{x:.3f}"

    @staticmethod
    def in_hbuf(table, row):
        """Whether a figure belongs to the heartbeat buffer's section."""
        return table.startswith("hbuf") or (table, row) == ("expire", "hbuf")

    def doc(self, section):
        i, f = self.run.info, self.run.figure
        machine = i.get("machine") or f"a {i.get('cores', '?')}-core machine ({i.get('cpu', '?')})"
        if section == "hbuf":
            data = (f"{fmt(f('expire_idle'))} idle and {fmt(f('expire_active'))} active sessions in a database "
                    f"the worker serves")
        else:
            data = (f"{fmt(f('open'))} open sessions over {fmt(f('users'))} users, {fmt(f('history'))} ended "
                    f"sessions in the \"with history\" database")
        self.p(f"`{i.get('command', 'make bench')}` on {machine}, PostgreSQL {i.get('server_version', '?')}: "
               f"{data}; {i.get('clients')} clients; medians of the rounds.")
        self.p()
        if section == "hbuf":
            self.doc_hbuf()
        else:
            self.doc_systems()
        self.summary(heading=False, shown=lambda t: self.in_hbuf(t["table"], t["row"]) == (section == "hbuf"))
        while self.out and self.out[-1] == "":
            self.out.pop()
        return "\n".join(self.out) + "\n"

    def doc_systems(self):
        lines = []
        for table, metric, label in self.DOC_FIGURES:
            cells = [self.fmt_doc(self.value(table, metric, row)) if self.run.has(table, row) else ""
                     for row, _ in self.DOC_SYSTEMS]
            if any(cells):
                lines.append(f"| {label.format(batch=fmt(self.run.figure('batch')))} | " + " | ".join(cells) + " |")
        if lines:
            self.p("| median | " + " | ".join(name for _, name in self.DOC_SYSTEMS) + " |")
            self.p("|---|" + "---:|" * len(self.DOC_SYSTEMS))
            self.out.extend(lines)
            self.p()

    def doc_hbuf(self):
        lines = []
        for table in [t for t in self.tables if t.startswith("hbuf")]:
            spec = self.tables[table]
            title = self.title(table)
            for r in self.rows[table]:
                if not self.run.has(table, r["row"]):
                    continue
                if spec["kind"] == "latency":
                    figure = f"{self.fmt_doc(self.run.median(table, r['row'], 'p50'))} ms p50"
                else:
                    figure = f"{self.fmt_doc(self.rate(table, r['row']))} {spec['unit']}/s"
                lines.append(f"| {title} | {r['label']} | {figure} |")
                title = ""
        title = "WAL per heartbeat (pg_stat_wal, flushes included)"
        for row, label in (("session", "session heartbeat(id, bytes), buffered"), ("raw", "raw UPDATE")):
            v = self.run.median("hbuf_wal", row, "bytes_per_heartbeat")
            if v is not None:
                shown = fmt(v) if v >= 1 else f"{v:.6f}".rstrip("0").rstrip(".")
                lines.append(f"| {title} | {label} | {shown} bytes |")
                title = ""
        if lines:
            self.p("| workload | row | median |")
            self.p("|---|---|---:|")
            self.out.extend(lines)
            self.p()

    def render(self):
        self.header()
        for table in self.tables:
            self.generic(table)
        self.heap()
        self.expire()
        self.rls()
        self.report()
        self.summary()
        self.notes()
        return "\n".join(self.out) + "\n"


PUBLISHED = os.path.join(HERE, "published.tsv")
COLUMNS = ("run", "table", "row", "round", "metric", "value")
SECTIONS = ("main", "hbuf")


def read_results(path):
    """The rows of a results file (lines starting with # are comments)."""
    with open(path, encoding="utf-8", newline="") as f:
        return [r for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
                if not r["run"].startswith("#")]


def markers(section):
    return f"<!-- begin results: {section} -->", f"<!-- end results: {section} -->"


def split_page(page, section, name):
    """(before the section's body, its body, after it)."""
    begin, end = markers(section)
    if page.count(begin) != 1 or page.count(end) != 1 or page.index(begin) > page.index(end):
        sys.exit(f"report: {name} has no section {begin} ... {end}")
    head, rest = page.split(begin)
    body, tail = rest.split(end)
    return head + begin + "\n", body[1:] if body.startswith("\n") else body, end + tail


def publish(rows, run_id, section, page_path):
    """Writes the run into the page's section, and its rows into published.tsv (as run
    SECTION), so that the page can be checked against them."""
    with open(page_path, encoding="utf-8") as f:
        page = f.read()
    head, _, tail = split_page(page, section, page_path)
    with open(page_path, "w", encoding="utf-8") as f:
        f.write(head + Report(Run(rows)).doc(section) + tail)
    kept = [r for r in read_results(PUBLISHED) if r["run"] != section] if os.path.exists(PUBLISHED) else []
    with open(PUBLISHED, "w", encoding="utf-8") as f:
        f.write("\t".join(COLUMNS) + "\n")
        f.write("# the runs published in doc/performance.md, one per section (written by report.py --doc)\n")
        for r in kept + [dict(r, run=section) for r in rows]:
            f.write("\t".join(r[c] for c in COLUMNS) + "\n")
    print(f"report: run {run_id} written to section {section} of {page_path} and to {PUBLISHED}")


def check(page_path):
    """Whether every results section of the page is what published.tsv renders."""
    with open(page_path, encoding="utf-8") as f:
        page = f.read()
    rows = read_results(PUBLISHED)
    failed = 0
    for section in SECTIONS:
        if markers(section)[0] not in page:
            continue
        _, body, _ = split_page(page, section, page_path)
        mine = [r for r in rows if r["run"] == section]
        want = Report(Run(mine)).doc(section) if mine else "(no rows in published.tsv)\n"
        if body == want:
            print(f"ok      section {section} of {page_path}")
            continue
        failed += 1
        print(f"FAILED  section {section} of {page_path} is not what published.tsv renders:")
        sys.stdout.writelines(difflib.unified_diff(body.splitlines(True), want.splitlines(True),
                                                   "page", "published.tsv"))
    return failed == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="?", default=os.path.join(HERE, "results", "results.tsv"))
    ap.add_argument("--run", help="the run to report (default: the last one in the file)")
    ap.add_argument("--doc", metavar="PAGE", help="write the run into this page's results section")
    ap.add_argument("--section", default="main", choices=SECTIONS,
                    help="the results section of --doc (default: main)")
    ap.add_argument("--check", metavar="PAGE",
                    help="check that the page's results sections are what published.tsv renders")
    args = ap.parse_args()
    if args.check:
        sys.exit(0 if check(args.check) else 1)
    rows = read_results(args.results)
    if not rows:
        sys.exit(f"report: no results in {args.results}")
    run_id = args.run or rows[-1]["run"]
    mine = [r for r in rows if r["run"] == run_id]
    if not mine:
        sys.exit(f"report: no run {run_id} in {args.results}")
    if args.doc:
        publish(mine, run_id, args.section, args.doc)
    else:
        sys.stdout.write(Report(Run(mine)).render())


if __name__ == "__main__":
    main()
