import { useState } from 'preact/hooks';
import * as api from '@mailroom/client';
import type { ActivityEntry, DraftResponse } from '@mailroom/client';
import { call } from './api';
import { ErrorBox, Show, useLoad, when } from './ui';

type Filters = { investor: string; mailbox: string; direction: string; q: string; since: string; until: string };
const empty: Filters = { investor: '', mailbox: '', direction: '', q: '', since: '', until: '' };

function query(f: Filters, cursor?: string) {
  // since/until are dates in the browser's zone, sent as instants.
  const q: Record<string, string | number> = {};
  if (f.investor) q.investor_id = Number(f.investor);
  if (f.mailbox) q.account_id = Number(f.mailbox);
  if (f.direction) q.direction = f.direction;
  if (f.q.trim()) q.q = f.q.trim();
  if (f.since) q.since = new Date(`${f.since}T00:00:00`).toISOString();
  if (f.until) q.until = new Date(`${f.until}T23:59:59.999`).toISOString();
  if (cursor) q.cursor = cursor;
  return q;
}

export function Communications({ openEmail }: { openEmail: (id: number) => void }) {
  const [draft, setDraft] = useState<Filters>(empty);
  const [filters, setFilters] = useState<Filters>(empty);
  const [more, setMore] = useState<{ items: ActivityEntry[]; cursor: string | null; error?: unknown } | null>(null);
  const investors = useLoad(() => call(api.listActivityInvestors()), []);
  const mailboxes = useLoad(() => call(api.listEmailAccounts()), []);
  const [page] = useLoad(async () => {
    setMore(null);
    return call(api.listEmailActivity({ query: query(filters) }));
  }, [JSON.stringify(filters)]);

  const set = (k: keyof Filters) => (e: Event) => setDraft({ ...draft, [k]: (e.currentTarget as HTMLInputElement).value });
  const loadMore = async (cursor: string, shown: ActivityEntry[]) => {
    try {
      const next = await call(api.listEmailActivity({ query: query(filters, cursor) }));
      setMore({ items: [...shown, ...next.items], cursor: next.next_cursor ?? null });
    } catch (error) {
      setMore({ items: shown, cursor, error });
    }
  };

  return (
    <section>
      <h1>Communications</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
        }}
      >
        <label>
          Investor
          <select name="investor" value={draft.investor} onChange={set('investor')}>
            <option value="">All investors</option>
            {investors[0].state === 'ok' && investors[0].data.map((i) => <option value={String(i.id)}>{i.name}</option>)}
          </select>
        </label>
        <label>
          Mailbox
          <select name="mailbox" value={draft.mailbox} onChange={set('mailbox')}>
            <option value="">All mailboxes</option>
            {mailboxes[0].state === 'ok' && mailboxes[0].data.map((m) => <option value={String(m.id)}>{m.email_address}</option>)}
          </select>
        </label>
        <label>
          Direction
          <select name="direction" value={draft.direction} onChange={set('direction')}>
            <option value="">Both</option>
            <option value="inbound">Inbound</option>
            <option value="outbound">Outbound</option>
          </select>
        </label>
        <label>
          Search
          <input name="q" type="search" value={draft.q} onInput={set('q')} placeholder="subject, snippet, sender" />
        </label>
        <label>
          Since
          <input name="since" type="date" value={draft.since} onInput={set('since')} />
        </label>
        <label>
          Until
          <input name="until" type="date" value={draft.until} onInput={set('until')} />
        </label>
        <div class="actions">
          <button type="submit">Search</button>
          <button type="button" class="secondary" onClick={() => { setDraft(empty); setFilters(empty); }}>
            Clear
          </button>
        </div>
      </form>
      <Show load={page}>
        {(p) => {
          const items = more?.items ?? p.items;
          const cursor = more ? more.cursor : (p.next_cursor ?? null);
          return (
            <>
              {items.length === 0 && <p class="muted">No matching email.</p>}
              <ul class="list" aria-label="Emails">
                {items.map((m) => (
                  <li>
                    <button type="button" class="row" onClick={() => openEmail(m.email_id)}>
                      <span class="subject">{m.subject ?? '(no subject)'}</span>
                      <span class="meta">
                        <span class={`tag ${m.direction}`}>{m.direction}</span> {m.from_name ?? m.from_email ?? ''} · {when(m.sent_at)}
                      </span>
                      <span class="meta">{m.investors.map((i) => i.name).join(', ')}</span>
                    </button>
                  </li>
                ))}
              </ul>
              {more?.error !== undefined && <ErrorBox error={more.error} />}
              {cursor && (
                <button type="button" class="secondary" onClick={() => loadMore(cursor, items)}>
                  Load more
                </button>
              )}
            </>
          );
        }}
      </Show>
    </section>
  );
}

export function EmailDetail({ id, back }: { id: number; back: () => void }) {
  // The detail (body, thread) is getEmailActivity; until the client has it the
  // page shows what the list knows.
  const [entry] = useLoad(async () => {
    let cursor: string | undefined;
    for (let i = 0; i < 20; i++) {
      const page = await call(api.listEmailActivity({ query: { limit: 200, ...(cursor ? { cursor } : {}) } }));
      const hit = page.items.find((m) => m.email_id === id);
      if (hit) return hit;
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
    }
    return null;
  }, [id]);
  const [done, setDone] = useState<DraftResponse | null>(null);
  const [err, setErr] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [body, setBody] = useState('');
  const makeDraft = async (replyAll: boolean) => {
    setBusy(true);
    setErr(undefined);
    try {
      setDone(await call(api.createDraft({ body: { email_id: id, body, reply_all: replyAll } })));
    } catch (e) {
      setErr(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section>
      <button type="button" class="secondary" onClick={back}>
        ← Back to results
      </button>
      <Show load={entry}>
        {(m) =>
          m === null ? (
            <p class="error" role="alert">This email is not in the Communications list.</p>
          ) : (
            <article class="email">
              <h1>{m.subject ?? '(no subject)'}</h1>
              <dl>
                <dt>From</dt>
                <dd>{m.from_name ? `${m.from_name} <${m.from_email ?? ''}>` : m.from_email}</dd>
                <dt>To</dt>
                <dd>{m.to.join(', ') || '—'}</dd>
                {m.cc.length > 0 && (<><dt>Cc</dt><dd>{m.cc.join(', ')}</dd></>)}
                <dt>Sent</dt>
                <dd>{when(m.sent_at)}</dd>
                <dt>Direction</dt>
                <dd>{m.direction}</dd>
                <dt>Investors</dt>
                <dd>{m.investors.map((i) => i.name + (i.graveyard ? ' (graveyard)' : '')).join(', ')}</dd>
                <dt>Mailboxes</dt>
                <dd>{m.mailboxes.map((b) => `${b.email_address}${b.is_sent ? ' (sent)' : ''}`).join(', ')}</dd>
              </dl>
              <p class="body">{m.snippet ?? ''}</p>
              <p class="muted">The full body and the thread are not available from this service version yet.</p>
              <h2>Draft a reply</h2>
              <p class="muted">Creates a Gmail draft in the thread for you to review and send from Gmail. Nothing is sent.</p>
              <label>
                Reply text
                <textarea name="reply" rows={4} value={body} onInput={(e) => setBody(e.currentTarget.value)} />
              </label>
              <div class="actions">
                <button type="button" disabled={busy || !body.trim()} onClick={() => makeDraft(false)}>Draft a reply</button>
                <button type="button" disabled={busy || !body.trim()} onClick={() => makeDraft(true)}>Draft reply-all</button>
              </div>
              {err !== undefined && <ErrorBox error={err} />}
              {done && (
                <p class="ok" role="status">
                  Draft created for {done.to.join(', ')}.{' '}
                  <a href={`https://mail.google.com/mail/#drafts?compose=${encodeURIComponent(done.gmail_draft_id)}`} target="_blank" rel="noreferrer">
                    Open it in Gmail
                  </a>
                </p>
              )}
            </article>
          )
        }
      </Show>
    </section>
  );
}
