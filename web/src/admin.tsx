import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import {
  approveProposal,
  createEmailAccount,
  getDigestPolicy,
  listDigestSends,
  listDrafts,
  listEmailAccountErrors,
  listEmailAccounts,
  listProposals,
  previewDigest,
  rejectProposal,
  sendDigestNow,
  sendTestDigestEmail,
  syncEmailAccount,
  updateDigestPolicy,
  updateEmailAccount,
} from '@mailroom/client';
import type { Account, Policy, PolicyChange, Proposal, SyncReport } from './types';
import { gmailDraftUrl } from './gmail';
import { call, callAll } from './api';
import { AdminOnly, LoadMore, Show, When, plural, useAction, useLoad, useMe, usePaged } from './ui';
import { browserZone, clockIn, today, zonedTime } from './zone';

type Decided = 'approved' | 'rejected';

function ProposalCard({ x, children }: { x: Proposal; children?: ComponentChildren }) {
  return (
    <li class="card" key={x.id}>
      <div class="subject">{x.subject ?? '(no subject)'}</div>
      <div class="meta">
        <span class={`tag ${x.status}`}>{x.status}</span> {x.investor_name ?? `investor ${x.investor_id}`} · {x.from_email ?? ''} · <When ts={x.sent_at} /> · {x.direction}
      </div>
      {x.decided_at != null && (
        <div class="meta" data-testid="decided-by">
          {x.status} by {x.decided_by ?? 'a former user'} · <When ts={x.decided_at} />
        </div>
      )}
      {children}
    </li>
  );
}

export function Proposals() {
  const me = useMe();
  const [decidedStatus, setDecidedStatus] = useState<Decided>('approved');
  const pending = usePaged((cursor) => call(listProposals({ query: { status: 'pending', ...(cursor ? { cursor } : {}) } })), []);
  const decided = usePaged((cursor) => call(listProposals({ query: { status: decidedStatus, ...(cursor ? { cursor } : {}) } })), [decidedStatus]);
  const act = useAction();
  const decide = (x: Proposal, approve: boolean) =>
    act.run(async () => {
      try {
        const r = approve ? await call(approveProposal({ path: { id: x.id } })) : await call(rejectProposal({ path: { id: x.id } }));
        return `“${x.subject ?? `Proposal ${r.id}`}” ${r.status}${r.activity_id != null ? ` (activity ${r.activity_id} recorded)` : ''}.`;
      } finally {
        pending.reload();
        decided.reload();
      }
    });
  return (
    <section>
      <h1>Proposals</h1>
      <p class="muted">
        Nothing lands on an investor record until someone approves it here.
        {me?.role === 'admin' ? ' You see the proposals on every mailbox.' : ' You see the proposals on your own mailboxes.'}
      </p>
      {act.view}
      <h2 id="pending-h">Pending</h2>
      <Show load={pending.load}>
        {(items) =>
          items.length === 0 ? (
            <p class="muted">No pending proposals.</p>
          ) : (
            <ul class="list" aria-labelledby="pending-h" data-testid="pending">
              {items.map((x) => (
                <ProposalCard x={x}>
                  <div class="actions">
                    <button type="button" disabled={act.busy} onClick={() => decide(x, true)} aria-label={`Approve: ${x.subject ?? x.id}`}>
                      Approve
                    </button>
                    <button type="button" class="secondary" disabled={act.busy} onClick={() => decide(x, false)} aria-label={`Reject: ${x.subject ?? x.id}`}>
                      Reject
                    </button>
                  </div>
                </ProposalCard>
              ))}
            </ul>
          )
        }
      </Show>
      <LoadMore paged={pending} label="pending proposals" />
      <h2 id="decided-h">Decided</h2>
      <label class="inline">
        Show
        <select name="decided" value={decidedStatus} onChange={(e) => setDecidedStatus(e.currentTarget.value === 'rejected' ? 'rejected' : 'approved')}>
          <option value="approved">Approved</option>
          <option value="rejected">Rejected</option>
        </select>
      </label>
      <Show load={decided.load}>
        {(items) =>
          items.length === 0 ? (
            <p class="muted">None yet.</p>
          ) : (
            <ul class="list" aria-labelledby="decided-h" data-testid="decided">
              {items.map((x) => (
                <ProposalCard x={x} />
              ))}
            </ul>
          )
        }
      </Show>
      <LoadMore paged={decided} label="decided proposals" />
    </section>
  );
}

export function Drafts() {
  const me = useMe();
  const drafts = usePaged((cursor) => call(listDrafts({ query: cursor ? { cursor } : {} })), []);
  return (
    <section>
      <h1>Drafts</h1>
      <p class="muted">
        Reply drafts mailroom created in Gmail; they are sent from Gmail by a person, never by mailroom.
        {me?.role === 'admin' ? ' You see everyone’s.' : ' You see your own.'}
      </p>
      <Show load={drafts.load}>
        {(items) =>
          items.length === 0 ? (
            <p class="muted">No drafts yet.</p>
          ) : (
            <ul class="list" aria-label="Drafts">
              {items.map((d) => (
                <li class="card" key={d.id}>
                  <div class="subject">
                    {d.reply_all ? 'Reply-all' : 'Reply'} to email {d.email_id}
                  </div>
                  <div class="meta">
                    by {d.user_email} in {d.mailbox} · <When ts={d.created_at} /> ·{' '}
                    <a href={gmailDraftUrl(d.mailbox, d.gmail_message_id, d.thread_id)} target="_blank" rel="noreferrer">
                      {d.gmail_message_id ? 'Open the draft in Gmail' : 'Open its thread in Gmail'}
                    </a>
                  </div>
                </li>
              ))}
            </ul>
          )
        }
      </Show>
      <LoadMore paged={drafts} label="drafts" />
    </section>
  );
}

function syncText(r: SyncReport): string {
  return `Sync done: ${r.fetched} fetched, ${r.captured} captured, ${r.matched} matched, ${r.skipped} skipped, ${r.errors} errors${r.full ? ' (full sync)' : ''}.`;
}

function CaptureErrors({ account }: { account: Account }) {
  const errors = usePaged((cursor) => call(listEmailAccountErrors({ path: { id: account.id }, query: cursor ? { cursor } : {} })), [account.id]);
  return (
    <details>
      <summary>Capture errors</summary>
      <Show load={errors.load}>
        {(items) =>
          items.length === 0 ? (
            <p class="muted">No capture errors.</p>
          ) : (
            <ul class="plain" aria-label={`Capture errors of ${account.email_address}`}>
              {items.map((e) => (
                <li key={e.id}>
                  <When ts={e.occurred_at} /> · message {e.gmail_message_id} · {e.error}
                  {e.occurrences > 1 ? ` (${e.occurrences} times)` : ''}
                </li>
              ))}
            </ul>
          )
        }
      </Show>
      <LoadMore paged={errors} label={`capture errors of ${account.email_address}`} />
    </details>
  );
}

export function Mailboxes() {
  return (
    <AdminOnly title="Mailboxes">
      <MailboxList />
    </AdminOnly>
  );
}

function MailboxList() {
  const [list, reload] = useLoad(() => callAll((cursor) => listEmailAccounts({ query: { limit: 200, cursor } })), []);
  const act = useAction();
  const [user, setUser] = useState('');
  const [addr, setAddr] = useState('');
  return (
    <section>
      <h1>Mailboxes</h1>
      <p class="muted">The Gmail mailboxes mailroom captures from.</p>
      {act.view}
      <Show load={list}>
        {(items) => (
          <ul class="list" aria-label="Mailboxes">
            {items.length === 0 && <li class="muted">No mailboxes yet.</li>}
            {items.map((m) => (
              <li class="card" key={m.id}>
                <div class="subject">{m.email_address}</div>
                <div class="meta">
                  owner {m.user_email} ·{' '}
                  <span class={`tag ${m.sync_state}`} data-testid="sync-state">
                    {m.sync_state}
                  </span>{' '}
                  · {m.enabled ? 'enabled' : 'disabled'} · last sync{' '}
                  <span data-testid="last-sync">
                    <When ts={m.last_synced_at} />
                  </span>{' '}
                  · <span data-testid="message-count">{plural(m.message_count, 'message')}</span>
                </div>
                <div class="meta" data-testid="audit">{m.audit ? m.audit.summary : 'not audited yet'}</div>
                {m.last_error && (
                  <div class="error" data-testid="last-error">
                    Last error: {m.last_error}
                  </div>
                )}
                <CaptureErrors account={m} />
                <div class="actions">
                  <button
                    type="button"
                    disabled={act.busy || !m.enabled}
                    aria-label={`Sync ${m.email_address} now`}
                    onClick={() =>
                      act.run(async () => {
                        try {
                          return `${m.email_address}: ${syncText(await call(syncEmailAccount({ path: { id: m.id } })))}`;
                        } finally {
                          reload();
                        }
                      })
                    }
                  >
                    Sync now
                  </button>
                  <button
                    type="button"
                    class="secondary"
                    disabled={act.busy}
                    aria-label={`${m.enabled ? 'Disable' : 'Enable'} ${m.email_address}`}
                    onClick={() =>
                      act.run(async () => {
                        const r = await call(updateEmailAccount({ path: { id: m.id }, body: { enabled: !m.enabled } }));
                        reload();
                        return `${r.email_address} ${r.enabled ? 'enabled' : 'disabled'}.`;
                      })
                    }
                  >
                    {m.enabled ? 'Disable' : 'Enable'}
                  </button>
                </div>
              </li>
            ))}
          </ul>
        )}
      </Show>
      <h2>Add a mailbox</h2>
      <form
        class="filters"
        aria-label="Add a mailbox"
        onSubmit={(e) => {
          e.preventDefault();
          void act.run(async () => {
            const m = await call(createEmailAccount({ body: { user_email: user.trim(), email_address: addr.trim() } }));
            reload();
            setAddr('');
            return `${m.email_address} added.`;
          });
        }}
      >
        <label>
          Owner (a user's email)
          <input name="user_email" type="email" required value={user} onInput={(e) => setUser(e.currentTarget.value)} />
        </label>
        <label>
          Mailbox address
          <input name="email_address" type="email" required value={addr} onInput={(e) => setAddr(e.currentTarget.value)} />
        </label>
        <div class="actions">
          <button type="submit" disabled={act.busy}>
            Add mailbox
          </button>
        </div>
      </form>
    </section>
  );
}

function hourLabel(h: number): string {
  return `${String(h).padStart(2, '0')}:00`;
}

export function Digest() {
  return (
    <AdminOnly title="Settings → Admin">
      <DigestSettings />
    </AdminOnly>
  );
}

/** What the fund's send hour is on the browser's clock today, when the zones differ. */
function HourHere({ hour, zone }: { hour: number; zone: string }) {
  const here = browserZone();
  if (here === zone) return null;
  const at = zonedTime(today(zone), hour, zone);
  return (
    <p class="muted" data-testid="hour-here">
      {hourLabel(hour)} in {zone} is {clockIn(at, undefined)} your time ({here}) today.
    </p>
  );
}

function DigestSettings() {
  const [policy] = useLoad(() => call(getDigestPolicy()), []);
  // The last saved policy, and the change being saved (shown at once).
  const [saved, setSaved] = useState<Policy | null>(null);
  const [pending, setPending] = useState<PolicyChange>({});
  const [preview, reloadPreview] = useLoad(() => call(previewDigest()), []);
  const sends = usePaged((cursor) => call(listDigestSends({ query: cursor ? { cursor } : {} })), []);
  const act = useAction();
  const patch = (body: PolicyChange) =>
    act.run(async () => {
      setPending(body);
      try {
        const p = await call(updateDigestPolicy({ body }));
        setSaved(p);
        return `Saved: digest ${p.enabled ? 'on' : 'off'}, sent at ${hourLabel(p.send_hour)} ${p.timezone}.`;
      } finally {
        setPending({});
      }
    });
  return (
    <section>
      <h1>Settings → Admin</h1>
      {act.view}
      <h2>Daily digest</h2>
      <p class="muted">The daily activity digest goes to the fund's active admins only.</p>
      <Show load={policy}>
        {(loaded) => {
          const p = { ...(saved ?? loaded), ...pending };
          return (
            <form class="filters" aria-label="Digest settings" onSubmit={(e) => e.preventDefault()}>
              <label class="check">
                <input type="checkbox" name="enabled" checked={p.enabled} disabled={act.busy} onChange={(e) => patch({ enabled: e.currentTarget.checked })} />
                Send the daily digest
              </label>
              <label>
                Send time ({p.timezone})
                <select name="send_hour" value={String(p.send_hour)} disabled={act.busy} onChange={(e) => patch({ send_hour: Number(e.currentTarget.value) })}>
                  {Array.from({ length: 24 }, (_, h) => (
                    <option key={h} value={String(h)}>
                      {hourLabel(h)}
                    </option>
                  ))}
                </select>
              </label>
              <HourHere hour={p.send_hour} zone={p.timezone} />
              <p class="muted">
                Times are in the fund's time zone, {p.timezone}. Setting from: {p.source === 'db' ? 'saved here' : 'the service configuration'}.
              </p>
            </form>
          );
        }}
      </Show>
      <div class="actions">
        <button
          type="button"
          disabled={act.busy}
          onClick={() =>
            act.run(async () => {
              const r = await call(sendTestDigestEmail({ body: {} }));
              sends.reload();
              return `Test email sent by ${r.transport} to ${r.recipients.join(', ')}.`;
            })
          }
        >
          Send Test Digest Email
        </button>
        <button
          type="button"
          disabled={act.busy}
          onClick={() =>
            act.run(async () => {
              const r = await call(sendDigestNow());
              reloadPreview();
              sends.reload();
              return `Digest “${r.subject}” sent by ${r.transport} to ${r.recipients.join(', ')}.`;
            })
          }
        >
          Send Digest Now
        </button>
      </div>
      <h2>Preview of today's digest</h2>
      <Show load={preview}>
        {(d) => (
          <article class="email" aria-label="Preview of today's digest" data-testid="digest-preview">
            <div class="subject">{d.subject}</div>
            <div class="meta">
              <When ts={d.since} /> – <When ts={d.until} /> · {plural(d.email_count, 'email')}, {plural(d.investor_count, 'investor')}, {plural(d.user_count, 'teammate')} with
              activity
            </div>
            <pre class="body">{d.body}</pre>
          </article>
        )}
      </Show>
      <h2 id="sends-h">Send log</h2>
      <Show load={sends.load}>
        {(items) =>
          items.length === 0 ? (
            <p class="muted">No digest sent yet.</p>
          ) : (
            <ul class="list" aria-labelledby="sends-h" data-testid="sends">
              {items.map((s) => (
                <li class="card" key={s.id}>
                  <span class={`tag ${s.ok ? 'approved' : 'error'}`}>{s.ok ? 'sent' : 'failed'}</span> <When ts={s.sent_at} /> · {s.trigger.replace('_', ' ')} · {s.transport ?? 'no transport'} · {s.recipient_count}{' '}
                  admin{s.recipient_count === 1 ? '' : 's'}
                  {s.error_kind ? ` · ${s.error_kind}` : ''}
                  <div class="meta">
                    window <When ts={s.window_since} /> – <When ts={s.window_until} />
                  </div>
                </li>
              ))}
            </ul>
          )
        }
      </Show>
      <LoadMore paged={sends} label="digest sends" />
    </section>
  );
}
