#!/usr/bin/env bash
# Live audit benchmark (issue 3): 1,000 roles and 10,000 tables, `gatehouse audit CONNINFO --format json`
# three times, median printed. Not a test.   bash bench/audit-live.sh [15|18]
# Needs: root (or a user that can run postgres), a built dist/ (built here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -f dist/cli.js ]] || npm run build --silent
exec node --import tsx bench/audit-live.ts "${1:-18}"
