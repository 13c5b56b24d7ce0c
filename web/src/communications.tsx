import { useState } from 'preact/hooks';
import { createDraft, getEmailActivity, listActivityInvestors, listEmailAccounts, listEmailActivity } from '@mailroom/client';
import type { ListEmailActivityData } from '@mailroom/client';
import type { DraftCreated, EmailDetail as Email } from './types';
import { gmailDraftUrl } from './gmail';
import { call, callAll } from './api';
import { AdminOnly, ErrorBox, LoadMore, Show, When, useLoad, useMe, usePaged, useZone } from './ui';
import { zonedTime } from './zone';

type Filters = { investor: string; mailbox: string; direction: string; q: string; since: string; until: string };
const empty: Filters = { investor: '', mailbox: '', direction: '', q: '', since: '', until: '' };

function query(f: Filters, zone: string | undefined, cursor?: string): NonNullable<ListEmailActivityData['query']> {
  // since/until are whole days in the fund's time zone, sent as instants.
  const q: NonNullable<ListEmailActivityData['query']> = {};
  if (f.investor) q.investor_id = Number(f.investor);
  if (f.mailbox) q.account_id = Number(f.mailbox);
  if (f.direction === 'inbound' || f.direction === 'outbound') q.direction = f.direction;
  if (f.q.trim()) q.q = f.q.trim();
  if (f.since) q.since = zonedTime(f.since, 0, zone).toISOString();
  if (f.until) q.until = zonedTime(f.until, 0, zone, 1).toISOString();
  if (cursor) q.cursor = cursor;
  return q;
}

export function Communications({ openEmail }: { openEmail: (id: number) => void }) {
  return (
    <AdminOnly title="Communications">
      <Search openEmail={openEmail} />
    </AdminOnly>
  );
}

function Search({ openEmail }: { openEmail: (id: number) => void }) {
  const [draft, setDraft] = useState<Filters>(empty);
  const [filters, setFilters] = useState<Filters>(empty);
  const [investors] = useLoad(
    async () => (await callAll((cursor) => listActivityInvestors({ query: { limit: 200, cursor } }))).sort((a, b) => a.name.localeCompare(b.name)),
    [],
  );
  const [mailboxes] = useLoad(() => callAll((cursor) => listEmailAccounts({ query: { limit: 200, cursor } })), []);
  const zone = useZone();
  const list = usePaged((cursor) => call(listEmailActivity({ query: query(filters, zone, cursor) })), [JSON.stringify(filters), zone]);
  const badDates = draft.since !== '' && draft.until !== '' && draft.until < draft.since;
  const set = (k: keyof Filters) => (e: Event) => setDraft({ ...draft, [k]: (e.currentTarget as HTMLInputElement).value });

  return (
    <section>
      <h1>Communications</h1>
      <p class="muted">Email linked to investors, newest first. Only the fund's admins see this page.</p>
      <form
        class="filters"
        aria-label="Search email"
        onSubmit={(e) => {
          e.preventDefault();
          if (!badDates) setFilters(draft);
        }}
      >
        <label>
          Investor
          <select name="investor" value={draft.investor} onChange={set('investor')}>
            <option value="">All investors</option>
            {investors.state === 'ok' &&
              investors.data.map((i) => (
                <option key={i.id} value={String(i.id)}>
                  {i.name}
                </option>
              ))}
          </select>
        </label>
        <label>
          Mailbox
          <select name="mailbox" value={draft.mailbox} onChange={set('mailbox')}>
            <option value="">All mailboxes</option>
            {mailboxes.state === 'ok' &&
              mailboxes.data.map((m) => (
                <option key={m.id} value={String(m.id)}>
                  {m.email_address}
                </option>
              ))}
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
          Search text
          <input name="q" type="search" value={draft.q} onInput={set('q')} placeholder="subject, snippet, sender" />
        </label>
        <label>
          Sent on or after
          <input name="since" type="date" value={draft.since} onInput={set('since')} />
        </label>
        <label>
          Sent on or before
          <input name="until" type="date" value={draft.until} onInput={set('until')} aria-invalid={badDates} />
        </label>
        <div class="actions">
          <button type="submit" disabled={badDates}>
            Search
          </button>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setDraft(empty);
              setFilters(empty);
            }}
          >
            Clear
          </button>
        </div>
        <p class="muted" data-testid="date-zone">
          Dates are days in {zone ? `the fund's time zone, ${zone}` : 'your time zone'}.
        </p>
        {badDates && (
          <p class="error" role="alert">
            The end date is before the start date.
          </p>
        )}
        {(investors.state === 'error' || mailboxes.state === 'error') && <ErrorBox error={investors.state === 'error' ? investors.error : mailboxes.state === 'error' ? mailboxes.error : undefined} />}
      </form>
      <Show load={list.load}>
        {(items) => (
          <>
            <p class="muted" role="status" data-testid="result-count">
              {items.length === 0 ? 'No matching email.' : `${items.length} email${items.length === 1 ? '' : 's'}${list.cursor ? ' shown, more available' : ''}.`}
            </p>
            <ul class="list" aria-label="Emails">
              {items.map((m) => (
                <li key={m.email_id}>
                  <a
                    class="row"
                    href={`/communications/${m.email_id}`}
                    onClick={(e) => {
                      e.preventDefault();
                      openEmail(m.email_id);
                    }}
                  >
                    <span class="subject">{m.subject ?? '(no subject)'}</span>
                    <span class="meta">
                      <span class={`tag ${m.direction}`}>{m.direction}</span> {m.from_name ?? m.from_email ?? ''} · <When ts={m.sent_at} />
                    </span>
                    <span class="meta">
                      {m.investors.map((i) => i.name).join(', ')} · {m.mailboxes.map((b) => b.email_address).join(', ')}
                    </span>
                  </a>
                </li>
              ))}
            </ul>
            <LoadMore paged={list} label="email" />
          </>
        )}
      </Show>
    </section>
  );
}

export function EmailDetail({ id, open, back }: { id: number; open: (id: number) => void; back: () => void }) {
  return (
    <AdminOnly title="Communications">
      <Detail id={id} open={open} back={back} />
    </AdminOnly>
  );
}

function Detail({ id, open, back }: { id: number; open: (id: number) => void; back: () => void }) {
  const [email] = useLoad(() => call(getEmailActivity({ path: { email_id: id } })), [id]);
  return (
    <section>
      <a
        class="back"
        href="/communications"
        onClick={(e) => {
          e.preventDefault();
          back();
        }}
      >
        ← Back to Communications
      </a>
      <Show load={email}>{(m) => <EmailView m={m} open={open} />}</Show>
    </section>
  );
}

function address(name: string | null, email: string | null): string {
  if (name && email) return `${name} <${email}>`;
  return name ?? email ?? '—';
}

function EmailView({ m, open }: { m: Email; open: (id: number) => void }) {
  return (
    <article class="email" aria-labelledby="email-subject">
      <h1 id="email-subject">{m.subject ?? '(no subject)'}</h1>
      <dl>
        <dt>From</dt>
        <dd>{address(m.from_name, m.from_email)}</dd>
        <dt>To</dt>
        <dd>{m.to.join(', ') || '—'}</dd>
        {m.cc.length > 0 && (
          <>
            <dt>Cc</dt>
            <dd>{m.cc.join(', ')}</dd>
          </>
        )}
        {m.reply_to.length > 0 && (
          <>
            <dt>Reply-To</dt>
            <dd>{m.reply_to.join(', ')}</dd>
          </>
        )}
        <dt>Sent</dt>
        <dd><When ts={m.sent_at} /></dd>
        <dt>Direction</dt>
        <dd>{m.direction}</dd>
        <dt>Investors</dt>
        <dd>
          <ul class="plain" aria-label="Investors">
            {m.investors.map((i) => (
              <li key={i.id}>
                {i.name}
                {i.graveyard ? ' (graveyard)' : ''}
                {i.contacts.length > 0 ? ` — ${i.contacts.map((c) => c.name || c.email).join(', ')}` : ' — matched by domain'}
              </li>
            ))}
          </ul>
        </dd>
        <dt>Mailboxes</dt>
        <dd>
          <ul class="plain" aria-label="Mailboxes that saw it">
            {m.mailboxes.map((b) => (
              <li key={b.account_id}>
                {b.email_address} ({b.direction}
                {b.is_sent ? ', sent' : ''})
              </li>
            ))}
          </ul>
        </dd>
        {m.attachments.length > 0 && (
          <>
            <dt>Attachments</dt>
            <dd>{m.attachments.map((a) => `${a.name ?? 'unnamed'} (${a.content_type}, ${a.size} bytes)`).join('; ')}</dd>
          </>
        )}
      </dl>
      <h2>Body</h2>
      <pre class="body" data-testid="email-body">
        {m.body ?? m.snippet ?? '(no text body)'}
      </pre>
      <h2>Thread</h2>
      {m.thread.length === 0 ? (
        <p class="muted">No other captured email in this thread.</p>
      ) : (
        <ul class="list" aria-label="Thread">
          {m.thread.map((t) => (
            <li key={t.email_id}>
              <a
                class="row"
                href={`/communications/${t.email_id}`}
                onClick={(e) => {
                  e.preventDefault();
                  open(t.email_id);
                }}
              >
                <span class="subject">{t.subject ?? '(no subject)'}</span>
                <span class="meta">
                  <span class={`tag ${t.direction}`}>{t.direction}</span> {t.from_email ?? ''} · <When ts={t.sent_at} />
                </span>
              </a>
            </li>
          ))}
        </ul>
      )}
      <ReplyDraft m={m} />
    </article>
  );
}

function ReplyDraft({ m }: { m: Email }) {
  const me = useMe();
  const [done, setDone] = useState<DraftCreated | null>(null);
  const [err, setErr] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [body, setBody] = useState('');
  const makeDraft = async (replyAll: boolean) => {
    setBusy(true);
    setErr(undefined);
    setDone(null);
    try {
      setDone(await call(createDraft({ body: { email_id: m.email_id, body, reply_all: replyAll } })));
    } catch (e) {
      setErr(e);
    } finally {
      setBusy(false);
    }
  };
  // The draft goes into the caller's copy of the email when they hold one.
  const mine = m.mailboxes.find((b) => b.email_address === me?.email) ?? m.mailboxes[0];
  const gmail = (d: DraftCreated) => gmailDraftUrl(mine?.email_address ?? '', d.gmail_message_id, d.thread_id);
  return (
    <>
      <h2>Draft a reply</h2>
      <p class="muted">Creates a Gmail draft in this thread for you to review and send from Gmail. mailroom never sends it.</p>
      <label>
        Reply text
        <textarea name="reply" rows={4} value={body} onInput={(e) => setBody(e.currentTarget.value)} />
      </label>
      <div class="actions">
        <button type="button" disabled={busy || !body.trim()} onClick={() => makeDraft(false)}>
          Draft a reply
        </button>
        <button type="button" class="secondary" disabled={busy || !body.trim()} onClick={() => makeDraft(true)}>
          Draft reply-all
        </button>
      </div>
      {busy && (
        <p class="muted" role="status">
          Creating the draft…
        </p>
      )}
      {err !== undefined && <ErrorBox error={err} />}
      {done && (
        <p class="ok" role="status" data-testid="draft-done">
          Draft “{done.subject}” created, to {done.to.join(', ')}
          {done.cc.length > 0 ? `, cc ${done.cc.join(', ')}` : ''}.{' '}
          <a href={gmail(done)} target="_blank" rel="noreferrer">
            {done.gmail_message_id ? 'Open the draft in Gmail' : 'Open the thread in Gmail'}
          </a>{' '}
          to review and send it.
        </p>
      )}
    </>
  );
}
