#!/usr/bin/env bash
# The web console: installs its npm packages and openapi/client's, generates
# the API client there (hey-api + zod, the same client scripts/ci/client.sh
# checks), type-checks the console (tsc --strict), rebuilds web/dist, checks
# the bundle stays under 250 kB gzipped, and fails when the committed copy is
# stale. Bounded in time.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
command -v npm >/dev/null || { echo "console.sh: npm is required (Node 20.19+)" >&2; exit 1; }
cd "$root/openapi/client"
[ -d node_modules ] || timeout 600 npm ci --no-fund --no-audit
timeout 300 npx openapi-ts
cd "$root/web"
timeout 600 npm ci --no-fund --no-audit
timeout 300 npm run typecheck
timeout 300 npx tsc -p tests/tsconfig.json --noEmit
timeout 300 npx vite build
total=0
for f in dist/assets/*.js dist/assets/*.css; do
  total=$((total + $(gzip -9 -c "$f" | wc -c)))
done
echo "console.sh: bundle is $total bytes gzipped (limit 256000)"
[ "$total" -lt 256000 ] || { echo "console.sh: the bundle is over 250 kB gzipped" >&2; exit 1; }
if ! git diff --quiet -- dist || [ -n "$(git status --porcelain -- dist)" ]; then
  echo "console.sh: web/dist is stale; run scripts/ci/console.sh (or 'npm run build' in web/) and commit web/dist" >&2
  git status --short -- dist >&2
  exit 1
fi
echo "console.sh: web/dist is up to date"
