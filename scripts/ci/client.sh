#!/usr/bin/env bash
# The generated TypeScript client: install the pinned npm packages, generate
# the client from openapi/openapi.json (zod response validation), type-check
# it with tsc --strict, then run the smoke test against a real
# `mailroom serve` (binary from MAILROOM_BIN, default target/debug/mailroom)
# with the fake Google and Spark (FAKE_UPSTREAMS_BIN, default
# target/debug/fake_upstreams). The smoke test calls every operation of the
# document and fails when one is never called or an answer does not match.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v npm >/dev/null || { echo "scripts/ci/client.sh: npm is required (Node 20+)" >&2; exit 1; }
if [ -z "${MAILROOM_BIN:-}" ] || [ -z "${FAKE_UPSTREAMS_BIN:-}" ]; then
  nice -n 10 cargo build -q -p mailroom-app --bin mailroom -p mailroom-tests --bin fake_upstreams
fi
cd openapi/client
[ -d node_modules ] || npm ci --no-audit --no-fund
rm -rf src/client
timeout 300 npx openapi-ts
timeout 300 npx tsc --strict --noEmit -p tsconfig.json
timeout 300 npm run --silent build
timeout 300 npm run --silent smoke
