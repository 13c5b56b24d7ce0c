// Browser tests of the console against a real `mailroom serve`, driven by
// playwright-core on Debian's Chromium. scripts/ci/browser.sh starts the
// server (fresh SQLite, seeded directory and mail, outbox transport) and
// passes what the tests need in the environment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_EMAIL, ADMIN_LINK, BASE, FUND_TZ, MEMBER_LINK, OUTBOX, TEST_MS, assertNewestFirst, ctx, digestDay, header, nav, navSettings, outboxFiles, results, rows, search, shot, signIn, until } from './harness.js';

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

test('a 401 part-way through a session signs out, with the same message', { timeout: TEST_MS }, async () => {
  const page = await signIn(ADMIN_LINK);
  await page.getByRole('heading', { level: 1, name: 'Communications' }).waitFor();
  await results(page);
  // From now on the tab's token is refused, as when it expires mid-session:
  // the real server answers its requests 401.
  await page.route('**/api/**', (route) => route.continue({ headers: { ...route.request().headers(), authorization: 'Bearer expired.token.here' } }));
  const refused = page.waitForResponse((r) => r.url().startsWith(`${BASE}/api/`) && r.status() === 401);
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Proposals' }).click();
  await refused;
  await page.getByRole('alert').filter({ hasText: 'Your session ended. Sign in again.' }).waitFor();
  await page.getByText('mailroom token --email you@fund.com --link').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'the token is dropped');
  assert.equal(await page.getByTestId('who').count(), 0, 'nobody is shown signed in');
  assert.ok(!((await page.locator('body').textContent()) ?? '').includes('Signed side letter'), 'no admin data stays on screen');
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
  assert.deepEqual(byMailbox, ['Acme follow-up', 'Q3 capital call'], 'newest first');

  const outbound = await search(page, (p) => p.getByLabel('Direction').selectOption('outbound').then(() => undefined));
  assert.deepEqual(outbound, ['Acme follow-up', 'Re: Signed side letter'], 'newest first');
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
  assert.deepEqual(await results(page), ['Re: Signed side letter', 'Signed side letter'], 'newest first');

  const byDates = await search(page, async (p) => {
    await p.getByLabel('Sent on or after').fill('2024-05-18');
    await p.getByLabel('Sent on or before').fill('2024-05-18');
  });
  // Both ends bound: mail from the 14th to the 22nd is left out.
  assert.deepEqual(byDates, ['Re: Signed side letter', 'Signed side letter'], 'newest first');

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

test('Communications: "Load more" appends the next page, newest first, with no duplicates', { timeout: TEST_MS }, async () => {
  const page = await signIn(ADMIN_LINK);
  await page.getByRole('heading', { level: 1, name: 'Communications' }).waitFor();
  const more = page.getByRole('button', { name: 'Load more email' });

  // Everything: more than one page (50) of seeded mail.
  const first = await rows(page);
  assert.equal(first.length, 50, 'a full first page');
  assert.match((await page.getByTestId('result-count').textContent()) ?? '', /^50 emails shown, more available\.$/);
  assertNewestFirst(first, 'first page');
  await Promise.all([page.waitForResponse((r) => new URL(r.url()).pathname === '/api/email/activity'), more.click()]);
  const all = await until(() => rows(page), (r) => r.length > 50, 'the second page');
  assert.deepEqual(all.slice(0, 50), first, 'the first page stays as it was, the next is appended');
  assert.equal(new Set(all.map((r) => r.id)).size, all.length, 'no email twice');
  assertNewestFirst(all, 'both pages');
  assert.equal(await more.count(), 0, 'no "Load more" on the last page');
  assert.match((await page.getByTestId('result-count').textContent()) ?? '', new RegExp(`^${all.length} emails\\.$`));
  // The button is gone with the last page: the focus rests on what was loaded.
  assert.equal(
    await page.evaluate(() => document.activeElement?.textContent ?? ''),
    `${all.length - 50} more email loaded; that is all.`,
  );

  // Bulk LP's 60 notes: note N was sent N hours in, so exactly 60 down to 01.
  const expected = Array.from({ length: 60 }, (_, i) => `Bulk LP note ${String(60 - i).padStart(2, '0')}`);
  const page1 = await search(page, (p) => p.getByLabel('Investor').selectOption({ label: 'Bulk LP' }).then(() => undefined));
  assert.deepEqual(page1, expected.slice(0, 50), 'the first 50, newest first');
  await Promise.all([page.waitForResponse((r) => new URL(r.url()).pathname === '/api/email/activity'), more.click()]);
  const both = await until(() => rows(page), (r) => r.length > 50, "Bulk LP's second page");
  assert.deepEqual(
    both.map((r) => r.subject),
    expected,
    'the last 10 appended in order, none repeated',
  );
  assertNewestFirst(both, 'Bulk LP');
  assert.equal(await more.count(), 0, 'no "Load more" after the last page');
  await shot(page, 'communications-load-more');
  await page.close();
});

test("Time zones: date filters and times are the fund's, not the browser's; the send hour is the fund's", { timeout: TEST_MS }, async () => {
  const browserTz = process.env.CONSOLE_BROWSER_TZ ?? 'UTC';
  assert.notEqual(browserTz, FUND_TZ, 'the browser runs in another zone than the fund (else this proves nothing)');
  const page = await signIn(ADMIN_LINK);
  assert.equal(await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone), browserTz);
  await page.getByTestId('date-zone').waitFor();
  assert.equal(await page.getByTestId('date-zone').textContent(), `Dates are days in the fund's time zone, ${FUND_TZ}.`);

  // "Late-night note" was sent at 22:30 UTC on 12 May 2024: 13 May in Paris,
  // still the 12th in New York (and in UTC).
  const at = new Date('2024-05-12T22:30:00Z');
  const fundDay = new Intl.DateTimeFormat('en-CA', { timeZone: FUND_TZ }).format(at);
  const browserDay = new Intl.DateTimeFormat('en-CA', { timeZone: browserTz }).format(at);
  assert.notEqual(fundDay, browserDay, 'the email falls on different days in the two zones');
  const on = (day: string) =>
    search(page, async (p) => {
      await p.getByLabel('Sent on or after').fill(day);
      await p.getByLabel('Sent on or before').fill(day);
    });
  assert.deepEqual(await on(fundDay), ['Late-night note'], `on ${fundDay}, the fund's day`);
  assert.deepEqual(await on(browserDay), [], `not on ${browserDay}, the browser's day`);

  // Its time is shown in the fund's zone.
  await on(fundDay);
  const row = page.getByRole('list', { name: 'Emails' }).getByRole('link', { name: /^Late-night note/ });
  const shown = (await row.locator('time').textContent()) ?? '';
  const expected = new Intl.DateTimeFormat('en-US', { timeZone: FUND_TZ, year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' }).format(at);
  assert.equal(shown, expected, 'the list shows the fund zone\'s time');
  await row.click();
  await page.getByRole('heading', { level: 1, name: 'Late-night note' }).waitFor();
  assert.equal(await page.locator('dd time').first().textContent(), expected, 'and so does the email');

  // The send hour is the fund's: saved as chosen, and told in the browser's time too.
  await navSettings(page);
  const hour = page.getByLabel(/^Send time/);
  await hour.waitFor();
  assert.match((await page.locator('label', { has: hour }).textContent()) ?? '', new RegExp(`\\(${FUND_TZ}\\)`));
  const chosen = (await hour.inputValue()) === '9' ? '10' : '9';
  await hour.selectOption(chosen);
  await page.getByRole('status').filter({ hasText: `sent at ${chosen.padStart(2, '0')}:00 ${FUND_TZ}` }).waitFor();
  // 09:00 on the fund's clock today, read on the browser's clock.
  const wallOf = (tz: string, t: Date) => {
    const p = Object.fromEntries(new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' }).formatToParts(t).map((x) => [x.type, Number(x.value)]));
    return Date.UTC(p.year ?? 0, (p.month ?? 1) - 1, p.day ?? 1, p.hour ?? 0, p.minute ?? 0);
  };
  const now = new Date();
  const fundAheadH = (wallOf(FUND_TZ, now) - wallOf(browserTz, now)) / 3_600_000;
  const hereH = (((Number(chosen) - fundAheadH) % 24) + 24) % 24;
  assert.equal(
    await page.getByTestId('hour-here').textContent(),
    `${chosen.padStart(2, '0')}:00 in ${FUND_TZ} is ${String(hereH).padStart(2, '0')}:00 your time (${browserTz}) today.`,
  );
  await shot(page, 'digest-time-zones');
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
  // More than a page is pending, so the page stays full: the approved one is gone from it.
  const q3 = (list: string[]) => list.filter((s) => s === 'Q3 capital call').length;
  await until(pendingNow, (v) => v !== null && q3(v) === q3(before) - 1, 'one fewer pending "Q3 capital call"');
  // It is listed as decided, with who decided.
  const decidedCard = page.getByTestId('decided').locator('li').filter({ hasText: 'Q3 capital call' }).first();
  await decidedCard.waitFor();
  assert.match((await decidedCard.getByTestId('decided-by').textContent()) ?? '', /approved by ann@fund\.com/);

  // A decision that conflicts: another tab rejects "Fees", this stale page then approves it.
  const other = await signIn(ADMIN_LINK);
  await nav(other, 'Proposals');
  await other.getByTestId('pending').locator('li').filter({ hasText: 'Fees' }).first().getByRole('button', { name: 'Reject' }).click();
  await other.getByRole('status').filter({ hasText: 'rejected' }).waitFor();
  await other.close();
  await pending.locator('li').filter({ hasText: 'Fees' }).first().getByRole('button', { name: 'Approve' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match((await alert.textContent()) ?? '', /conflict/i, 'the conflict is shown');
  await shot(page, 'proposals-conflict');
  await page.close();
});

test('Proposals: approve by keyboard alone; focus then rests on the result, and Tab reaches the next proposal', { timeout: TEST_MS }, async () => {
  const page = await signIn(ADMIN_LINK);
  await nav(page, 'Proposals');
  const pending = page.getByTestId('pending');
  await pending.waitFor();
  const focused = () => page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent ?? '');
  // Tab from the top of the page to the first Approve button.
  let label = '';
  for (let i = 0; i < 30 && !label.startsWith('Approve: '); i++) {
    await page.keyboard.press('Tab');
    label = await focused();
  }
  assert.ok(label.startsWith('Approve: '), `Tab reaches an Approve button (${label})`);
  const subject = label.slice('Approve: '.length);
  const before = (await pending.locator('.subject').allTextContents()).filter((s) => s === subject).length;
  await page.keyboard.press('Enter');
  const status = page.getByRole('status').filter({ hasText: `“${subject}” approved` });
  await status.waitFor();
  await until(
    async () => (await page.getByRole('status').filter({ hasText: 'Loading' }).count()) > 0 ? null : (await pending.locator('.subject').allTextContents()).filter((s) => s === subject).length,
    (n) => n === before - 1,
    'the approved proposal to leave the pending list',
  );
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('role')), 'status', 'focus is on the result, not lost');
  await page.keyboard.press('Tab');
  assert.match(await focused(), /^Approve: /, 'the next Tab is the next proposal\'s Approve');
  await page.close();
});

test('Digest: on and a new hour survive a reload; the test email lands in the outbox', { timeout: TEST_MS }, async () => {
  const page = await signIn(ADMIN_LINK);
  await navSettings(page);
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
  // The scheduler may also send today's digest now that it is on; whatever
  // lands goes to the admin only, and the test email is among it.
  const fresh = await until(
    async () => readdirSync(OUTBOX).filter((f) => f.endsWith('.eml') && !before.has(f)),
    (f) => f.length > 0,
    `a new .eml in ${OUTBOX}`,
  );
  const mails = fresh.map((f) => readFileSync(join(OUTBOX, f), 'utf8'));
  for (const eml of mails) {
    const to = /^To:(.*(?:\r?\n[ \t].*)*)/im.exec(eml)?.[1] ?? '';
    assert.match(to, new RegExp(ADMIN_EMAIL.replace(/[.]/g, '\\.')), `addressed to the admin: ${to}`);
    assert.doesNotMatch(to, /bob@fund\.com|investor|acme/i, 'to nobody else');
    assert.doesNotMatch(eml, /^(Cc|Bcc):/im, 'no copies');
  }
  assert.equal(mails.filter((m) => /^Subject:.*mailroom test email/im.test(m)).length, 1, 'the test email is in the outbox');
  // The send log shows it.
  await page.getByTestId('sends').filter({ hasText: 'test' }).waitFor();
  await shot(page, 'digest');
  await page.close();
});

test('Digest: the preview is today\'s digest; "Send Digest Now" mails it to the admin only and logs a send-now', { timeout: TEST_MS }, async () => {
  const page = await signIn(ADMIN_LINK);
  await navSettings(page);
  // Today's window holds one email: Lena's "Quarterly LP update" to Ann, an hour old.
  const days = [digestDay(new Date(), FUND_TZ)];
  const subjects = () => days.map((d) => `mailroom digest for ${d}: 1 email, 1 investor`);
  const preview = page.getByTestId('digest-preview');
  await preview.waitFor();
  const shown = (await preview.locator('.subject').textContent()) ?? '';
  days.push(digestDay(new Date(), FUND_TZ)); // in case the fund's day turned meanwhile
  assert.ok(subjects().includes(shown), `today's subject: ${shown}`);
  assert.match((await preview.locator('.meta').textContent()) ?? '', /1 email, 1 investor, 1 teammate with activity/);
  assert.match((await preview.locator('pre').textContent()) ?? '', /Ann Admin: 1 email \(1 received, 0 sent\) with 1 investor\./);
  assert.match((await preview.locator('pre').textContent()) ?? '', new RegExp(`\\(${FUND_TZ.replace('/', '\\/')}`), "the window is in the fund's zone");

  const sendNowRows = () => page.getByTestId('sends').locator('li').filter({ hasText: 'send now' }).count();
  await page.getByTestId('sends').or(page.getByText('No digest sent yet.')).first().waitFor();
  const loggedBefore = await sendNowRows();
  const before = new Set(outboxFiles());
  await page.getByRole('button', { name: 'Send Digest Now' }).click();
  const status = page.getByRole('status').filter({ hasText: /^Digest “/ }).or(page.getByRole('alert'));
  await status.first().waitFor();
  const said = (await status.first().textContent()) ?? '';
  assert.ok(
    subjects().some((s) => said === `Digest “${s}” sent by outbox to ${ADMIN_EMAIL}.`),
    `the page says what was sent, and to whom: ${said}`,
  );
  // The .eml is in the outbox, to the admin alone (the scheduler may have
  // written today's scheduled digest too: the same rule holds for it).
  const fresh = await until(
    async () => outboxFiles().filter((f) => !before.has(f)),
    (f) => f.some((name) => subjects().includes(header(readFileSync(join(OUTBOX, name), 'utf8'), 'Subject'))),
    "the digest's .eml in the outbox",
  );
  for (const f of fresh) {
    const eml = readFileSync(join(OUTBOX, f), 'utf8');
    assert.equal(header(eml, 'To').replace(/^.*</, '').replace(/>.*$/, ''), ADMIN_EMAIL, `${f} is to the admin only`);
    assert.doesNotMatch(eml, /^(Cc|Bcc):/im, 'no copies');
  }
  const digest = fresh.map((f) => readFileSync(join(OUTBOX, f), 'utf8')).find((e) => subjects().includes(header(e, 'Subject'))) ?? '';
  assert.match(digest, /Ann Admin: 1 email \(1 received, 0 sent\) with 1 investor\./, "it carries the day's activity");
  assert.match(digest, /Quarterly LP update/, "and the day's email");
  // The send log has one more send-now row, sent, to one admin.
  await until(sendNowRows, (n) => n === loggedBefore + 1, 'a send-now row in the send log');
  const row = page.getByTestId('sends').locator('li').filter({ hasText: 'send now' }).first();
  assert.match((await row.textContent()) ?? '', /^sent .* · send now · outbox · 1 admin/);
  await shot(page, 'digest-sent-now');
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

  // Add one, then disable it.
  await page.getByLabel("Owner (a user's email)").fill('ann@fund.com');
  await page.getByLabel('Mailbox address').fill('ann.deals@fund.com');
  await page.getByRole('button', { name: 'Add mailbox' }).click();
  await page.getByRole('status').filter({ hasText: 'ann.deals@fund.com added.' }).waitFor();
  const card = list.locator('li').filter({ hasText: 'ann.deals@fund.com' });
  await card.waitFor();
  await card.getByRole('button', { name: 'Disable ann.deals@fund.com' }).click();
  await page.getByRole('status').filter({ hasText: 'ann.deals@fund.com disabled.' }).waitFor();
  await card.getByRole('button', { name: 'Enable ann.deals@fund.com' }).click();
  await page.getByRole('status').filter({ hasText: 'ann.deals@fund.com enabled.' }).waitFor();
  await card.getByRole('button', { name: 'Disable ann.deals@fund.com' }).waitFor();
  // A bad address is refused with a message, and nothing is added.
  await page.getByLabel('Mailbox address').fill('ann.deals@fund.com');
  await page.getByRole('button', { name: 'Add mailbox' }).click();
  await page.getByRole('alert').waitFor();
  assert.equal(await list.locator('li').filter({ hasText: 'ann.deals@fund.com' }).count(), 1, 'no duplicate mailbox');
  // Without Gmail, "Sync now" says why it cannot run.
  await list.locator('li').filter({ hasText: 'bob@fund.com' }).getByRole('button', { name: 'Sync bob@fund.com now' }).click();
  await page.getByRole('alert').waitFor();
  await shot(page, 'mailboxes');
  await page.close();
});

test('a member sees no admin data and is told why', { timeout: TEST_MS }, async () => {
  const page = await signIn(MEMBER_LINK);
  assert.match((await page.getByTestId('who').textContent()) ?? '', /Bob/);
  for (const label of ['Communications', 'Mailboxes', 'Settings']) {
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

test('loading and failures: a page says it is loading, and says what failed when the service cannot be reached', { timeout: TEST_MS }, async () => {
  const page = await signIn(ADMIN_LINK);
  // Hold the proposals list back: the page says it is loading meanwhile.
  let release = (): void => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  await page.route('**/api/email/proposals*', async (route) => {
    await held;
    await route.continue();
  });
  await nav(page, 'Proposals');
  await page.getByRole('status').filter({ hasText: 'Loading…' }).first().waitFor();
  assert.equal(await page.getByTestId('pending').count(), 0, 'no list before its data');
  release();
  await page.getByTestId('pending').or(page.getByText('No pending proposals.')).waitFor();
  await page.unroute('**/api/email/proposals*');

  // The network fails: the page says so instead of showing nothing.
  await page.route('**/api/email/accounts*', (route) => route.abort('connectionrefused'));
  await nav(page, 'Mailboxes');
  await page.getByRole('alert').filter({ hasText: 'The service could not be reached.' }).waitFor();
  assert.equal(await page.getByRole('list', { name: 'Mailboxes' }).count(), 0);
  await shot(page, 'mailboxes-unreachable');
  await page.close();
});
