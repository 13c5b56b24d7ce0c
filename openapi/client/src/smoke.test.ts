// Smoke test of the generated client against a real `mailroom serve` on a
// temp SQLite file, with the fake Google and Spark (`fake_upstreams`) on
// loopback. Every operation of openapi/openapi.json is called at least once
// through the generated functions (zod-validated responses); every answer,
// errors included, is recorded and checked against the document with ajv; the
// last test fails when an operationId of the document was never called.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import AjvModule from 'ajv';
import formatsModule from 'ajv-formats';
const Ajv = AjvModule.default;
const addFormats = formatsModule.default;

import { client } from './client/client.gen.js';
import * as sdk from './client/sdk.gen.js';

const root = resolve(import.meta.dirname, '../../..');
const bin = resolve(root, process.env.MAILROOM_BIN ?? 'target/debug/mailroom');
const fakesBin = resolve(root, process.env.FAKE_UPSTREAMS_BIN ?? 'target/debug/fake_upstreams');
const doc = JSON.parse(readFileSync(resolve(root, 'openapi/openapi.json'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'mailroom-smoke-'));
const env: NodeJS.ProcessEnv = {
  ...process.env,
  DATABASE_URL: `sqlite://${join(work, 'db.sqlite')}?mode=rwc`,
  MAILROOM_OUTBOX_DIR: join(work, 'outbox'),
  CRM_JWT_SECRET: 'smoke-test-secret-not-used-anywhere-else',
  CRM_INTERNAL_DOMAINS: 'fund.com',
  SYNC_BACKFILL_DAYS: '1200',
  SYNC_INTERVAL_S: '3600',
  RUST_LOG: 'warn',
};

// ------------------------------------------------------------ recording

type Recorded = { operationId: string | null; via: 'sdk' | 'fetch'; method: string; path: string; status: number; body: unknown };
const recorded: Recorded[] = [];

/** Every operation of the document, keyed by its id. */
const operations = new Map<string, { method: string; template: string; pattern: RegExp }>();
for (const [template, item] of Object.entries(doc.paths as Record<string, Record<string, { operationId?: string }>>)) {
  for (const [method, op] of Object.entries(item)) {
    assert.ok(op.operationId, `${method} ${template} has no operationId`);
    operations.set(op.operationId, {
      method, template, pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
    });
  }
}

function operationOf(method: string, path: string): string | null {
  for (const [id, op] of operations) {
    if (op.method === method && op.pattern.test(path)) return id;
  }
  return null;
}

function record(via: Recorded['via'], method: string, url: string, status: number, text: string) {
  const path = new URL(url).pathname;
  const m = method.toLowerCase();
  recorded.push({ operationId: operationOf(m, path), via, method: m, path, status, body: text ? JSON.parse(text) : null });
}

// ------------------------------------------------------------ processes

let server: ChildProcess | undefined;
let fakes: ChildProcess | undefined;
let base = '';
let admin = '';
let member = '';

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? ok(a.port) : fail(new Error('no port'))));
    });
  });
}

function cli(...args: string[]): string {
  return execFileSync(bin, args, { env, encoding: 'utf8', timeout: 120_000 }).trim();
}

/** Starts the fakes and returns the `NAME=value` lines they print. */
async function startFakes(): Promise<Record<string, string>> {
  fakes = spawn(fakesBin, [join(work, 'service-account.json')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const vars: Record<string, string> = {};
  const lines = createInterface({ input: fakes.stdout! });
  for await (const line of lines) {
    const eq = line.indexOf('=');
    if (eq > 0) vars[line.slice(0, eq)] = line.slice(eq + 1);
    if (Object.keys(vars).length >= 3) break;
  }
  assert.ok(vars.GMAIL_API_BASE, 'fake_upstreams printed its environment');
  return vars;
}

before(async () => {
  Object.assign(env, await startFakes());
  // Bootstrap: one admin from the CLI, so there is a token to call the API
  // with; the rest of the directory goes through updateDirectory.
  const dir = join(work, 'directory.json');
  writeFileSync(dir, JSON.stringify({
    users: [{ email: 'ann@fund.com', display_name: 'Ann', role: 'admin', is_active: true }],
    investors: [], contacts: [],
  }));
  cli('directory', 'import', dir);
  admin = cli('token', '--email', 'ann@fund.com');
  const port = await freePort();
  server = spawn(bin, ['serve'], { env: { ...env, MAILROOM_BIND: `127.0.0.1:${port}` }, stdio: ['ignore', 'ignore', 'inherit'] });
  base = `http://127.0.0.1:${port}`;
  client.setConfig({ baseUrl: base });
  client.interceptors.response.use(async (response, request) => {
    record('sdk', request.method, request.url, response.status, await response.clone().text());
    return response;
  });
  for (let i = 0; i < 150; i++) {
    try { if ((await fetch(`${base}/healthz`)).ok) return; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('mailroom serve did not come up');
});

after(() => {
  server?.kill();
  fakes?.stdin?.end();
  fakes?.kill();
  writeFileSync(join(work, 'responses.json'), JSON.stringify(recorded, null, 2));
});

const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

/** A request outside the generated client (for inputs its own validation refuses), recorded too. */
async function raw(method: string, path: string, token: string | null, body?: unknown) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  record('fetch', method, `${base}${path}`, response.status, text);
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

// ------------------------------------------------------------ the calls

const state = {
  accounts: {} as Record<string, number>,
  emailIds: [] as number[],
};

test('health and readiness answer without a token', async () => {
  assert.equal((await sdk.getHealth()).response?.status, 200);
  const ready = await sdk.getReadiness();
  assert.equal(ready.response?.status, 200);
  assert.equal(ready.data?.status, 'ready');
});

test('no token is a 401, a bad token too', async () => {
  const none = await sdk.listEmailAccounts();
  assert.equal(none.response?.status, 401);
  assert.equal((none.error as { error?: string }).error, 'unauthorized');
  const bad = await sdk.getMe(as('not-a-jwt'));
  assert.equal(bad.response?.status, 401);
});

test('the directory is seeded through the API', async () => {
  const r = await sdk.updateDirectory({
    ...as(admin),
    body: {
      users: [
        { email: 'ann@fund.com', display_name: 'Ann', role: 'admin', is_active: true },
        { email: 'bob@fund.com', display_name: 'Bob', role: 'member', is_active: true },
      ],
      investors: [
        { id: 1, name: 'Investor Co', domains: ['investor.com'] },
        { id: 2, name: 'Acme Capital', domains: ['acme.com'] },
        { id: 3, name: 'Munich Partners', domains: [] },
      ],
      contacts: [
        { id: 10, investor_id: 2, name: 'Lee Park', emails: ['lee@acme.com'] },
        { id: 11, investor_id: 2, name: 'Max Acme', emails: ['max@acme.com'] },
        { id: 30, investor_id: 3, name: 'Jürgen Müller', emails: ['juergen@investor.de'] },
      ],
    },
  });
  assert.equal(r.response?.status, 200, JSON.stringify(r.error));
  assert.deepEqual(r.data, { users: 2, investors: 3, contacts: 3 });
  member = cli('token', '--email', 'bob@fund.com');
});

test('me names the caller and the role', async () => {
  const ann = await sdk.getMe(as(admin));
  assert.equal(ann.data?.email, 'ann@fund.com');
  assert.equal(ann.data?.role, 'admin');
  const bob = await sdk.getMe(as(member));
  assert.equal(bob.data?.role, 'member');
});

test('mailboxes are added, listed and switched', async () => {
  for (const box of ['ann@fund.com', 'bob@fund.com']) {
    const r = await sdk.createEmailAccount({ ...as(admin), body: { user_email: box, email_address: box } });
    assert.equal(r.response?.status, 201, JSON.stringify(r.error));
    assert.equal(r.data?.sync_state, 'new');
    state.accounts[box] = r.data!.id;
  }
  const again = await sdk.createEmailAccount({ ...as(admin), body: { user_email: 'ann@fund.com', email_address: 'ann@fund.com' } });
  assert.equal(again.response?.status, 409);
  const list = await sdk.listEmailAccounts(as(admin));
  assert.deepEqual(list.data?.items.map((a) => a.email_address), ['ann@fund.com', 'bob@fund.com']);
  assert.equal(list.data?.next_cursor, null);
  // Lists by id page like lists by time: one at a time to the end, in order.
  const first = await sdk.listEmailAccounts({ ...as(admin), query: { limit: 1 } });
  assert.deepEqual(first.data?.items.map((a) => a.email_address), ['ann@fund.com']);
  const second = await sdk.listEmailAccounts({ ...as(admin), query: { limit: 1, cursor: first.data!.next_cursor! } });
  assert.deepEqual(second.data?.items.map((a) => a.email_address), ['bob@fund.com']);
  assert.equal(second.data?.next_cursor, null);
  const off = await sdk.updateEmailAccount({ ...as(admin), path: { id: state.accounts['bob@fund.com'] }, body: { enabled: false } });
  assert.equal(off.data?.enabled, false);
  const on = await sdk.updateEmailAccount({ ...as(admin), path: { id: state.accounts['bob@fund.com'] }, body: { enabled: true } });
  assert.equal(on.data?.enabled, true);
  const forbidden = await sdk.listEmailAccounts(as(member));
  assert.equal(forbidden.response?.status, 403);
});

async function allActivity(token: string, query: Record<string, unknown> = {}): Promise<number[]> {
  const ids: number[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const r = await sdk.listEmailActivity({ ...as(token), query: { ...query, limit: 2, cursor } });
    assert.equal(r.response?.status, 200, JSON.stringify(r.error));
    ids.push(...r.data!.items.map((i) => i.email_id));
    if (r.data!.next_cursor === null) return ids;
    cursor = r.data!.next_cursor;
  }
  throw new Error('paging did not end');
}

test('mail imported from .eml files is captured, and importing twice changes nothing', async () => {
  const fixtures = resolve(root, 'tests/fixtures/eml');
  const first = cli('capture', 'import', '--mailbox', 'ann@fund.com', fixtures);
  assert.match(first, /\d/);
  const before = await allActivity(admin);
  assert.ok(before.length > 0, 'the fixtures hold investor mail');
  cli('capture', 'import', '--mailbox', 'ann@fund.com', fixtures);
  assert.deepEqual(await allActivity(admin), before);
});

test('a sync through the API captures the fake Gmail mailboxes', async () => {
  for (const box of ['ann@fund.com', 'bob@fund.com']) {
    const r = await sdk.syncEmailAccount({ ...as(admin), path: { id: state.accounts[box] } });
    assert.equal(r.response?.status, 200, JSON.stringify(r.error));
    assert.ok(r.data!.captured > 0);
  }
  const errors = await sdk.listEmailAccountErrors({ ...as(admin), path: { id: state.accounts['ann@fund.com'] }, query: { limit: 10 } });
  assert.equal(errors.response?.status, 200);
  assert.ok(Array.isArray(errors.data?.items));
  const missing = await sdk.listEmailAccountErrors({ ...as(admin), path: { id: 999_999 } });
  assert.equal(missing.response?.status, 404);
});

test('activity pages to the end by cursor, without repeats, as one big page does', async () => {
  const paged = await allActivity(admin);
  assert.equal(new Set(paged).size, paged.length, 'no email twice');
  const whole = await sdk.listEmailActivity({ ...as(admin), query: { limit: 200 } });
  assert.deepEqual(paged, whole.data!.items.map((i) => i.email_id));
  assert.ok(paged.length > 2, 'more than one page');
  state.emailIds = paged;
  const future = await sdk.listEmailActivity({ ...as(admin), query: { since: '2999-01-01T00:00:00Z' } });
  assert.deepEqual(future.data?.items, []);
  const investors = await sdk.listActivityInvestors(as(admin));
  assert.ok(investors.data!.items.length > 0);
  assert.equal(investors.data!.next_cursor, null);
  const member403 = await sdk.listEmailActivity(as(member));
  assert.equal(member403.response?.status, 403);
});

test('one email in full: investors, mailboxes, thread', async () => {
  const r = await sdk.getEmailActivity({ ...as(admin), path: { email_id: state.emailIds[0] } });
  assert.equal(r.response?.status, 200, JSON.stringify(r.error));
  assert.ok(r.data!.investors.length > 0);
  assert.ok(r.data!.mailboxes.length > 0);
  const missing = await sdk.getEmailActivity({ ...as(admin), path: { email_id: 999_999 } });
  assert.equal(missing.response?.status, 404);
});

test('proposals: paged, approved twice to the same activity, rejected, members see their own', async () => {
  const pending: number[] = [];
  let cursor: string | undefined;
  for (;;) {
    const r = await sdk.listProposals({ ...as(admin), query: { status: 'pending', limit: 3, cursor } });
    assert.equal(r.response?.status, 200, JSON.stringify(r.error));
    pending.push(...r.data!.items.map((p) => p.id));
    if (r.data!.next_cursor === null) break;
    cursor = r.data!.next_cursor;
  }
  assert.ok(pending.length >= 2, 'the captured mail made proposals');
  const first = await sdk.approveProposal({ ...as(admin), path: { id: pending[0] } });
  assert.equal(first.data?.status, 'approved');
  assert.ok(first.data?.activity_id);
  const again = await sdk.approveProposal({ ...as(admin), path: { id: pending[0] } });
  assert.deepEqual(again.data, first.data, 'approving twice answers the same activity');
  const rejected = await sdk.rejectProposal({ ...as(admin), path: { id: pending[1] } });
  assert.equal(rejected.data?.status, 'rejected');
  assert.equal(rejected.data?.activity_id, null);
  const conflict = await sdk.rejectProposal({ ...as(admin), path: { id: pending[0] } });
  assert.equal(conflict.response?.status, 409);

  // Bob sees only proposals on email his mailbox holds.
  const all = await sdk.listProposals({ ...as(admin), query: { limit: 200 } });
  const mine = await sdk.listProposals({ ...as(member), query: { limit: 200 } });
  assert.equal(mine.response?.status, 200);
  assert.ok(mine.data!.items.length < all.data!.items.length, 'a member sees fewer proposals than an admin');
  for (const p of mine.data!.items) {
    const detail = await sdk.getEmailActivity({ ...as(admin), path: { email_id: p.email_id } });
    assert.ok(detail.data!.mailboxes.some((m) => m.email_address === 'bob@fund.com'), `proposal ${p.id} is on Bob's mail`);
  }
  const notBobs = all.data!.items.find((p) => p.status === 'pending' && !mine.data!.items.some((m) => m.id === p.id));
  assert.ok(notBobs, 'a pending proposal outside Bob\'s mailbox');
  const refused = await sdk.approveProposal({ ...as(member), path: { id: notBobs.id } });
  assert.equal(refused.response?.status, 403);
});

test('drafts: created in Gmail, listed, members see their own', async () => {
  const emailId = state.emailIds.find(() => true)!;
  const created = await sdk.createDraft({ ...as(admin), body: { email_id: emailId, body: 'Thanks, talk soon.' } });
  assert.equal(created.response?.status, 201, JSON.stringify(created.error));
  assert.ok(created.data!.gmail_draft_id);
  const list = await sdk.listDrafts({ ...as(admin), query: { limit: 10 } });
  assert.ok(list.data!.items.some((d) => d.gmail_draft_id === created.data!.gmail_draft_id));
  const bobs = await sdk.listDrafts(as(member));
  assert.equal(bobs.response?.status, 200);
  assert.ok(bobs.data!.items.every((d) => d.user_email === 'bob@fund.com'), 'a member sees only their own drafts');
});

test('the policy round trips; a bad patch is a 422 and changes nothing', async () => {
  const got = await sdk.getDigestPolicy(as(admin));
  assert.equal(got.response?.status, 200);
  const put = await sdk.updateDigestPolicy({ ...as(admin), body: { enabled: true, send_hour: 7 } });
  assert.equal(put.data?.send_hour, 7);
  assert.equal(put.data?.source, 'db');
  // The generated client refuses an out-of-range hour before sending (the
  // schema says 0-23), so the server's own answer is asked for directly.
  const bad = await raw('PATCH', '/api/admin/digest/policy', admin, { send_hour: 99 });
  assert.equal(bad.status, 422);
  const after = await sdk.getDigestPolicy(as(admin));
  assert.deepEqual(after.data, put.data, 'a refused patch changes nothing');
  const member403 = await sdk.getDigestPolicy(as(member));
  assert.equal(member403.response?.status, 403);
});

test('the digest: preview, test email, send now, and the send log', async () => {
  const preview = await sdk.previewDigest({ ...as(admin), query: { since: '2000-01-01T00:00:00Z' } });
  assert.equal(preview.response?.status, 200, JSON.stringify(preview.error));
  const testEmail = await sdk.sendTestDigestEmail({ ...as(admin), body: {} });
  assert.equal(testEmail.response?.status, 200, JSON.stringify(testEmail.error));
  assert.deepEqual(testEmail.data?.recipients, ['ann@fund.com']);
  const notAdmin = await sdk.sendTestDigestEmail({ ...as(admin), body: { to: ['bob@fund.com'] } });
  assert.equal(notAdmin.response?.status, 409, 'only active admins receive mail');
  assert.equal((notAdmin.error as { error?: string }).error, 'not_an_admin');
  const now = await sdk.sendDigestNow(as(admin));
  assert.equal(now.response?.status, 200, JSON.stringify(now.error));
  assert.deepEqual(now.data?.recipients, ['ann@fund.com']);
  const sends = await sdk.listDigestSends({ ...as(admin), query: { limit: 1 } });
  assert.equal(sends.data?.items.length, 1);
  assert.ok(sends.data?.next_cursor, 'two sends, one per page');
  const next = await sdk.listDigestSends({ ...as(admin), query: { limit: 1, cursor: sends.data!.next_cursor! } });
  assert.equal(next.data?.items.length, 1);
});

test('the admin status shows the details; members are refused', async () => {
  const status = await sdk.getStatus(as(admin));
  assert.equal(status.response?.status, 200);
  assert.equal((await sdk.getStatus(as(member))).response?.status, 403);
});

test('the never-log list: added, refused twice, listed, removed; the removal asks for a re-match', async () => {
  const added = await sdk.addNeverLog({ ...as(admin), body: { value: 'Partner@Home.example' } });
  assert.equal(added.response?.status, 201, JSON.stringify(added.error));
  assert.equal(added.data?.entry.value, 'partner@home.example');
  assert.equal(added.data?.entry.kind, 'address');
  const twice = await sdk.addNeverLog({ ...as(admin), body: { value: 'partner@home.example' } });
  assert.equal(twice.response?.status, 409);
  const bad = await raw('POST', '/api/admin/never-log', admin, { value: 'not an address' });
  assert.equal(bad.status, 422);
  const list = await sdk.listNeverLog(as(admin));
  assert.deepEqual(list.data?.items.map((e) => e.value), ['partner@home.example']);
  assert.equal((await sdk.listNeverLog(as(member))).response?.status, 403);
  const id = added.data!.entry.id;
  assert.equal((await sdk.removeNeverLog({ ...as(admin), path: { id } })).response?.status, 200);
  assert.equal((await sdk.removeNeverLog({ ...as(admin), path: { id } })).response?.status, 404);
  const jobs = await sdk.listJobs(as(admin));
  assert.equal(jobs.response?.status, 200);
  assert.ok(jobs.data?.items.some((j) => j.kind === 'rematch'), JSON.stringify(jobs.data));
});

test('the audit counts Gmail against the sightings; imported mail is neither extra nor repaired away', async () => {
  const before = await allActivity(admin);
  const ann = state.accounts['ann@fund.com'];
  const audit = await sdk.auditEmailAccount({ ...as(admin), path: { id: ann } });
  assert.equal(audit.response?.status, 200, JSON.stringify(audit.error));
  assert.ok(audit.data, String(audit.error) + JSON.stringify(audit.error));
  assert.equal(Number(audit.data?.extra.count), 0);
  assert.equal(Number(audit.data?.missing.count), 0);
  const repaired = await sdk.repairEmailAccount({ ...as(admin), path: { id: ann } });
  assert.equal(repaired.response?.status, 200, JSON.stringify(repaired.error));
  assert.equal(Number(repaired.data?.repair?.soft_deleted), 0);
  assert.deepEqual(await allActivity(admin), before);
  assert.equal((await sdk.auditEmailAccount({ ...as(member), path: { id: ann } })).response?.status, 403);
  assert.equal((await sdk.auditEmailAccount({ ...as(admin), path: { id: 999_999 } })).response?.status, 404);
});

// ------------------------------------------------------------ the checks

test('every operation of the document was called through the generated client', () => {
  const called = new Set(recorded.filter((r) => r.via === 'sdk').map((r) => r.operationId));
  const never = [...operations.keys()].filter((id) => !called.has(id)).sort();
  assert.deepEqual(never, [], `operations never called: ${never.join(', ')}`);
});

/**
 * OpenAPI 3.0's `nullable: true` as plain JSON Schema (which ajv speaks):
 * `null` joins the type, or, beside a `$ref`/`allOf`, an `anyOf` alternative;
 * and objects with declared properties take no other.
 * Local refs are pointed at the document's components registered as `doc`.
 */
function jsonSchema(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(jsonSchema);
  if (s === null || typeof s !== 'object') return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === '$ref' && typeof v === 'string') out[k] = v.replace(/^#\/components/, 'doc#/components');
    else if (k !== 'nullable') out[k] = jsonSchema(v);
  }
  // An answer carrying a field the document does not declare is a mismatch
  // too: objects are closed.
  if (out.type === 'object' && out.properties !== undefined && out.additionalProperties === undefined) {
    out.additionalProperties = false;
  }
  if ((s as { nullable?: boolean }).nullable !== true) return out;
  if (typeof out.type === 'string') {
    out.type = [out.type, 'null'];
    if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
    return out;
  }
  return { anyOf: [out, { type: 'null' }] };
}

test('every recorded answer, errors included, matches the document', () => {
  assert.ok(recorded.length >= operations.size, 'the earlier tests recorded their answers');
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  // poem-openapi's integer formats, checked for range.
  const bits = { int8: 8, int16: 16, int32: 32, int64: 64 } as const;
  for (const [name, n] of Object.entries(bits)) {
    ajv.addFormat(name, { type: 'number', validate: (x: number) => Number.isInteger(x) && Math.abs(x) <= 2 ** (n - 1) });
    ajv.addFormat(`u${name}`, { type: 'number', validate: (x: number) => Number.isInteger(x) && x >= 0 && x < 2 ** n });
  }
  ajv.addSchema(jsonSchema({ components: doc.components }) as object, 'doc');
  const problems: string[] = [];
  for (const r of recorded) {
    const op = r.operationId && operations.get(r.operationId);
    const content = op && doc.paths[op.template][op.method]?.responses?.[String(r.status)]?.content;
    const schema = content && (Object.values(content)[0] as { schema?: unknown }).schema;
    if (!schema) { problems.push(`${r.method} ${r.path} ${r.status}: not in the document`); continue; }
    if (!ajv.validate(jsonSchema(schema) as object, r.body)) problems.push(`${r.method} ${r.path} ${r.status}: ${ajv.errorsText()}`);
  }
  // The document's examples are answers too: each matches its own schema.
  for (const [name, schema] of Object.entries(doc.components.schemas as Record<string, { example?: unknown }>)) {
    if (schema.example === undefined) continue;
    if (!ajv.validate(jsonSchema({ $ref: `#/components/schemas/${name}` }) as object, schema.example)) problems.push(`example of ${name}: ${ajv.errorsText()}`);
  }
  assert.deepEqual(problems, []);
});
