// Browser tests of the console against a real `mailroom serve`, driven by
// playwright-core on Debian's Chromium. scripts/ci/browser.sh starts the
// server (fresh SQLite, seeded directory and mail, outbox transport) and
// passes what the tests need in the environment.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run scripts/ci/browser.sh)`);
  return v;
}

const BASE = env('CONSOLE_BASE');
const ADMIN_LINK = env('CONSOLE_ADMIN_LINK');
const ADMIN_EMAIL = env('CONSOLE_ADMIN_EMAIL');
const MEMBER_LINK = env('CONSOLE_MEMBER_LINK');
const OUTBOX = env('CONSOLE_OUTBOX_DIR');
const SHOTS = env('CONSOLE_SCREENSHOTS');
const STEP_MS = 15_000;
const TEST_MS = 90_000;

let ctx: BrowserContext;
let profile: string;

before(async () => {
  // A fresh profile every run; Playwright never downloads a browser here.
  profile = mkdtempSync(join(tmpdir(), 'mailroom-chromium-'));
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    timeout: 60_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
    timezoneId: 'UTC',
    locale: 'en-US',
  });
  ctx.setDefaultTimeout(STEP_MS);
  ctx.setDefaultNavigationTimeout(STEP_MS);
});

after(async () => {
  await ctx?.close();
  rmSync(profile, { recursive: true, force: true });
});

/** A new tab signed in by a CLI link (sessionStorage is per tab). */
async function signIn(link: string): Promise<Page> {
  const page = await ctx.newPage();
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(String(e)));
  await page.goto(link);
  // The token leaves the address bar at once.
  await page.waitForFunction(() => !window.location.hash.includes('token='));
  await page.getByTestId('who').waitFor();
  assert.deepEqual(failures, [], 'no script errors');
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const size = page.viewportSize();
  await page.setViewportSize({ width: 375, height: 800 });
  await page.screenshot({ path: join(SHOTS, `${name}-375px.png`), fullPage: true });
  // Nothing wider than the phone's screen.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${name} fits 375 px (overflows by ${overflow}px)`);
  if (size) await page.setViewportSize(size);
}

/** Polls `f` until `ok` holds of its value (bounded by STEP_MS). */
async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  const end = Date.now() + STEP_MS;
  let v = await f();
  while (!ok(v)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
    v = await f();
  }
  return v;
}

async function nav(page: Page, label: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: label }).click();
  await page.getByRole('heading', { level: 1, name: label }).waitFor();
}

/** The subjects the Communications list shows once it has loaded. */
async function results(page: Page): Promise<string[]> {
  await page.getByTestId('result-count').waitFor();
  return page.getByRole('list', { name: 'Emails' }).locator('.subject').allTextContents();
}

/** From a freshly loaded Communications page: set filters, search, read the results. */
async function search(page: Page, set: (p: Page) => Promise<void>): Promise<string[]> {
  await page.goto(`${BASE}/communications`);
  await results(page);
  await set(page);
  // The filters differ from the empty ones, so Search always asks the API.
  await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === '/api/email/activity'),
    page.getByRole('button', { name: 'Search', exact: true }).click(),
  ]);
  return results(page);
}

test('sign in by the CLI link shows who is signed in', { timeout: TEST_MS }, async () => {
  const page = await signIn(ADMIN_LINK);
  assert.match((await page.getByTestId('who').textContent()) ?? '', /Ann/);
  assert.equal(await page.evaluate(() => window.location.hash), '');
  await page.close();
});

test('a bad or expired token signs out with a clear message', { timeout: TEST_MS }, async () => {
  const page = await ctx.newPage();
  await page.goto(`${BASE}/#token=not.a.token`);
  await page.getByRole('alert').filter({ hasText: 'Your session ended. Sign in again.' }).waitFor();
  await page.getByText('mailroom token --email you@fund.com --link').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'the bad token is dropped');
  await shot(page, 'sign-in');
  await page.close();
});

test('Communications: every filter, then an email in full', { timeout: TEST_MS }, async () => {
  const page = await signIn(ADMIN_LINK);
  await page.getByRole('heading', { level: 1, name: 'Communications' }).waitFor();
  const all = await results(page);
  assert.ok(all.length >= 6, `seeded mail is listed (${all.length})`);

  // Investor dropdown: no graveyard investor.
  const options = await page.getByLabel('Investor').locator('option').allTextContents();
  assert.ok(options.includes('Investor Co'), options.join(','));
  assert.ok(!options.includes('Old Fund'), 'graveyard investors are not offered');

  const byInvestor = await search(page, (p) => p.getByLabel('Investor').selectOption({ label: 'Acme Capital' }).then(() => undefined));
  assert.deepEqual(byInvestor, ['Acme follow-up']);

  const byMailbox = await search(page, (p) => p.getByLabel('Mailbox').selectOption({ label: 'bob@fund.com' }).then(() => undefined));
  assert.deepEqual(byMailbox.sort(), ['Acme follow-up', 'Q3 capital call']);

  const outbound = await search(page, (p) => p.getByLabel('Direction').selectOption('outbound').then(() => undefined));
  assert.deepEqual(outbound.sort(), ['Acme follow-up', 'Re: Signed side letter']);
  const inbound = await search(page, (p) => p.getByLabel('Direction').selectOption('inbound').then(() => undefined));
  assert.ok(inbound.length >= 5 && !inbound.includes('Re: Signed side letter'), inbound.join(','));

  const byText = await search(page, (p) => p.getByLabel('Search text').fill('capital call'));
  assert.deepEqual(byText, ['Q3 capital call']);

  // By keyboard: Enter in the text field searches.
  await page.goto(`${BASE}/communications`);
  await results(page);
  await page.getByLabel('Search text').focus();
  await page.keyboard.type('side letter');
  await Promise.all([page.waitForResponse((r) => new URL(r.url()).pathname === '/api/email/activity'), page.keyboard.press('Enter')]);
  assert.deepEqual((await results(page)).sort(), ['Re: Signed side letter', 'Signed side letter']);

  const byDates = await search(page, async (p) => {
    await p.getByLabel('Sent on or after').fill('2024-05-18');
    await p.getByLabel('Sent on or before').fill('2024-05-18');
  });
  // Both ends bound: mail from the 14th to the 22nd is left out.
  assert.deepEqual(byDates.sort(), ['Re: Signed side letter', 'Signed side letter']);

  // A bad range is refused in the form, with a message.
  await page.getByLabel('Sent on or after').fill('2024-05-20');
  await page.getByLabel('Sent on or before').fill('2024-05-10');
  await page.getByText('The end date is before the start date.').waitFor();
  assert.ok(await page.getByRole('button', { name: 'Search', exact: true }).isDisabled());

  await page.goto(`${BASE}/communications`);
  await results(page);
  await shot(page, 'communications');

  // Open one: body, investors, mailboxes, thread, draft actions.
  await page.getByRole('list', { name: 'Emails' }).getByRole('link', { name: /^Signed side letter/ }).click();
  await page.getByRole('heading', { level: 1, name: 'Signed side letter' }).waitFor();
  assert.match((await page.getByTestId('email-body').textContent()) ?? '', /\S/);
  assert.match((await page.getByRole('list', { name: 'Investors' }).textContent()) ?? '', /Investor Co/);
  assert.match((await page.getByRole('list', { name: 'Mailboxes that saw it' }).textContent()) ?? '', /ann@fund\.com/);
  assert.match((await page.getByRole('list', { name: 'Thread' }).textContent()) ?? '', /Re: Signed side letter/);
  await page.getByRole('button', { name: 'Draft a reply' }).waitFor();
  await page.getByRole('button', { name: 'Draft reply-all' }).waitFor();
  assert.ok(await page.getByRole('button', { name: 'Draft a reply' }).isDisabled(), 'no draft without text');
  await shot(page, 'email-detail');
  // Following the thread opens the other email.
  await page.getByRole('list', { name: 'Thread' }).getByRole('link').first().click();
  await page.getByRole('heading', { level: 1, name: 'Re: Signed side letter' }).waitFor();
  await page.close();
});

test('Proposals: approving one takes it off the pending list', { timeout: TEST_MS }, async () => {
  const page = await signIn(ADMIN_LINK);
  await nav(page, 'Proposals');
  const pending = page.getByTestId('pending');
  await pending.waitFor();
  const before = await pending.locator('.subject').allTextContents();
  assert.ok(before.length > 0, 'seeded proposals are pending');
  await shot(page, 'proposals');
  const card = pending.locator('li').filter({ hasText: 'Q3 capital call' }).first();
  await card.getByRole('button', { name: 'Approve' }).click();
  await page.getByRole('status').filter({ hasText: 'approved' }).waitFor();
  const pendingNow = async () =>
    (await page.getByRole('status').filter({ hasText: 'Loading' }).count()) > 0 ? null : await pending.locator('.subject').allTextContents();
  const afterList = (await until(pendingNow, (v) => v !== null && v.length === before.length - 1, 'one fewer pending proposal')) ?? [];
  assert.equal(
    afterList.filter((s) => s === 'Q3 capital call').length,
    before.filter((s) => s === 'Q3 capital call').length - 1,
  );
  // It is listed as decided.
  await page.getByTestId('decided').filter({ hasText: 'Q3 capital call' }).waitFor();
  // Approving again through a stale page answers the same, not an error: reload and check the list stays short.
  await page.reload();
  await page.getByRole('heading', { level: 1, name: 'Proposals' }).waitFor();
  await page.getByTestId('who').waitFor();
  await page.close();
});

test('Digest: on and a new hour survive a reload; the test email lands in the outbox', { timeout: TEST_MS }, async () => {
  const page = await signIn(ADMIN_LINK);
  await nav(page, 'Digest');
  const enabled = page.getByLabel('Send the daily digest');
  await enabled.waitFor();
  // Each change is saved at once; the page says so (or shows the error).
  const saved = async (text: string) => {
    const r = page.getByRole('status').filter({ hasText: text }).or(page.getByRole('alert'));
    await r.first().waitFor();
    assert.match((await r.first().textContent()) ?? '', new RegExp(text), 'saved without an error');
  };
  if (await enabled.isChecked()) {
    await enabled.click();
    await saved('digest off');
  }
  await enabled.click();
  await saved('digest on');
  assert.equal(await enabled.isChecked(), true);
  const hour = page.getByLabel(/^Send time/);
  const was = await hour.inputValue();
  const next = was === '17' ? '6' : '17';
  await hour.selectOption(next);
  await saved(`sent at ${next.padStart(2, '0')}:00`);
  assert.match((await page.locator('label', { has: hour }).textContent()) ?? '', /\(UTC\)|\(\w+\/\w+\)/, 'the time zone is named');

  await page.reload();
  await page.getByTestId('who').waitFor();
  await page.getByLabel('Send the daily digest').waitFor();
  assert.equal(await page.getByLabel('Send the daily digest').isChecked(), true, 'still on after reload');
  assert.equal(await page.getByLabel(/^Send time/).inputValue(), next, 'hour kept after reload');

  const before = new Set(readdirSync(OUTBOX).filter((f) => f.endsWith('.eml')));
  await page.getByRole('button', { name: 'Send Test Digest Email' }).click();
  await page.getByRole('status').filter({ hasText: 'Test email sent by outbox' }).waitFor();
  const fresh = readdirSync(OUTBOX).filter((f) => f.endsWith('.eml') && !before.has(f));
  assert.equal(fresh.length, 1, `one new .eml in ${OUTBOX}`);
  const eml = readFileSync(join(OUTBOX, fresh[0] ?? ''), 'utf8');
  const to = /^To:(.*(?:\r?\n[ \t].*)*)/im.exec(eml)?.[1] ?? '';
  assert.match(to, new RegExp(ADMIN_EMAIL.replace(/[.]/g, '\\.')), `addressed to the admin: ${to}`);
  assert.doesNotMatch(to, /bob@fund\.com|investor/i, 'to nobody else');
  // The send log shows it.
  await page.getByTestId('sends').filter({ hasText: 'test' }).waitFor();
  await shot(page, 'digest');
  await page.close();
});

test('Mailboxes: sync state, counts and capture errors', { timeout: TEST_MS }, async () => {
  const page = await signIn(ADMIN_LINK);
  await nav(page, 'Mailboxes');
  const list = page.getByRole('list', { name: 'Mailboxes' });
  await list.waitFor();
  const text = (await list.textContent()) ?? '';
  assert.match(text, /ann@fund\.com/);
  assert.match(text, /bob@fund\.com/);
  assert.match(text, /\d+ messages/);
  await list.locator('summary').first().click();
  await page.getByText(/No capture errors\.|message /).first().waitFor();
  await shot(page, 'mailboxes');
  await page.close();
});

test('a member sees no admin data and is told why', { timeout: TEST_MS }, async () => {
  const page = await signIn(MEMBER_LINK);
  assert.match((await page.getByTestId('who').textContent()) ?? '', /Bob/);
  for (const label of ['Communications', 'Mailboxes', 'Digest']) {
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: new RegExp(`^${label}`) }).click();
    const notice = page.getByTestId('admin-only');
    await notice.waitFor();
    assert.match((await notice.textContent()) ?? '', /admins only/);
    const body = (await page.locator('main').textContent()) ?? '';
    for (const secret of ['Signed side letter', 'ann@fund.com', 'Send Test Digest Email', 'Investor Co']) {
      assert.ok(!body.includes(secret), `${label} shows no admin data (${secret})`);
    }
    await shot(page, `member-${label.toLowerCase()}`);
  }
  // Their own proposals only: bob's mailbox holds the Acme mail and the capital call.
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Proposals' }).click();
  await page.getByRole('heading', { level: 1, name: 'Proposals' }).waitFor();
  await page.getByTestId('pending').or(page.getByText('No pending proposals.')).first().waitFor();
  const main = (await page.locator('main').textContent()) ?? '';
  assert.ok(!main.includes('Signed side letter'), 'no proposals on other mailboxes');
  assert.ok(main.includes('Acme follow-up'), 'their own proposal is listed');
  await shot(page, 'member-proposals');
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Drafts' }).click();
  await page.getByRole('heading', { level: 1, name: 'Drafts' }).waitFor();
  await page.getByText('No drafts yet.').waitFor();
  await page.close();
});
