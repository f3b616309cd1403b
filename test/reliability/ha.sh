#!/usr/bin/env bash
# session on pg_auto_failover, the short form of `make ha` (test/ha): a monitor and two
# data nodes of its own on loopback ports, four clients under light load, two failovers
# (kill -9 of the primary's postmaster and keeper; a switchover, whose demoted primary
# must shut down with its synchronous standby gone) and the old primary's rejoins, with
# the checks after each: nothing acknowledged lost, ids and uuids unique, the id
# sequence continues, last_comm within one heartbeat flush interval, the expiry worker
# idle on the secondary and resuming on the new primary, reads on the secondary.
# About 4 minutes. Needs pg_autoctl and python3-psycopg (deps.sh test installs them)
# and a non-root OS user; leaves the throwaway cluster of make test alone.
set -uo pipefail

ROOT=${SESSION_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

if ! command -v pg_autoctl >/dev/null; then
	echo "ha: FAILED: pg_autoctl is missing (deps.sh test installs pg-auto-failover-cli and postgresql-15-auto-failover)" >&2
	exit 1
fi
# ports of its own for each make test cluster (PGPORT): make test runs side by side
# on one machine must not start nodes on, or send clients to, each other's ports
if [ -z "${SESSION_HA_PORT:-}" ] && [ -n "${PGPORT:-}" ]; then
	export SESSION_HA_PORT=$((20000 + PGPORT % 1000 * 10))
fi
# under a subreaper of its own, so that the postmaster it kills is reaped; the
# subreaper passes TERM (from make test's timeout) on to ha.py, which cleans up
exec "$ROOT/test/scripts/subreaper" /usr/bin/python3 "$ROOT/test/ha/ha.py" --short
