// The one place the console meets the API: the generated client, a bearer
// token from sessionStorage, and a uniform failure type.
import { client } from '@mailroom/client/client.gen';

const TOKEN_KEY = 'mailroom.token';

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function signOut(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Moves `#token=...` from the URL into sessionStorage and strips it. */
export function takeTokenFromUrl(): void {
  const m = /^#token=([A-Za-z0-9._-]+)$/.exec(window.location.hash);
  if (m && m[1]) {
    sessionStorage.setItem(TOKEN_KEY, m[1]);
    history.replaceState(null, '', window.location.pathname + window.location.search);
  }
}

let onUnauthorized: () => void = () => {};

export function setupClient(unauthorized: () => void): void {
  onUnauthorized = unauthorized;
  client.setConfig({ baseUrl: window.location.origin, auth: () => token() ?? undefined });
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Result<T> = { data?: T; error?: unknown; response?: Response };

/** Awaits a client call: the data, or an ApiFailure (401 signs out). */
export async function call<T>(p: Promise<Result<T>>): Promise<T> {
  let r: Result<T>;
  try {
    r = await p;
  } catch (e) {
    // fetch rejects with a TypeError when the network fails; anything else is
    // the client's zod validation of the request or the response.
    if (e instanceof TypeError) throw new ApiFailure(0, 'network', 'The service could not be reached.');
    throw new ApiFailure(0, 'invalid', 'The request or the service\u2019s answer did not match the API description.');
  }
  const status = r.response?.status ?? 0;
  // The client answers a failed fetch (no response at all) and an answer
  // its schema check refused with `error` too, rather than throwing.
  if (r.response === undefined) throw new ApiFailure(0, 'network', 'The service could not be reached.');
  if (r.error !== undefined && r.response.ok) {
    throw new ApiFailure(0, 'invalid', 'The service\u2019s answer did not match the API description.');
  }
  if (r.error !== undefined || !r.response.ok) {
    const e = r.error;
    const code = e && typeof e === 'object' && 'error' in e && typeof e.error === 'string' ? e.error : 'error';
    const msg = e && typeof e === 'object' && 'message' in e && typeof e.message === 'string' ? e.message : `Request failed (${status}).`;
    if (status === 401) onUnauthorized();
    throw new ApiFailure(status, code, msg);
  }
  return r.data as T;
}

type Paged<T> = { items: T[]; next_cursor?: string | null };

/** Every page of a list, read by cursor to its end (for the lists of the
 * team's or the directory's size: mailboxes, investors). */
export async function callAll<T>(page: (cursor: string | undefined) => Promise<Result<Paged<T>>>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  // Bounded whatever the answers: a repeated cursor or an empty page ends it.
  for (let pages = 0; pages < 1000; pages++) {
    const p = await call(page(cursor));
    items.push(...p.items);
    const next = p.next_cursor ?? undefined;
    if (next === undefined || next === cursor || p.items.length === 0) break;
    cursor = next;
  }
  return items;
}

export function describe(e: unknown): string {
  if (e instanceof ApiFailure) {
    if (e.status === 403) return 'This is for admins only. Your account can see its own proposals and drafts.';
    if (e.status === 0) return e.message;
    return `${e.message} (${e.code})`;
  }
  return 'Something went wrong.';
}
