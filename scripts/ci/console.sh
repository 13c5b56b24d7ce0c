#!/usr/bin/env bash
# The web console: installs its npm packages, regenerates the API client,
# type-checks (tsc --strict), rebuilds web/dist and fails when the committed
# copy is stale. Bounded in time.
set -euo pipefail
cd "$(dirname "$0")/../../web"
command -v npm >/dev/null || { echo "console.sh: npm is required" >&2; exit 1; }
timeout 600 npm ci --no-fund --no-audit
timeout 300 npm run gen:client
timeout 300 npm run typecheck
timeout 300 npx vite build
if ! git diff --quiet -- dist || [ -n "$(git status --porcelain -- dist)" ]; then
  echo "console.sh: web/dist is stale; run 'npm run build' in web/ and commit web/dist" >&2
  git status --short -- dist >&2
  exit 1
fi
echo "console.sh: web/dist is up to date"
