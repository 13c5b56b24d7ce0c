// "Draft a reply" and "Draft reply-all" against a `mailroom serve` with Gmail
// configured (the fake Google from tests/src, started by
// scripts/ci/browser.sh): the console creates the draft, links to the draft
// itself in Gmail, and nothing is sent (the fake's counters say so).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ADMIN_LINK, BASE, OUTBOX, TEST_MS, fakeState, header, nav, results, shot, signIn } from './harness.js';
import type { FakeDraft, FakeState } from './harness.js';

const ANN = 'ann@fund.com';

/** Opens "Q3 capital call" and asks for a draft with `button`; the page's answer. */
async function draft(page: Page, button: 'Draft a reply' | 'Draft reply-all', text: string): Promise<string> {
  await page.goto(`${BASE}/communications`);
  await results(page);
  await page.getByRole('list', { name: 'Emails' }).getByRole('link', { name: /^Q3 capital call/ }).first().click();
  await page.getByRole('heading', { level: 1, name: 'Q3 capital call' }).waitFor();
  await page.getByLabel('Reply text').fill(text);
  await page.getByRole('button', { name: button, exact: true }).click();
  const done = page.getByTestId('draft-done').or(page.getByRole('alert'));
  await done.first().waitFor();
  return (await done.first().textContent()) ?? '';
}

/** The one draft the fake Google gained in Ann's mailbox since `before`. */
function newDraft(before: FakeState, after: FakeState): FakeDraft {
  const known = new Set((before.mailboxes[ANN]?.drafts ?? []).map((d) => d.id));
  const fresh = (after.mailboxes[ANN]?.drafts ?? []).filter((d) => !known.has(d.id));
  assert.equal(fresh.length, 1, 'one draft created, in Ann’s mailbox');
  assert.equal(after.calls.drafts_create, (before.calls.drafts_create ?? 0) + 1, 'one drafts.create call');
  return fresh[0] as FakeDraft;
}

/** Nothing was sent: no messages.send call, no sent message in any mailbox, no outbox mail with `text`. */
function assertNothingSent(state: FakeState, outboxBefore: Set<string>, text: RegExp): void {
  assert.equal(state.calls.messages_send, 0, 'no messages.send call');
  for (const [mailbox, m] of Object.entries(state.mailboxes)) assert.equal(m.sent, 0, `nothing sent from ${mailbox}`);
  // (The digest scheduler may write its own mail meanwhile; none carries the reply.)
  for (const f of readdirSync(OUTBOX).filter((f) => !outboxBefore.has(f))) {
    assert.doesNotMatch(readFileSync(join(OUTBOX, f), 'utf8'), text, `drafting sends nothing (${f})`);
  }
}

async function draftLink(page: Page): Promise<string> {
  return (await page.getByRole('link', { name: 'Open the draft in Gmail' }).getAttribute('href')) ?? '';
}

test('Draft reply-all creates a Gmail draft, links to the draft and sends nothing', { timeout: TEST_MS }, async () => {
  const outboxBefore = new Set(readdirSync(OUTBOX));
  const before = await fakeState();
  const page = await signIn(ADMIN_LINK);
  const text = await draft(page, 'Draft reply-all', 'Thanks Lena, we will wire on Monday.');
  assert.equal(text, 'Draft “Re: Q3 capital call” created, to assist@investor.com, cc ops@investor.com. Open the draft in Gmail to review and send it.');
  const created = newDraft(before, await fakeState());
  assert.equal(
    await draftLink(page),
    `https://mail.google.com/mail/?authuser=ann%40fund.com#drafts?compose=${created.message_id}`,
    "the link opens the draft itself (Gmail's web UI finds a draft by its message id)",
  );
  assert.match(header(created.raw, 'To'), /^assist@investor\.com$/);
  assert.match(header(created.raw, 'Cc'), /^ops@investor\.com$/, 'reply-all keeps the Cc');
  await shot(page, 'email-draft-created');

  // It is listed among the drafts, and nothing went out.
  await nav(page, 'Drafts');
  const drafts = page.getByRole('list', { name: 'Drafts' });
  await drafts.waitFor();
  assert.match((await drafts.textContent()) ?? '', /Reply-all to email \d+[\s\S]*ann@fund\.com/);
  // Each listed draft links to itself, in its mailbox's Gmail account.
  const listed = drafts.getByRole('link', { name: 'Open the draft in Gmail' }).first();
  assert.equal(
    await listed.getAttribute('href'),
    `https://mail.google.com/mail/?authuser=ann%40fund.com#drafts?compose=${created.message_id}`,
  );
  await shot(page, 'drafts');
  assertNothingSent(await fakeState(), outboxBefore, /wire on Monday/);
  await page.close();
});

test('Draft a reply goes to the sender (Reply-To) only, with no Cc, and sends nothing', { timeout: TEST_MS }, async () => {
  const outboxBefore = new Set(readdirSync(OUTBOX));
  const before = await fakeState();
  const page = await signIn(ADMIN_LINK);
  const text = await draft(page, 'Draft a reply', 'Lena, noted; the wire goes out Tuesday.');
  assert.equal(text, 'Draft “Re: Q3 capital call” created, to assist@investor.com. Open the draft in Gmail to review and send it.');
  const created = newDraft(before, await fakeState());
  assert.equal(await draftLink(page), `https://mail.google.com/mail/?authuser=ann%40fund.com#drafts?compose=${created.message_id}`);
  assert.equal(header(created.raw, 'To'), 'assist@investor.com', 'to the Reply-To address only');
  assert.doesNotMatch(created.raw, /^Cc:/im, 'no Cc');
  assert.match(header(created.raw, 'Subject'), /^Re: Q3 capital call$/);
  assert.match(created.raw, /the wire goes out Tuesday/);
  await shot(page, 'email-reply-draft-created');
  await nav(page, 'Drafts');
  await page.getByRole('list', { name: 'Drafts' }).getByText(/^Reply to email \d+$/).first().waitFor();
  assertNothingSent(await fakeState(), outboxBefore, /goes out Tuesday/);
  await page.close();
});
