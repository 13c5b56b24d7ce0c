// Generates the API client from openapi/openapi.json into web/.client (not
// committed), the same way openapi/client does (hey-api + zod). Operation ids
// missing from the document are filled in from the API's fixed names, so the
// console codes against them before every branch has landed.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createClient } from '@hey-api/openapi-ts';

const spec = JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8'));
const ids = {
  'get /healthz': 'getHealth',
  'get /api/admin/digest/policy': 'getDigestPolicy',
  'patch /api/admin/digest/policy': 'updateDigestPolicy',
  'post /api/admin/digest/test-email': 'sendTestDigestEmail',
  'post /api/admin/digest/send-now': 'sendDigestNow',
  'get /api/admin/digest/preview': 'previewDigest',
  'get /api/admin/digest/sends': 'listDigestSends',
  'put /api/admin/directory': 'updateDirectory',
  'get /api/me': 'getMe',
  'get /api/email/activity': 'listEmailActivity',
  'get /api/email/activity/investors': 'listActivityInvestors',
  'get /api/email/activity/{email_id}': 'getEmailActivity',
  'get /api/email/accounts': 'listEmailAccounts',
  'post /api/email/accounts': 'createEmailAccount',
  'patch /api/email/accounts/{id}': 'updateEmailAccount',
  'post /api/email/accounts/{id}/sync': 'syncEmailAccount',
  'get /api/email/accounts/{id}/errors': 'listEmailAccountErrors',
  'get /api/email/drafts': 'listDrafts',
  'post /api/email/drafts': 'createDraft',
  'get /api/email/proposals': 'listProposals',
  'post /api/email/proposals/{id}/approve': 'approveProposal',
  'post /api/email/proposals/{id}/reject': 'rejectProposal',
};
for (const [path, ops] of Object.entries(spec.paths)) {
  for (const [method, op] of Object.entries(ops)) {
    const id = ids[`${method} ${path}`];
    if (id && !op.operationId) op.operationId = id;
  }
}
mkdirSync(new URL('../.client/', import.meta.url), { recursive: true });
const input = new URL('../.client/openapi.json', import.meta.url).pathname;
writeFileSync(input, JSON.stringify(spec));
await createClient({
  input,
  output: new URL('../.client/gen', import.meta.url).pathname,
  plugins: ['@hey-api/client-fetch', 'zod', '@hey-api/sdk'],
});
