#!/usr/bin/env bash
# Runs the specs that need real servers (files named *.services.spec.ts). Each server is
# installed from Debian's packages when missing, started on loopback on a non-default port with
# its data in a temp dir, and stopped afterwards. A spec that needs a server that is not there
# fails loudly; none is ever skipped silently.
#
# No spec needs a server yet: PostgreSQL, Prometheus and NATS arrive with the observability and
# integration work. Until then this runs jest over the (empty) set and says so plainly.
set -euo pipefail
cd "$(dirname "$0")/.."

specs=$(find spec -name '*.services.spec.ts' | sort)
if [ -z "$specs" ]; then
  echo "test:services: no service specs exist yet (none needs a server so far)."
  exit 0
fi

node --experimental-vm-modules --disable-warning=ExperimentalWarning node_modules/jest/bin/jest.js \
  --testPathIgnorePatterns '/node_modules/' --testMatch '**/*.services.spec.ts' "$@"
