#!/usr/bin/env bash
# make test: every upgrade script must leave the catalog a fresh install makes
# (test/scripts/upgrade-check.sh; reports and passes while there is none yet).
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/../scripts/upgrade-check.sh"
