#!/usr/bin/env bash
# CI: schemathesis against a running `mailroom serve` with seeded data and the
# fake Google and Spark configured: every operation, every check, stateful
# phase on, once as an admin and once as a member. Bounded by
# SCHEMATHESIS_MAX_EXAMPLES (default 25) per operation and
# SCHEMATHESIS_RUN_SECONDS (default 45) per identity. Exits non-zero on any
# failure schemathesis reports and on any 5xx or panic in the server's log.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TERM_COLOR=never
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-25}"
# Seconds of testing per identity (admin, member); the whole script stays
# under three minutes once the binaries are built.
run_seconds="${SCHEMATHESIS_RUN_SECONDS:-45}"

if ! command -v schemathesis >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check 'schemathesis==4.32.5'
fi

nice -n 10 cargo build -q -p mailroom-app --bin mailroom -p mailroom-tests --bin fake_upstreams
bin=target/debug

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "${KEEP_WORK:-}" ]; then echo "schemathesis: kept $work" >&2; else rm -rf "$work"; fi
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
# The digest goes out as a Workspace user the fake Google knows: by default
# the first admin sends, and schemathesis adds admins of its own (0@0.0).
CRM_DIGEST_SENDER=ann@fund.com
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

"$bin/mailroom" serve >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 150); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "$base/healthz" >/dev/null || { echo "schemathesis: mailroom serve did not come up" >&2; cat "$work/serve.log" >&2; exit 1; }
admin="$("$bin/mailroom" token --email ann@fund.com)"
member="$("$bin/mailroom" token --email bob@fund.com)"

# Seed through the API: two mailboxes, synced from the fake Gmail, and the
# test .eml files imported into Ann's. Any failure here stops the script.
for box in ann@fund.com bob@fund.com; do
  curl -fsS -o /dev/null -H "Authorization: Bearer $admin" -H 'content-type: application/json' \
    -d "{\"user_email\": \"$box\", \"email_address\": \"$box\"}" "$base/api/email/accounts"
done
"$bin/mailroom" capture import --mailbox ann@fund.com tests/fixtures/eml
for id in 1 2; do
  curl -fsS -o /dev/null -H "Authorization: Bearer $admin" -X POST "$base/api/email/accounts/$id/sync"
done

status=0
for who in admin member; do
  token="${!who}"
  echo "schemathesis: as $who"
  timeout "$((run_seconds + 30))" schemathesis run openapi/openapi.json \
    --url "$base" \
    --header "Authorization: Bearer $token" \
    --checks all \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples "$max_examples" \
    --max-time "$run_seconds" \
    --continue-on-failure \
    --request-timeout 10 \
    --seed 1 \
    --no-color \
    || status=1
done
if grep -Eq 'status=5[0-9][0-9]|panicked' "$work/serve.log"; then
  echo "schemathesis: the server answered a 5xx or panicked" >&2
  grep -E 'status=5[0-9][0-9]|panicked' "$work/serve.log" | head -20 >&2
  status=1
fi
exit "$status"
