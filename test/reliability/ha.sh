#!/usr/bin/env bash
# session on pg_auto_failover, the short form of `make ha` (test/ha): a monitor and two
# data nodes of its own on loopback ports, four clients under light load, one failover
# (kill -9 of the primary's postmaster and keeper) and the old primary's rejoin, with
# the checks after each: nothing acknowledged lost, ids and uuids unique, the id
# sequence continues, last_comm within one heartbeat flush interval, the expiry worker
# idle on the secondary and resuming on the new primary, reads on the secondary.
# About 3 minutes. Needs pg_autoctl (test/scripts/deps.sh installs it) and a non-root
# OS user; ignores the throwaway cluster of make test.
set -uo pipefail

ROOT=${SESSION_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck source=test/scripts/cluster.sh
source "$ROOT/test/scripts/cluster.sh"

if ! command -v pg_autoctl >/dev/null; then
	echo "ha: pg_autoctl is missing: test/scripts/deps.sh installs pg-auto-failover-cli and postgresql-15-auto-failover" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
# a subreaper of its own, so that the postmaster it kills is reaped
exec "${SUBREAPER[@]}" bash "$ROOT/test/ha/run.sh" --inner --short
