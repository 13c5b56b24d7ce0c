// Shared by the browser tests: the environment scripts/ci/browser.sh passes,
// one Chromium (Debian's, through playwright-core) per test file with a fresh
// profile, sign-in by a CLI link, screenshots and bounded polling.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';

export function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run scripts/ci/browser.sh)`);
  return v;
}

export const BASE = env('CONSOLE_BASE');
export const ADMIN_LINK = env('CONSOLE_ADMIN_LINK');
export const ADMIN_EMAIL = env('CONSOLE_ADMIN_EMAIL');
export const MEMBER_LINK = process.env.CONSOLE_MEMBER_LINK ?? '';
export const OUTBOX = env('CONSOLE_OUTBOX_DIR');
export const SHOTS = env('CONSOLE_SCREENSHOTS');
/** The fund's time zone (the service's CRM_TIMEZONE). */
export const FUND_TZ = process.env.CONSOLE_FUND_TZ ?? 'UTC';
/** The fake Google's control endpoint (the Gmail phase only). */
export const FAKE_CONTROL = process.env.CONSOLE_FAKE_CONTROL ?? '';
export const STEP_MS = 15_000;
export const TEST_MS = 90_000;

export let ctx: BrowserContext;
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
    // Not the fund's zone (CONSOLE_FUND_TZ): the console must not read dates in it.
    timezoneId: process.env.CONSOLE_BROWSER_TZ ?? 'UTC',
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
export async function signIn(link: string): Promise<Page> {
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

export async function shot(page: Page, name: string): Promise<void> {
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
export async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  const end = Date.now() + STEP_MS;
  let v = await f();
  while (!ok(v)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
    v = await f();
  }
  return v;
}

/** The digest's day as its subject names it ("Sat 5 Dec 2026"), in `zone`. */
export function digestDay(at: Date, zone: string): string {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: zone, weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('weekday')} ${part('day')} ${part('month')} ${part('year')}`;
}

/** The .eml files in the outbox. */
export function outboxFiles(): string[] {
  return readdirSync(OUTBOX).filter((f) => f.endsWith('.eml'));
}

/** A header of a message, its folded lines joined. */
export function header(eml: string, name: string): string {
  const m = new RegExp(`^${name}:(.*(?:\\r?\\n[ \\t].*)*)`, 'im').exec(eml);
  return (m?.[1] ?? '').replace(/\r?\n[ \t]+/g, ' ').trim();
}

/** Follows a link of the page menu; waits for the page's heading (`heading`, else the label). */
export async function nav(page: Page, label: string, heading = label): Promise<void> {
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: label }).click();
  await page.getByRole('heading', { level: 1, name: heading, exact: true }).waitFor();
}

/** The digest's page: Settings → Admin. */
export async function navSettings(page: Page): Promise<void> {
  await nav(page, 'Settings', 'Settings → Admin');
}

/** The subjects the Communications list shows once it has loaded. */
export async function results(page: Page): Promise<string[]> {
  await page.getByTestId('result-count').waitFor();
  return page.getByRole('list', { name: 'Emails' }).locator('.subject').allTextContents();
}

export type Row = { id: string; subject: string; at: string };

/** The Communications rows in the order shown: email id, subject, sent time (ISO). */
export async function rows(page: Page): Promise<Row[]> {
  await page.getByTestId('result-count').waitFor();
  return page
    .getByRole('list', { name: 'Emails' })
    .locator('li > a.row')
    .evaluateAll((links) =>
      links.map((a) => ({
        id: (a.getAttribute('href') ?? '').replace(/^.*\//, ''),
        subject: a.querySelector('.subject')?.textContent ?? '',
        at: a.querySelector('time')?.getAttribute('datetime') ?? '',
      })),
    );
}

/** Fails unless `list` is newest first (sent times never increase). */
export function assertNewestFirst(list: Row[], what: string): void {
  for (let i = 1; i < list.length; i++) {
    const [a, b] = [list[i - 1], list[i]];
    if (!a || !b) continue;
    assert.ok(a.at !== '' && b.at !== '', `${what}: every row has a sent time`);
    assert.ok(Date.parse(a.at) >= Date.parse(b.at), `${what}: newest first, but row ${i} (${a.subject}, ${a.at}) is older than row ${i + 1} (${b.subject}, ${b.at})`);
  }
}

/** From a freshly loaded Communications page: set filters, search, read the results. */
export async function search(page: Page, set: (p: Page) => Promise<void>): Promise<string[]> {
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

export type FakeDraft = { id: string; message_id: string; thread_id: string; raw: string };
export type FakeState = {
  calls: Record<string, number>;
  mailboxes: Record<string, { drafts: FakeDraft[]; sent: number }>;
};

async function control(method: 'GET' | 'POST', path: string, body?: string): Promise<unknown> {
  if (!FAKE_CONTROL) throw new Error('CONSOLE_FAKE_CONTROL is not set (the Gmail phase of scripts/ci/browser.sh)');
  const r = await fetch(`${FAKE_CONTROL}${path}`, { method, body, signal: AbortSignal.timeout(STEP_MS) });
  assert.equal(r.status, 200, `fake Google control ${method} ${path}: ${r.status}`);
  return r.json();
}

/** What the fake Google saw: calls per endpoint, drafts and sends per mailbox. */
export async function fakeState(): Promise<FakeState> {
  return (await control('GET', '/state')) as FakeState;
}

/** Adds a raw message to a mailbox of the fake Google; its Gmail id. */
export async function fakeAddMessage(mailbox: string, raw: string): Promise<string> {
  const r = (await control('POST', `/messages/${encodeURIComponent(mailbox)}`, raw)) as { id: string };
  return r.id;
}

/** Queues faults on an endpoint of the fake Google (`echo` quotes the request's credentials). */
export async function fakeFault(endpoint: string, kind: 'status' | 'echo', status: number, count = 1): Promise<void> {
  await control('POST', `/faults/${endpoint}/${kind}/${status}?count=${count}`);
}
