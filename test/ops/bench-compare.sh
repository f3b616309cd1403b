#!/usr/bin/env bash
# make test: test/bench/compare.py, the side-by-side table of make bench
# BENCH_BASELINE, on a results file made up here (no server, no pgbench): the
# verdicts go by the median of the rounds' own ratios, in the right direction for
# rates and for times, the controls' rows get none and give the spread, and a file
# without a side-by-side run is refused.
set -uo pipefail
ROOT=${SESSION_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
exec /usr/bin/python3 - "$ROOT" <<'PY'
import os, subprocess, sys, tempfile

root = sys.argv[1]
compare = os.path.join(root, "test", "bench", "compare.py")
failed = 0


def check(name, ok):
    global failed
    print(("ok      " if ok else "FAILED  ") + name)
    failed += not ok


def results(rows):
    f = tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False)
    f.write("run\ttable\trow\tround\tmetric\tvalue\n")
    for r in rows:
        f.write("\t".join(str(x) for x in r) + "\n")
    f.close()
    return f.name


def side(run, other, name, per_round):
    """The rows of one side: per_round[(table, row, metric)] = [value of round 1, 2, ...]."""
    rows = [(run, "run", "-", 0, k, v) for k, v in (
        ("side", name), ("baseline", "v0"), ("baseline_run", other if name == "current" else run),
        ("current_run", run if name == "current" else other), ("ref", "v0" if name == "baseline" else "v1"),
        ("rounds", 5), ("batch", 1000))]
    for (table, row, metric), values in per_round.items():
        rows += [(run, table, row, i + 1, metric, v) for i, v in enumerate(values)]
    return rows


# lifecycle/session: 20% slower in every round (worse); lifecycle/raw (a control):
# the same; batch/session: round ratios 1, 1, 0.7, 1.3, 1.3 (medians 30% apart,
# paired ratio 1.00); exact/session: p50 25% higher (worse);
# exact/raw (a control): p50 5% lower
base = {
    ("lifecycle", "session", "tps"): [1000, 1000, 1000, 1000, 1000],
    ("lifecycle", "raw", "tps"): [2000, 2000, 2000, 2000, 2000],
    ("batch", "session", "tps"): [50, 60, 100, 100, 100],
    ("exact", "session", "p50"): [0.1, 0.1, 0.1, 0.1, 0.1],
    ("exact", "raw", "p50"): [0.1, 0.1, 0.1, 0.1, 0.1],
}
cur = {
    ("lifecycle", "session", "tps"): [800, 800, 800, 800, 800],
    ("lifecycle", "raw", "tps"): [2000, 2000, 2000, 2000, 2000],
    ("batch", "session", "tps"): [50, 60, 70, 130, 130],
    ("exact", "session", "p50"): [0.125, 0.125, 0.125, 0.125, 0.125],
    ("exact", "raw", "p50"): [0.095, 0.095, 0.095, 0.095, 0.095],
}
path = results(side("R-baseline", "R", "baseline", base) + side("R", "R-baseline", "current", cur))
out = subprocess.run([sys.executable, compare, path], capture_output=True, text=True)
check("compare.py renders a side-by-side run", out.returncode == 0)
lines = {l.split(" | ")[0].lstrip("| "): l for l in out.stdout.splitlines() if l.startswith("| ")}


def line(prefix):
    return next((l for k, l in lines.items() if k.startswith(prefix)), "")


check("a rate 20% lower is worse by 20%", "**worse by 20%**" in line("lifecycle: session"))
check("a control gets no verdict", "worse" not in line("lifecycle: raw") and "°" in line("lifecycle: raw"))
check("the paired ratio ignores the load's drift between rounds",
      "| 0.70 | 1.00 (0.70 – 1.30)" in line("batch: session") and "worse" not in line("batch: session")
      and "better" not in line("batch: session"))
check("a p50 25% higher is worse by 25%", "**worse by 25%**" in line("exact: session, p50"))
check("the controls' spread is printed", "×1.05" in out.stdout)
check("the count of worse figures", "2 of 3 figures of the extension are worse" in out.stdout)

plain = results([("P", "run", "-", 0, "rounds", 5), ("P", "lifecycle", "session", 1, "tps", 1000)])
out = subprocess.run([sys.executable, compare, plain], capture_output=True, text=True)
check("a file without a side-by-side run is refused", out.returncode != 0 and "BENCH_BASELINE" in out.stderr)
os.unlink(path)
os.unlink(plain)
sys.exit(1 if failed else 0)
PY
