#!/usr/bin/env bash
# Runs the specs that need real servers (files named *.services.spec.ts; `npm test` ignores them).
# scripts/services.sh installs each server from Debian's packages when missing, starts it on
# loopback on a non-default port with its data in a temp dir, and writes the connection info that
# is exported here for the specs. The servers are always stopped afterwards (trap EXIT), and jest's
# exit code is the script's. A server that cannot be installed or started fails the run loudly;
# no spec is ever skipped.
#
# Extra arguments go to jest, e.g. `npm run test:services -- -t promtool`.
set -euo pipefail
cd "$(dirname "$0")/.."

# The servers the specs need: adding one is one line (see scripts/services.sh for the names).
services=(
  prometheus # spec/observability/prometheus/*.services.spec.ts (PROMETHEUS_URL, METRICS_TARGET_PORT)
  postgres   # spec/integrations/postgres/*.services.spec.ts (DATABASE_URL, PG*)
)

specs=$(find spec -name '*.services.spec.ts' | sort)
if [ -z "$specs" ]; then
  echo "test:services: no *.services.spec.ts files found" >&2
  exit 1
fi

# A private bookkeeping dir for this run, so it never stops servers someone started by hand.
SERVICES_DIR=$(mktemp -d "${TMPDIR:-/tmp}/fs-mediator-services.XXXXXX")
export SERVICES_DIR

# shellcheck disable=SC2317 # called by the trap
stop_services() {
  scripts/services.sh stop "${services[@]}" || echo "test:services: stopping the services failed" >&2
  rm -rf "$SERVICES_DIR"
}
trap stop_services EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started=$SECONDS
scripts/services.sh start "${services[@]}"
set -a
# shellcheck disable=SC1091
. "$SERVICES_DIR/services.env"
set +a
echo "test:services: services up in $((SECONDS - started))s; running $(echo "$specs" | wc -l) spec file(s)" >&2

# In band: the specs share the servers and the fixed scrape-target port.
status=0
# "$@" first: jest's array options (--testMatch …) would swallow a test path given after them.
node --experimental-vm-modules --disable-warning=ExperimentalWarning node_modules/jest/bin/jest.js \
  "$@" --runInBand --testPathIgnorePatterns '/node_modules/' --testMatch '**/*.services.spec.ts' \
  || status=$?
exit "$status"
