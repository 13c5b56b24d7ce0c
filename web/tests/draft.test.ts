// "Draft a reply" against a `mailroom serve` with Gmail configured (the fake
// Google from tests/src, started by scripts/ci/browser.sh): the console
// creates the draft, links to it in Gmail, and nothing is sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_LINK, BASE, OUTBOX, TEST_MS, nav, results, shot, signIn } from './harness.js';

test('Draft reply-all creates a Gmail draft, links to it and sends nothing', { timeout: TEST_MS }, async () => {
  const outboxBefore = new Set(readdirSync(OUTBOX));
  const page = await signIn(ADMIN_LINK);
  await page.goto(`${BASE}/communications`);
  await results(page);
  await page.getByRole('list', { name: 'Emails' }).getByRole('link', { name: /^Q3 capital call/ }).first().click();
  await page.getByRole('heading', { level: 1, name: 'Q3 capital call' }).waitFor();
  await page.getByLabel('Reply text').fill('Thanks Lena, we will wire on Monday.');
  await page.getByRole('button', { name: 'Draft reply-all' }).click();
  const done = page.getByTestId('draft-done').or(page.getByRole('alert'));
  await done.first().waitFor();
  const text = (await done.first().textContent()) ?? '';
  assert.match(text, /Draft “Re: Q3 capital call” created for/, text);
  assert.match(text, /assist@investor\.com/i, 'replies to the Reply-To address');
  assert.match(text, /ops@investor\.com/i, 'reply-all keeps the Cc');
  const href = (await page.getByRole('link', { name: 'Open the thread in Gmail' }).getAttribute('href')) ?? '';
  assert.match(href, /^https:\/\/mail\.google\.com\/mail\/\?authuser=ann%40fund\.com#all\/\S+$/, href);
  await shot(page, 'email-draft-created');

  // It is listed among the drafts, and nothing went out.
  await nav(page, 'Drafts');
  const drafts = page.getByRole('list', { name: 'Drafts' });
  await drafts.waitFor();
  assert.match((await drafts.textContent()) ?? '', /Reply-all to email \d+[\s\S]*ann@fund\.com/);
  await shot(page, 'drafts');

  // (The digest scheduler may write its own mail meanwhile; none carries the reply.)
  for (const f of readdirSync(OUTBOX).filter((f) => !outboxBefore.has(f))) {
    assert.doesNotMatch(readFileSync(join(OUTBOX, f), 'utf8'), /wire on Monday/, `drafting sends nothing (${f})`);
  }
  await page.close();
});
