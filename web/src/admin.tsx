import { useState } from 'preact/hooks';
import * as api from '@mailroom/client';
import type { SyncResult } from '@mailroom/client';
import { call } from './api';
import { ErrorBox, Show, useLoad, when } from './ui';

function useAction() {
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState<{ ok: string } | { error: unknown } | null>(null);
  const run = async (f: () => Promise<string>) => {
    setBusy(true);
    setMsg(null);
    try {
      setMsg({ ok: await f() });
    } catch (error) {
      setMsg({ error });
    } finally {
      setBusy(false);
    }
  };
  const view = msg === null ? null : 'ok' in msg ? <p class="ok" role="status">{msg.ok}</p> : <ErrorBox error={msg.error} />;
  return { busy, run, view };
}

export function Proposals() {
  const [pending, reloadPending] = useLoad(() => call(api.listProposals({ query: { status: 'pending' } })), []);
  const [decided, reloadDecided] = useLoad(async () => {
    const [a, r] = await Promise.all([
      call(api.listProposals({ query: { status: 'approved' } })),
      call(api.listProposals({ query: { status: 'rejected' } })),
    ]);
    return [...a.items, ...r.items].sort((x, y) => y.sent_at.localeCompare(x.sent_at));
  }, []);
  const act = useAction();
  const decide = (id: number, approve: boolean) =>
    act.run(async () => {
      try {
        const r = approve ? await call(api.approveProposal({ path: { id } })) : await call(api.rejectProposal({ path: { id } }));
        return `Proposal ${r.id} ${r.status}.`;
      } finally {
        reloadPending();
        reloadDecided();
      }
    });
  return (
    <section>
      <h1>Proposals</h1>
      <p class="muted">Nothing lands on an investor record until someone approves it here.</p>
      {act.view}
      <h2>Pending</h2>
      <Show load={pending}>
        {(p) =>
          p.items.length === 0 ? (
            <p class="muted">No pending proposals.</p>
          ) : (
            <ul class="list" aria-label="Pending proposals">
              {p.items.map((x) => (
                <li class="card">
                  <div class="subject">{x.subject ?? '(no subject)'}</div>
                  <div class="meta">
                    {x.investor_name ?? `investor ${x.investor_id}`} · {x.from_email ?? ''} · {when(x.sent_at)} · {x.direction}
                  </div>
                  <div class="actions">
                    <button type="button" disabled={act.busy} onClick={() => decide(x.id, true)} aria-label={`Approve: ${x.subject ?? x.id}`}>
                      Approve
                    </button>
                    <button type="button" class="secondary" disabled={act.busy} onClick={() => decide(x.id, false)} aria-label={`Reject: ${x.subject ?? x.id}`}>
                      Reject
                    </button>
                  </div>
                </li>
              ))}
            </ul>
          )
        }
      </Show>
      <h2>Decided</h2>
      <Show load={decided}>
        {(items) =>
          items.length === 0 ? (
            <p class="muted">None yet.</p>
          ) : (
            <ul class="list" aria-label="Decided proposals">
              {items.map((x) => (
                <li class="card">
                  <div class="subject">{x.subject ?? '(no subject)'}</div>
                  <div class="meta">
                    <span class={`tag ${x.status}`}>{x.status}</span> {x.investor_name ?? ''} · {when(x.sent_at)}
                    {' · decided by: not available from this service version'}
                  </div>
                </li>
              ))}
            </ul>
          )
        }
      </Show>
    </section>
  );
}

function syncText(r: SyncResult): string {
  return `Sync done: ${r.fetched} fetched, ${r.captured} captured, ${r.matched} matched, ${r.skipped} skipped, ${r.errors} errors${r.full ? ' (full sync)' : ''}.`;
}

export function Mailboxes() {
  const [list, reload] = useLoad(() => call(api.listEmailAccounts()), []);
  const act = useAction();
  const [user, setUser] = useState('');
  const [addr, setAddr] = useState('');
  return (
    <section>
      <h1>Mailboxes</h1>
      {act.view}
      <Show load={list}>
        {(items) => (
          <ul class="list" aria-label="Mailboxes">
            {items.length === 0 && <li class="muted">No mailboxes yet.</li>}
            {items.map((m) => (
              <li class="card">
                <div class="subject">{m.email_address}</div>
                <div class="meta">
                  owner {m.user_email} · <span class={`tag ${m.sync_state}`}>{m.sync_state}</span> · {m.enabled ? 'enabled' : 'disabled'} · last sync {when(m.last_synced_at)} ·{' '}
                  {m.message_count} messages
                </div>
                {m.last_error && <div class="error">Last error: {m.last_error}</div>}
                <div class="muted">Capture errors: not available from this service version.</div>
                <div class="actions">
                  <button type="button" disabled={act.busy} onClick={() => act.run(async () => { try { return syncText(await call(api.syncEmailAccount({ path: { id: m.id } }))); } finally { reload(); } })}>
                    Sync now
                  </button>
                  <button
                    type="button"
                    class="secondary"
                    disabled={act.busy}
                    onClick={() => act.run(async () => { await call(api.updateEmailAccount({ path: { id: m.id }, body: { enabled: !m.enabled } })); reload(); return `${m.email_address} ${m.enabled ? 'disabled' : 'enabled'}.`; })}
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
        onSubmit={(e) => {
          e.preventDefault();
          void act.run(async () => {
            const m = await call(api.createEmailAccount({ body: { user_email: user.trim(), email_address: addr.trim() } }));
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
          <button type="submit" disabled={act.busy}>Add mailbox</button>
        </div>
      </form>
    </section>
  );
}

function hourLabel(h: number): string {
  return `${String(h).padStart(2, '0')}:00`;
}

export function Digest() {
  const [policy, reload] = useLoad(() => call(api.getDigestPolicy()), []);
  const [preview, reloadPreview] = useLoad(() => call(api.previewDigest()), []);
  const act = useAction();
  const patch = (body: { enabled?: boolean; send_hour?: number }) =>
    act.run(async () => {
      const p = await call(api.updateDigestPolicy({ body }));
      reload();
      return `Saved: digest ${p.enabled ? 'on' : 'off'}, sent at ${hourLabel(p.send_hour)}.`;
    });
  return (
    <section>
      <h1>Digest</h1>
      <p class="muted">The daily activity digest goes to the fund's active admins only.</p>
      {act.view}
      <Show load={policy}>
        {(p) => {
          const tz = (p as { timezone?: string | null }).timezone ?? null;
          return (
            <form class="filters" onSubmit={(e) => e.preventDefault()}>
              <label class="check">
                <input type="checkbox" name="enabled" checked={p.enabled} disabled={act.busy} onChange={(e) => patch({ enabled: e.currentTarget.checked })} />
                Send the daily digest
              </label>
              <label>
                Send hour {tz ? `(${tz})` : '(the fund\u2019s time zone)'}
                <select name="send_hour" value={String(p.send_hour)} disabled={act.busy} onChange={(e) => patch({ send_hour: Number(e.currentTarget.value) })}>
                  {Array.from({ length: 24 }, (_, h) => (
                    <option value={String(h)}>{hourLabel(h)}</option>
                  ))}
                </select>
              </label>
              <p class="muted">Setting from: {p.source}</p>
            </form>
          );
        }}
      </Show>
      <div class="actions">
        <button type="button" disabled={act.busy} onClick={() => act.run(async () => { const r = await call(api.sendTestDigestEmail({ body: {} })); return `Test email sent by ${r.transport} to ${r.recipients.join(', ')}.`; })}>
          Send Test Digest Email
        </button>
        <button type="button" disabled={act.busy} onClick={() => act.run(async () => { const r = await call(api.sendDigestNow()); reloadPreview(); return `Digest "${r.subject}" sent by ${r.transport} to ${r.recipients.join(', ')}.`; })}>
          Send Digest Now
        </button>
      </div>
      <h2>Preview of today's digest</h2>
      <Show load={preview}>
        {(d) => (
          <article class="email">
            <div class="subject">{d.subject}</div>
            <div class="meta">
              {when(d.since)} – {when(d.until)} · {d.email_count} emails, {d.investor_count} investors, {d.user_count} teammates
            </div>
            <pre class="body">{d.body}</pre>
          </article>
        )}
      </Show>
      <h2>Send log</h2>
      <p class="muted">The send log is not available from this service version yet.</p>
    </section>
  );
}
