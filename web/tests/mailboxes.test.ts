// Mailboxes against a `mailroom serve` with Gmail configured (the fake Google
// from tests/src, started by scripts/ci/browser.sh, steered through its
// control endpoint): "Sync now" moves the last sync and the message count,
// a message that cannot be parsed becomes a capture-error row, and a failed
// sync shows its redacted last error; no secret reaches the page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Locator, Page } from 'playwright-core';
import { ADMIN_LINK, TEST_MS, fakeAddMessage, fakeFault, fakeState, nav, shot, signIn, until } from './harness.js';

const ANN = 'ann@fund.com';

/** Ann's mailbox card (not ann.deals@fund.com's, which Ann also owns). */
function annCard(page: Page): Locator {
  return page
    .getByRole('list', { name: 'Mailboxes' })
    .locator('li.card')
    .filter({ has: page.locator('.subject', { hasText: /^ann@fund\.com$/ }) });
}

type CardState = { state: string; lastSync: string; count: number; lastError: string | null };

async function cardState(page: Page): Promise<CardState> {
  const card = annCard(page);
  await card.waitFor();
  const count = Number(/^(\d+) messages?$/.exec((await card.getByTestId('message-count').textContent()) ?? '')?.[1] ?? NaN);
  const lastError = (await card.getByTestId('last-error').count()) > 0 ? await card.getByTestId('last-error').textContent() : null;
  const time = card.getByTestId('last-sync').locator('time');
  return {
    state: ((await card.getByTestId('sync-state').textContent()) ?? '').trim(),
    lastSync: (await time.count()) > 0 ? ((await time.getAttribute('datetime')) ?? '') : '',
    count,
    lastError,
  };
}

/** Reloads the page until Ann's card is in a state `ok` accepts. */
async function reloadUntil(page: Page, ok: (s: CardState) => boolean, what: string): Promise<CardState> {
  return until(
    async () => {
      await page.reload();
      await page.getByTestId('who').waitFor();
      return cardState(page);
    },
    ok,
    what,
  );
}

/** Clicks "Sync now" on Ann's card; the message it shows (status or alert). */
async function syncNow(page: Page): Promise<{ ok: boolean; text: string }> {
  await annCard(page).getByRole('button', { name: `Sync ${ANN} now` }).click();
  const said = page.getByRole('status').filter({ hasText: `${ANN}: Sync done` }).or(page.getByRole('alert'));
  await said.first().waitFor();
  const text = (await said.first().textContent()) ?? '';
  return { ok: text.startsWith(`${ANN}: Sync done`), text };
}

const SECRET_WORDS = [/ya29\./, /Bearer/i, /carried/i, /SECRET-CONTENT/];

async function assertNoSecret(page: Page, where: string): Promise<void> {
  const text = (await page.locator('main').textContent()) ?? '';
  for (const secret of SECRET_WORDS) assert.doesNotMatch(text, secret, `${where}: no secret on the page`);
}

test('Mailboxes with Gmail: "Sync now" moves the last sync and the count; parse failures and a failed sync show redacted', { timeout: TEST_MS }, async () => {
  const page = await signIn(ADMIN_LINK);
  await nav(page, 'Mailboxes');
  // The service synced every mailbox when it started: wait for Ann's to finish.
  const start = await reloadUntil(page, (s) => s.state === 'idle' && s.lastSync !== '', "the start's sync of Ann's mailbox");
  assert.ok(Number.isFinite(start.count) && start.count > 0, `Ann's messages are counted (${start.count})`);

  // The fake's seed holds a message without any header: a capture-error row.
  await annCard(page).locator('summary').click();
  const errors = page.getByRole('list', { name: `Capture errors of ${ANN}` });
  await errors.waitFor();
  assert.match((await errors.textContent()) ?? '', /message [0-9a-f]+ · message is malformed/);

  // New mail in Gmail: one from Acme, one that is not a message at all and
  // carries a "secret" the page must never show.
  await fakeAddMessage(
    ANN,
    [
      'From: Lee Park <lee@acme.com>',
      `To: ${ANN}`,
      'Subject: Fresh from Acme',
      `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
      'Message-ID: <fresh-1@acme.com>',
      '',
      'Lee here, with the signed subscription documents.',
      '',
    ].join('\r\n'),
  );
  const broken = await fakeAddMessage(ANN, 'SECRET-CONTENT of a line that is no message\r\n');
  const synced = await syncNow(page);
  assert.ok(synced.ok, synced.text);
  assert.match(synced.text, /: Sync done: \d+ fetched, 1 captured, 1 matched, \d+ skipped, 1 errors\.$/, synced.text);
  const after = await reloadUntil(page, (s) => s.state === 'idle', 'the sync to be recorded');
  assert.equal(after.count, start.count + 1, 'one more message');
  assert.ok(Date.parse(after.lastSync) > Date.parse(start.lastSync), `the last sync moved on (${start.lastSync} -> ${after.lastSync})`);
  assert.equal(after.lastError, null, 'no last error');
  await annCard(page).locator('summary').click();
  await errors.waitFor();
  const row = errors.locator('li').filter({ hasText: `message ${broken} ·` });
  await row.waitFor();
  assert.match((await row.textContent()) ?? '', new RegExp(`· message ${broken} · message is malformed$`));
  await assertNoSecret(page, 'capture errors');
  await shot(page, 'mailboxes-capture-errors');

  // Gmail answers the next sync (incremental: history.list) with an error
  // whose body quotes the request's bearer token: the page shows a fixed,
  // redacted text only.
  await fakeFault('history_list', 'echo', 400);
  const failed = await syncNow(page);
  assert.ok(!failed.ok, `the sync failed: ${failed.text}`);
  assert.match(failed.text, /the sync did not complete; see the mailbox's last error/);
  const broke = await reloadUntil(page, (s) => s.state === 'error', 'the error state');
  assert.equal(broke.lastError, 'Last error: Gmail refused the request');
  await assertNoSecret(page, 'a failed sync');
  await shot(page, 'mailboxes-sync-error');

  // The next sync recovers and clears the error.
  const again = await syncNow(page);
  assert.ok(again.ok, again.text);
  const healed = await reloadUntil(page, (s) => s.state === 'idle', 'recovery');
  assert.equal(healed.lastError, null, 'the last error is cleared');
  // Syncing sent nothing.
  const fake = await fakeState();
  assert.equal(fake.calls.messages_send, 0, 'no messages.send call');
  await page.close();
});
