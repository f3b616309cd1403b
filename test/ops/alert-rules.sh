#!/usr/bin/env bash
# make test: the alert rules of doc/prometheus/ are valid (promtool check rules)
# and fire when they should, and only then (promtool test rules with the series
# of test/ops/alert-rules.test.yml).  promtool comes from Debian's prometheus.
set -uo pipefail
ROOT=${SESSION_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
passed=0
failed=0
run() {
	if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $*"; fi
}
if ! command -v promtool >/dev/null; then
	echo "promtool is missing (Debian package prometheus; test/scripts/deps.sh installs it)"
	echo "0 passed, 1 failed"
	exit 1
fi
run promtool check rules "$ROOT/doc/prometheus/session-alert-rules.yml"
run promtool test rules "$ROOT/test/ops/alert-rules.test.yml"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
