#!/usr/bin/env bash
# The generated TypeScript client: install the pinned npm packages, generate
# the client from openapi/openapi.json (zod response validation), type-check
# it with tsc --strict, then run the smoke test against a real
# `mailroom serve` (binary from MAILROOM_BIN, default target/debug/mailroom).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v npm >/dev/null || { echo "scripts/ci/client.sh: npm is required (Node 20+)" >&2; exit 1; }
if [ -z "${MAILROOM_BIN:-}" ] && [ ! -x target/debug/mailroom ]; then
  cargo build -p mailroom-app --bin mailroom
fi
cd openapi/client
[ -d node_modules ] || npm ci --no-audit --no-fund
timeout 300 npx openapi-ts
timeout 300 npx tsc --strict --noEmit -p tsconfig.json
timeout 300 npm run --silent build
timeout 300 npm run --silent smoke
