// Smoke test of the generated client against a real `mailroom serve` on a
// temp SQLite file: calls go through the generated functions (zod-validated
// responses), every answer is recorded and then checked against the
// document's schemas with ajv, and the operations never called are listed.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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
const doc = JSON.parse(readFileSync(resolve(root, 'openapi/openapi.json'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'mailroom-smoke-'));
const env = {
  ...process.env,
  DATABASE_URL: `sqlite://${join(work, 'db.sqlite')}?mode=rwc`,
  MAILROOM_OUTBOX_DIR: join(work, 'outbox'),
  CRM_JWT_SECRET: 'smoke-test-secret-not-used-anywhere-else',
};
type Recorded = { operation: string; method: string; path: string; status: number; body: unknown };
const recorded: Recorded[] = [];
let server: ChildProcess | undefined;
let admin = '';

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
  return execFileSync(bin, args, { env, encoding: 'utf8', timeout: 60_000 }).trim();
}

before(async () => {
  const dir = join(work, 'directory.json');
  writeFileSync(dir, JSON.stringify({
    users: [{ email: 'ann@fund.com', display_name: 'Ann', role: 'admin', is_active: true }],
    investors: [], contacts: [],
  }));
  cli('directory', 'import', dir);
  admin = cli('token', '--email', 'ann@fund.com');
  const port = await freePort();
  server = spawn(bin, ['serve'], { env: { ...env, BIND_ADDR: `127.0.0.1:${port}`, MAILROOM_BIND: `127.0.0.1:${port}` }, stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  client.setConfig({ baseUrl: base });
  client.interceptors.response.use(async (response, request) => {
    const text = await response.clone().text();
    const url = new URL(request.url);
    recorded.push({
      operation: `${request.method} ${url.pathname}`, method: request.method.toLowerCase(),
      path: url.pathname, status: response.status, body: text ? JSON.parse(text) : null,
    });
    return response;
  });
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`${base}/healthz`)).ok) return; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('mailroom serve did not come up');
});

after(() => {
  server?.kill();
  writeFileSync(join(work, 'responses.json'), JSON.stringify(recorded, null, 2));
});

const auth = () => ({ headers: { authorization: `Bearer ${admin}` } });

test('health answers', async () => {
  const r = await sdk.getHealth();
  assert.equal(r.response?.status, 200);
});

test('the policy round trips', async () => {
  const got = await sdk.getDigestPolicy(auth());
  assert.equal(got.response?.status, 200);
  const put = await sdk.updateDigestPolicy({ ...auth(), body: { enabled: true, send_hour: 7 } as never });
  assert.equal(put.response?.status, 200);
  const again = await sdk.getDigestPolicy(auth());
  assert.equal((again.data as { send_hour?: number }).send_hour, 7);
});

test('a bad patch is a 422', async () => {
  // The generated client refuses an out-of-range hour before sending (the
  // schema says 0-23), so the server's own answer is checked with fetch.
  const base = client.getConfig().baseUrl;
  const response = await fetch(`${base}/api/admin/digest/policy`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ send_hour: 99 }),
  });
  const body = await response.json();
  recorded.push({
    operation: 'PATCH /api/admin/digest/policy', method: 'patch',
    path: '/api/admin/digest/policy', status: response.status, body,
  });
  assert.equal(response.status, 422);
  const after = await sdk.getDigestPolicy(auth());
  assert.equal((after.data as { send_hour?: number }).send_hour, 7, 'a refused patch changes nothing');
});

test('no token is a 401', async () => {
  const r = await sdk.listEmailAccounts();
  assert.equal(r.response?.status, 401);
});

test('every recorded answer matches the document', () => {
  assert.ok(recorded.length >= 6, 'the earlier tests recorded their answers');
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ components: doc.components }, 'doc');
  const fix = (s: unknown): unknown => JSON.parse(JSON.stringify(s).replaceAll('"#/components', '"doc#/components'));
  const problems: string[] = [];
  for (const r of recorded) {
    const template = Object.keys(doc.paths).find((p) =>
      new RegExp(`^${p.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(r.path));
    const op = template && doc.paths[template][r.method];
    const content = op?.responses?.[String(r.status)]?.content;
    const schema = content && (Object.values(content)[0] as { schema?: unknown }).schema;
    if (!schema) { problems.push(`${r.operation} ${r.status}: not in the document`); continue; }
    if (!ajv.validate(fix(schema) as object, r.body)) problems.push(`${r.operation} ${r.status}: ${ajv.errorsText()}`);
  }
  assert.deepEqual(problems, []);
});
