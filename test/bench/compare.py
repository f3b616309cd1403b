#!/usr/bin/python3
"""The side-by-side table of a make bench run with BENCH_BASELINE.

    /usr/bin/python3 test/bench/compare.py [RESULTS.tsv] [--run RUN] [--tolerance 0.10]

make bench BENCH_BASELINE=REF measures the baseline REF and the current tree in one
run, in two clusters, each timed row back to back in every round (test/bench/run.sh),
and appends two runs to RESULTS.tsv (default test/bench/results/results.tsv): the
baseline's (its id ends in -baseline) and the current tree's, which names the other
in its baseline_run figure. RUN is the current tree's run (default: the last one in
the file that has a baseline).

For every figure both runs have, the table shows the baseline's median over the
rounds, the current tree's, their ratio current / baseline, and the paired ratio: the
median of the rounds' own ratios, with their range. Each round ran both sides within
seconds, so a round's ratio compares the same minute of a shared machine; their median
cancels the load's drift between rounds (the ratio of the medians does not), and their
range is the noise of the comparison. The verdicts go by the paired ratio.
A figure worse than the baseline's by more than the tolerance (10%) is marked, and so
is one better by as much; either says so when it lies within the controls' spread (the
largest factor, up or down, between the two sides of a control row).
Rows whose pgbench script calls nothing of the extension (raw, naive, Spring Session,
connect-pg-simple, SELECT 1) run the same code in both clusters: they are the
controls, and their ratios show how far apart two identical builds measure.
"""

import argparse
import collections
import csv
import os
import re
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
    if x is None:
        return "n/a"
    return f"{x:,.{decimals}f}"


def fmt_fig(x):
    """A figure with the decimals its size needs."""
    if x is None:
        return "n/a"
    a = abs(x)
    return fmt(x, 0 if a >= 100 else 1 if a >= 10 else 2 if a >= 1 else 3)


class Side:
    """One run of the results file: rounds[(table, row, metric)] = {round: value}."""

    def __init__(self, rows):
        self.rounds = collections.defaultdict(dict)
        for r in rows:
            v = num(r["value"])
            if v is not None:
                self.rounds[(r["table"], r["row"], r["metric"])][r["round"]] = v
        self.info = {r["metric"]: r["value"] for r in rows if r["table"] == "run"}

    def get(self, table, row, metric):
        return self.rounds.get((table, row, metric), {})

    def figure(self, name):
        return num(self.info.get(name))


class Figure:
    """One line of the table: per-round values of both sides, and which way is better."""

    def __init__(self, label, base, cur, higher_better, control=False, ref=None):
        self.label, self.base, self.cur = label, base, cur
        self.higher_better, self.control = higher_better, control
        # ref: (what, figure) for a figure near zero, whose ratio means nothing: its
        # change is judged as a fraction of that other figure of the baseline instead
        self.ref = ref

    @staticmethod
    def median(values):
        return statistics.median(values.values()) if values else None

    def ratio(self):
        b, c = self.median(self.base), self.median(self.cur)
        return c / b if b and c is not None else None

    def round_ratios(self):
        return [self.cur[k] / self.base[k] for k in self.base if k in self.cur and self.base[k]]

    def paired(self):
        """The median of the rounds' ratios (the ratio of the medians for a single
        measurement): the two runs of a round are seconds apart, so this cancels the
        load's drift between rounds, which the ratio of the medians keeps."""
        rr = self.round_ratios()
        return statistics.median(rr) if len(rr) > 1 else self.ratio()

    def worse_by(self):
        """How much worse than the baseline, a fraction of the baseline's figure (less
        throughput or more time), by the paired ratio; negative when better."""
        if self.ref:
            b, c = self.median(self.base), self.median(self.cur)
            if b is None or c is None or not self.ref[1]:
                return None
            return ((b - c) if self.higher_better else (c - b)) / self.ref[1]
        r = self.paired()
        if r is None:
            return None
        return 1 - r if self.higher_better else r - 1

    def one_run(self):
        return len(self.round_ratios()) <= 1


def script_calls_session(script):
    """Whether a pgbench script of this folder calls the extension (comments aside)."""
    try:
        with open(os.path.join(HERE, "pgbench", script), encoding="utf-8") as f:
            code = "\n".join(line for line in f if not line.lstrip().startswith("--"))
    except OSError:
        return True
    return re.search(r"\bsession\.", code) is not None


def figures(base, cur):
    """Every figure both sides have, in the order of the ordinary report."""
    out = []
    tables = [dict(zip(("table", "workload", "kind", "per_tx", "unit", "title"), t))
              for t in read_tsv("tables.tsv")]
    rows = collections.defaultdict(list)
    for w in read_tsv("workloads.tsv"):
        rows[w[0]].append(dict(zip(("table", "row", "database", "script", "flags", "label"), w)))

    def per_tx(side, spec):
        if spec["per_tx"] == "batch":
            return side.figure("batch")
        if spec["per_tx"] == "rows":
            rows_ = side.get(spec["table"], "-", "rows")
            return next(iter(rows_.values()), None)
        return 1.0

    for spec in tables:
        t = spec["table"]
        for r in rows[t]:
            control = not script_calls_session(r["script"])
            name = f"{t}: {r['label']}"
            if spec["kind"] == "latency":
                for metric in ("p50", "p95"):
                    b, c = base.get(t, r["row"], metric), cur.get(t, r["row"], metric)
                    if b and c:
                        out.append(Figure(f"{name}, {metric} ms", b, c, False, control))
            else:
                b, c = base.get(t, r["row"], "tps"), cur.get(t, r["row"], "tps")
                kb, kc = per_tx(base, spec), per_tx(cur, spec)
                if b and c and kb and kc:
                    out.append(Figure(f"{name}, {spec['unit']}/s",
                                      {k: v * kb for k, v in b.items()},
                                      {k: v * kc for k, v in c.items()}, True, control))

    def one(label, table, row, metric, higher_better, control=False, ref=None):
        b, c = base.get(table, row, metric), cur.get(table, row, metric)
        if b and c:
            out.append(Figure(label, b, c, higher_better, control, ref))

    # heap growth: after ÷ before, one measurement each
    hb, ha = base.get("heap", "before", "heap"), base.get("heap", "after", "heap")
    cb, ca = cur.get("heap", "before", "heap"), cur.get("heap", "after", "heap")
    if hb and ha and cb and ca:
        out.append(Figure("heap: sessions table after the heartbeats ÷ before",
                          {k: ha[k] / hb[k] for k in ha if hb.get(k)},
                          {k: ca[k] / cb[k] for k in ca if cb.get(k)}, False))
    one("heap: heartbeats/s", "heap", "heartbeats", "tps", True)
    for row, what in (("session", "expiry under heartbeats"),
                      ("session_max", "expiry under full-speed heartbeats"),
                      ("hbuf", "expiry under buffered heartbeats")):
        one(f"expire: {what}, expire_sessions() s", "expire", row, "seconds", False)
        one(f"expire: {what}, slowest heartbeat meanwhile ms", "expire", row, "hb_max_ms", False)
        one(f"expire: {what}, heartbeats/s meanwhile", "expire", row, "hb_rate", True)
    # a buffered heartbeat writes next to nothing: its change is judged in bytes of a raw UPDATE
    raw_wal = Figure.median(base.get("hbuf_wal", "raw", "bytes_per_heartbeat"))
    one("hbuf_wal: WAL bytes per buffered heartbeat", "hbuf_wal", "session", "bytes_per_heartbeat", False,
        ref=("a raw UPDATE's WAL", raw_wal) if raw_wal else None)
    one("hbuf_wal: WAL bytes per raw UPDATE", "hbuf_wal", "raw", "bytes_per_heartbeat", False, True)
    one("rls: policy with get_user_context(), ms", "rls", "context", "ms", False)
    one("rls: policy with a constant, ms", "rls", "constant", "ms", False, True)
    return out


def render(base, cur, tolerance):
    i = cur.info
    base_ref = base.info.get("ref") or base.info.get("baseline", "baseline")
    cur_ref = i.get("ref") or "current"
    figs = figures(base, cur)
    out = []
    p = out.append
    p(f"### Side by side: {cur_ref} against {base_ref}")
    p("")
    p(f"Made by `{i.get('command', 'make bench')}` on {i.get('date', '?')}: PostgreSQL "
      f"{i.get('server_version', '?')}, {i.get('cores', '?')} cores; load average before the run "
      f"{i.get('load_start', '?')}.")
    p(f"Two clusters with the same settings, one per build: {base_ref} (extension "
      f"{base.info.get('extension_version', '?')}, {base.info.get('library', '?')}) and {cur_ref} "
      f"(extension {i.get('extension_version', '?')}, {i.get('library', '?')}).")
    rounds = i.get("rounds", "?")
    p(f"Every timed row ran in both, back to back, in each of {rounds} rounds (the baseline first "
      f"in odd rounds); pgbench -M prepared, {i.get('clients')} clients, {i.get('duration')} s a run "
      f"(latency: {i.get('latency_clients')} client, {i.get('latency_duration')} s). Medians over "
      f"the rounds and their ratio current ÷ baseline; the paired ratio is the median of the "
      f"rounds' own ratios (each round ran both sides within seconds, so it cancels the load's "
      f"drift between rounds), with their range, the noise of the comparison; the verdicts "
      f"go by it. ↑: higher is better, ↓: lower is better.")
    p("")
    worse = [f for f in figs if not f.control and f.worse_by() is not None and f.worse_by() > tolerance]
    checked = [f for f in figs if not f.control and f.worse_by() is not None]
    controls = [f for f in figs if f.control and f.paired()]
    rs = sorted(f.paired() for f in controls)
    # the controls' spread: the largest factor by which two identical builds measured apart
    band = max(max(r, 1 / r) for r in rs) if rs else None

    def noise(f):
        r = f.paired()
        return band is not None and bool(r) and max(r, 1 / r) <= band

    if worse:
        quiet = sum(1 for f in worse if noise(f))
        single = sum(1 for f in worse if f.one_run())
        p(f"**{len(worse)} of {len(checked)} figures of the extension are worse than {base_ref}'s by "
          f"more than {tolerance:.0%}:** " + "; ".join(f.label for f in worse) + "."
          + (f" Within the controls' spread: {quiet}." if quiet else "")
          + (f" Single measurements (one run each side), to run again before believing them: "
             f"{single}." if single else ""))
    else:
        p(f"All {len(checked)} figures of the extension are within {tolerance:.0%} of {base_ref}'s "
          f"or better.")
    if controls:
        rr = sorted(x for f in controls for x in f.round_ratios())
        p(f"Controls (the rows marked °, whose scripts call nothing of the extension, so both "
          f"clusters run the same code): paired ratios {rs[0]:.2f} to {rs[-1]:.2f}, single "
          f"rounds {rr[0]:.2f} to {rr[-1]:.2f}; their spread, the largest factor between two "
          f"identical builds, is ×{band:.2f}.")
    p("")
    p(f"| figure | | {base_ref} | {cur_ref} | ratio of medians | paired ratio (rounds' range) | |")
    p("|---|---|---:|---:|---:|---|---|")
    for f in figs:
        rr = f.round_ratios()
        spread = (f"{f.paired():.2f} ({min(rr):.2f} – {max(rr):.2f})" if len(rr) > 1
                  else "one run" if rr else "n/a")
        w = f.worse_by()
        if w is None or f.control:
            verdict = ""
        elif w > tolerance:
            verdict = f"**worse by {w:.0%}**"
        elif w < -tolerance:
            verdict = f"better by {-w:.0%}"
        else:
            verdict = ""
        ratio = f.ratio()
        if f.ref and w is not None:
            change = f"{w:+.1%} of {f.ref[0]}"
            verdict = f"**worse: {change}**" if w > tolerance else change
        elif verdict and noise(f):
            verdict += " (within the controls' spread)"
        p(f"| {f.label}{' °' if f.control else ''} | {'↑' if f.higher_better else '↓'} | "
          f"{fmt_fig(f.median(f.base))} | {fmt_fig(f.median(f.cur))} | "
          f"{fmt(ratio, 2)} | {spread} | {verdict} |")
    p("")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="?", default=os.path.join(HERE, "results", "results.tsv"))
    ap.add_argument("--run", help="the current tree's run (default: the last one with a baseline)")
    ap.add_argument("--tolerance", type=float, default=0.10,
                    help="how much worse than the baseline a figure may be (default 0.10)")
    args = ap.parse_args()
    with open(args.results, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    by_run = collections.defaultdict(list)
    for r in rows:
        by_run[r["run"]].append(r)
    paired = [r["run"] for r in rows
              if r["table"] == "run" and r["metric"] == "side" and r["value"] == "current"]
    run_id = args.run or (paired[-1] if paired else None)
    if not run_id or run_id not in by_run:
        sys.exit(f"compare: no run with a baseline in {args.results} "
                 f"(make bench BENCH_BASELINE=<git ref> makes one)")
    cur = Side(by_run[run_id])
    base_id = cur.info.get("baseline_run")
    if not base_id or base_id not in by_run:
        sys.exit(f"compare: run {run_id} has no baseline run in {args.results}")
    sys.stdout.write(render(Side(by_run[base_id]), cur, args.tolerance))


if __name__ == "__main__":
    main()
