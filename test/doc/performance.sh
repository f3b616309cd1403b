#!/usr/bin/env bash
# The results sections of doc/performance.md are what test/bench/report.py renders from
# the published runs in test/bench/published.tsv: nobody edits a figure by hand, and a
# change to report.py that changes the page shows here. Needs no server.
set -euo pipefail
ROOT=${SESSION_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
exec /usr/bin/python3 "$ROOT/test/bench/report.py" --check "$ROOT/doc/performance.md"
