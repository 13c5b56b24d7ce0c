#!/usr/bin/env bash
# CI: schemathesis against a running `mailroom serve` with seeded data and the
# fake Google and Spark configured: every operation, every check, stateful
# phase on, once as an admin and once as a member. Bounded by
# SCHEMATHESIS_MAX_EXAMPLES (default 25) per operation and a per-run timeout.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TERM_COLOR=never
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-25}"
run_limit="${SCHEMATHESIS_RUN_SECONDS:-100}"

if ! command -v schemathesis >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check 'schemathesis==4.32.5'
fi

cargo build -q -p mailroom-app --bin mailroom
cargo build -q -p mailroom-tests --bin fake_upstreams
bin=target/debug

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# The fakes run until their stdin closes; a FIFO held open by this script.
mkfifo "$work/fakes.in"
"$bin/fake_upstreams" "$work/service-account.json" <"$work/fakes.in" >"$work/fakes.env" &
pids+=($!)
exec 9>"$work/fakes.in"
for _ in $(seq 1 100); do
  [ "$(wc -l <"$work/fakes.env")" -ge 3 ] && break
  sleep 0.1
done
set -a
# shellcheck disable=SC1091
. "$work/fakes.env"
DATABASE_URL="sqlite://$work/mailroom.sqlite?mode=rwc"
CRM_JWT_SECRET="schemathesis-secret-schemathesis-secret-01"
CRM_INTERNAL_DOMAINS=fund.com
SYNC_BACKFILL_DAYS=1200
SYNC_INTERVAL_S=3600
MAILROOM_OUTBOX_DIR="$work/outbox"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
MAILROOM_BIND="127.0.0.1:$port"
set +a
base="http://127.0.0.1:$port"

cat >"$work/directory.json" <<'JSON'
{"users": [
  {"email": "ann@fund.com", "display_name": "Ann", "role": "admin", "is_active": true},
  {"email": "bob@fund.com", "display_name": "Bob", "role": "member", "is_active": true}],
 "investors": [
  {"id": 1, "name": "Investor Co", "domains": ["investor.com"]},
  {"id": 2, "name": "Acme Capital", "domains": ["acme.com"]}],
 "contacts": [
  {"id": 10, "investor_id": 2, "name": "Lee Park", "emails": ["lee@acme.com"]}]}
JSON
"$bin/mailroom" directory import "$work/directory.json"
# Captured mail from files, when this build has the command.
if "$bin/mailroom" capture --help >/dev/null 2>&1; then
  "$bin/mailroom" capture import --help >/dev/null 2>&1 &&
    "$bin/mailroom" capture import --account bob@fund.com tests/fixtures/eml/*.eml || true
fi

"$bin/mailroom" serve >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
admin="$("$bin/mailroom" token --email ann@fund.com)"
member="$("$bin/mailroom" token --email bob@fund.com)"

# Seed through the API: two mailboxes, synced from the fake Gmail.
for box in ann@fund.com bob@fund.com; do
  curl -fsS -H "Authorization: Bearer $admin" -H 'content-type: application/json' \
    -d "{\"user_email\": \"$box\", \"email_address\": \"$box\"}" "$base/api/email/accounts" >/dev/null || true
done
for id in 1 2; do
  curl -sS -o /dev/null -H "Authorization: Bearer $admin" -X POST "$base/api/email/accounts/$id/sync" || true
done

status=0
for who in admin member; do
  token="${!who}"
  echo "schemathesis: as $who"
  timeout "$run_limit" schemathesis run openapi/openapi.json \
    --url "$base" \
    --header "Authorization: Bearer $token" \
    --checks all \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples "$max_examples" \
    --request-timeout 10 \
    --seed 1 \
    --no-color \
    || status=1
done
if grep -q ' 500 \|panicked' "$work/serve.log"; then
  echo "schemathesis: the server logged a 500 or a panic" >&2
  grep ' 500 \|panicked' "$work/serve.log" | head -20 >&2
  status=1
fi
exit "$status"
