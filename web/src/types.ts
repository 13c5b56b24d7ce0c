// The console's names for API shapes, taken from the operations (whose ids are
// fixed) rather than from the document's schema names, so renaming a schema
// in openapi/openapi.json does not touch the pages.
import type {
  CreateDraftResponse,
  GetDigestPolicyResponse,
  GetEmailActivityResponse,
  GetMeResponse,
  ListEmailAccountsResponse,
  ListProposalsResponse,
  SyncEmailAccountResponse,
  UpdateDigestPolicyData,
} from '@mailroom/client';

export type Me = GetMeResponse;
export type EmailDetail = GetEmailActivityResponse;
export type DraftCreated = CreateDraftResponse;
export type Account = ListEmailAccountsResponse['items'][number];
export type Proposal = ListProposalsResponse['items'][number];
export type SyncReport = SyncEmailAccountResponse;
export type Policy = GetDigestPolicyResponse;
export type PolicyPatch = UpdateDigestPolicyData['body'];
/** A change the console makes: set fields only (the API also takes `null` for "unchanged"). */
export type PolicyChange = { [K in keyof PolicyPatch]?: NonNullable<PolicyPatch[K]> };
