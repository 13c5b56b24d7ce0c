#!/usr/bin/env bash
# Browser tests of the web console: Debian's Chromium (installed when
# /usr/bin/chromium is missing) driven by playwright-core (pinned in
# web/package-lock.json; it never downloads a browser) against a real
# `mailroom serve` on a fresh SQLite database with a seeded directory, mail
# imported from tests/fixtures/eml and the outbox transport; then, for "Draft a
# reply", the same database served with the fake Google from tests/src
# (fake_upstreams). Screenshots of every page go to a folder this script
# prints. Every step and the whole run are bounded in time. The binaries are
# MAILROOM_BIN and FAKE_UPSTREAMS_BIN (default: built into target/debug).
set -euo pipefail
# The whole run is bounded too (BROWSER_TOTAL_SECONDS, default 3600, most of
# it only when a binary must be compiled).
if [ -z "${BROWSER_SH_BOUNDED:-}" ]; then
  BROWSER_SH_BOUNDED=1 exec timeout --kill-after=30 "${BROWSER_TOTAL_SECONDS:-3600}" "$0" "$@"
fi
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export CARGO_TERM_COLOR=never

if [ ! -x /usr/bin/chromium ]; then
  echo "browser.sh: installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -qq
  timeout 900 apt-get install -y -qq chromium >/dev/null
fi
command -v npm >/dev/null || { echo "browser.sh: npm is required (Node 20.19+)" >&2; exit 1; }

# The binary embeds web/dist when it is compiled: build it so it carries the
# current dist (a no-op when it is up to date).
bin="${MAILROOM_BIN:-$root/target/debug/mailroom}"
if [ -z "${MAILROOM_BIN:-}" ]; then
  timeout 1800 cargo build -q -p mailroom-app --bin mailroom
fi

# playwright-core only: no browser download, whatever its install hooks do.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
(cd web && { [ -d node_modules/playwright-core ] || timeout 600 npm ci --no-fund --no-audit; })

work="$(mktemp -d)"
shots="${CONSOLE_SCREENSHOTS:-$root/web/screenshots}"
rm -rf "$shots"
mkdir -p "$shots"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "browser.sh: work folder kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap "exit 143" TERM INT

set -a
DATABASE_URL="sqlite://$work/mailroom.sqlite?mode=rwc"
CRM_JWT_SECRET="browser-test-secret-browser-test-secret-01"
CRM_INTERNAL_DOMAINS=fund.com
# The fund's zone is not UTC, and the browser's is a third one
# (CONSOLE_BROWSER_TZ): the console must read dates and hours in the fund's.
CRM_TIMEZONE="${CRM_TIMEZONE:-Europe/Paris}"
SYNC_INTERVAL_S=3600
MAILROOM_OUTBOX_DIR="$work/outbox"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
MAILROOM_BIND="127.0.0.1:$port"
set +a
base="http://127.0.0.1:$port"
mkdir -p "$MAILROOM_OUTBOX_DIR"

cat >"$work/directory.json" <<'JSON'
{"users": [
  {"email": "ann@fund.com", "display_name": "Ann Admin", "role": "admin", "is_active": true},
  {"email": "bob@fund.com", "display_name": "Bob Member", "role": "member", "is_active": true}],
 "investors": [
  {"id": 1, "name": "Investor Co", "domains": ["investor.com"]},
  {"id": 2, "name": "Acme Capital", "domains": ["acme.com"]},
  {"id": 3, "name": "Old Fund", "domains": ["oldfund.com"], "graveyard": true},
  {"id": 4, "name": "Bulk LP", "domains": ["bulklp.com"]}],
 "contacts": [
  {"id": 10, "investor_id": 2, "name": "Lee Park", "emails": ["lee@acme.com"]},
  {"id": 11, "investor_id": 1, "name": "Lena Park", "emails": ["lena.park@investor.com"]}]}
JSON
timeout 60 "$bin" directory import "$work/directory.json"

# Two outbound messages: Ann's reply in the side-letter thread, Bob's to Acme.
mkdir -p "$work/sent-ann" "$work/sent-bob"
cat >"$work/sent-ann/reply.eml" <<'EML'
From: Ann Admin <ann@fund.com>
To: lp@investor.com
Subject: Re: Signed side letter
Date: Sat, 18 May 2024 15:00:00 +0000
Message-ID: <reply-1@fund.com>
In-Reply-To: <attach-1@investor.com>
References: <attach-1@investor.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Thanks, received. We will countersign this week.
EML
cat >"$work/sent-bob/acme.eml" <<'EML'
From: Bob Member <bob@fund.com>
To: Lee Park <lee@acme.com>
Subject: Acme follow-up
Date: Wed, 22 May 2024 09:00:00 +0000
Message-ID: <acme-1@fund.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Lee, following up on our call about the fund's next close.
EML

# More than one page (50) of matched mail, for "Load more": 60 notes from
# Bulk LP, one an hour from 1 March 2024 (before every other seeded email),
# note N sent N hours in, so newest first is note 60 down to note 01.
mkdir -p "$work/bulk"
for n in $(seq 1 60); do
  nn="$(printf '%02d' "$n")"
  cat >"$work/bulk/note-$nn.eml" <<EML
From: Bulk LP Relations <ir@bulklp.com>
To: Ann Admin <ann@fund.com>
Subject: Bulk LP note $nn
Date: $(date -u -R -d "2024-03-01T00:00:00Z + $n hours")
Message-ID: <bulk-note-$nn@bulklp.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Routine note number $nn from Bulk LP.
EML
done

# A day boundary that only the fund's zone gets right: 22:30 UTC on 12 May
# is 00:30 on 13 May in Paris, and still the 12th in New York and in UTC.
mkdir -p "$work/late"
cat >"$work/late/late.eml" <<'EML'
From: lp@investor.com
To: Ann Admin <ann@fund.com>
Subject: Late-night note
Date: Sun, 12 May 2024 22:30:00 +0000
Message-ID: <late-1@investor.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Sent after midnight, Paris time.
EML

# Today's digest has one email: Lena's, sent an hour ago (the rest is 2024).
mkdir -p "$work/today"
cat >"$work/today/today.eml" <<EML
From: Lena Park <lena.park@investor.com>
To: Ann Admin <ann@fund.com>
Subject: Quarterly LP update
Date: $(date -u -R -d '1 hour ago')
Message-ID: <today-1@investor.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Ann, the quarterly figures are attached to the portal.
EML

"$bin" serve >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 150); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "$base/healthz" >/dev/null || { echo "browser.sh: the server did not start" >&2; cat "$work/serve.log" >&2; exit 1; }
# The console under test is the committed web/dist, not an older build's.
if ! curl -fsS --max-time 10 "$base/" | cmp -s - web/dist/index.html; then
  echo "browser.sh: $bin serves a different console than web/dist (rebuild it)" >&2
  exit 1
fi
admin="$("$bin" token --email ann@fund.com)"
for box in ann@fund.com bob@fund.com; do
  curl -fsS --max-time 20 -H "Authorization: Bearer $admin" -H 'content-type: application/json' \
    -d "{\"user_email\": \"$box\", \"email_address\": \"$box\"}" "$base/api/email/accounts" >/dev/null
done
timeout 120 "$bin" capture import --mailbox ann@fund.com tests/fixtures/eml
timeout 120 "$bin" capture import --mailbox ann@fund.com "$work/bulk"
timeout 120 "$bin" capture import --mailbox ann@fund.com "$work/today"
timeout 120 "$bin" capture import --mailbox ann@fund.com "$work/late"
timeout 120 "$bin" capture import --mailbox ann@fund.com --sent "$work/sent-ann"
timeout 120 "$bin" capture import --mailbox bob@fund.com tests/fixtures/eml/multipart-alternative.eml
timeout 120 "$bin" capture import --mailbox bob@fund.com --sent "$work/sent-bob"

export CONSOLE_BASE="$base"
export CONSOLE_ADMIN_EMAIL=ann@fund.com
export CONSOLE_FUND_TZ="$CRM_TIMEZONE"
export CONSOLE_BROWSER_TZ="${CONSOLE_BROWSER_TZ:-America/New_York}"
CONSOLE_ADMIN_LINK="$("$bin" token --email ann@fund.com --link)"
CONSOLE_MEMBER_LINK="$("$bin" token --email bob@fund.com --link)"
export CONSOLE_ADMIN_LINK CONSOLE_MEMBER_LINK
export CONSOLE_OUTBOX_DIR="$MAILROOM_OUTBOX_DIR"
export CONSOLE_SCREENSHOTS="$shots"

cd web
status=0
timeout 120 npx tsc -p tests/tsconfig.json || status=$?
if [ "$status" = 0 ]; then
  timeout "${BROWSER_RUN_SECONDS:-420}" node --test --test-concurrency=1 --test-timeout=120000 tests/.build/browser.test.js || status=$?
fi
cd "$root"

# "Draft a reply" and "Sync now" need Gmail: the same database served again
# with the fake Google from tests/src (a loopback Gmail API that records
# drafts and sends; tests steer it and read its counters at FAKE_CONTROL_URL).
if [ "$status" = 0 ] && [ "${BROWSER_DRAFTS:-1}" = 1 ]; then
  kill "${pids[0]}" && wait "${pids[0]}" 2>/dev/null || true
  fakes="${FAKE_UPSTREAMS_BIN:-$root/target/debug/fake_upstreams}"
  if [ -z "${FAKE_UPSTREAMS_BIN:-}" ]; then
    timeout 1800 cargo build -q -p mailroom-tests --bin fake_upstreams
  fi
  # The fakes run until their stdin closes: a FIFO held open by this script.
  mkfifo "$work/fakes.in"
  "$fakes" "$work/service-account.json" <"$work/fakes.in" >"$work/fakes.env" &
  pids+=($!)
  exec 9>"$work/fakes.in"
  for _ in $(seq 1 150); do
    [ "$(wc -l <"$work/fakes.env")" -ge 4 ] && break
    sleep 0.1
  done
  set -a
  # shellcheck disable=SC1091
  . "$work/fakes.env"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  MAILROOM_BIND="127.0.0.1:$port"
  # The fake's seeded mail is dated November 2026: in the first sync's
  # window whenever the tests run.
  SYNC_BACKFILL_DAYS=3650
  set +a
  base="http://127.0.0.1:$port"
  "$bin" serve >"$work/serve-gmail.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 150); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  export CONSOLE_BASE="$base"
  export CONSOLE_FAKE_CONTROL="$FAKE_CONTROL_URL"
  CONSOLE_ADMIN_LINK="$("$bin" token --email ann@fund.com --link)"
  export CONSOLE_ADMIN_LINK
  (cd web && timeout "${BROWSER_RUN_SECONDS:-420}" node --test --test-concurrency=1 --test-timeout=120000 tests/.build/draft.test.js tests/.build/mailboxes.test.js) || {
    status=$?
    echo "browser.sh: the Gmail-phase tests FAILED; the server's log:" >&2
    tail -n 60 "$work/serve-gmail.log" >&2
  }
  exec 9>&-
fi

echo "browser.sh: screenshots in $shots"
ls "$shots"
if [ "$status" != 0 ]; then
  echo "browser.sh: FAILED ($status); the server's log:" >&2
  tail -n 60 "$work/serve.log" >&2
fi
exit "$status"
