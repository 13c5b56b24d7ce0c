import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { getDigestPolicy, getMe } from '@mailroom/client';
import { call, setupClient, signOut, takeTokenFromUrl, token } from './api';
import { Communications, EmailDetail } from './communications';
import { Digest, Drafts, Mailboxes, Proposals } from './admin';
import { MeContext, Show, ZoneContext, useLoad } from './ui';
import { knownZone } from './zone';
import './style.css';

const pages = [
  ['/communications', 'Communications', true],
  ['/proposals', 'Proposals', false],
  ['/drafts', 'Drafts', false],
  ['/mailboxes', 'Mailboxes', true],
  // The digest's settings are the product's Settings → Admin.
  ['/settings/admin', 'Settings', true],
] as const;

function go(path: string) {
  history.pushState(null, '', path);
  window.dispatchEvent(new PopStateEvent('popstate'));
  window.scrollTo(0, 0);
}

function SignIn({ expired }: { expired: boolean }) {
  return (
    <main class="signin">
      <h1>mailroom</h1>
      {expired && (
        <p class="error" role="alert">
          Your session ended. Sign in again.
        </p>
      )}
      <p>Sign in with a link from the server's command line:</p>
      <pre>mailroom token --email you@fund.com --link</pre>
      <p class="muted">Open the printed link in this browser. The token stays in this tab only.</p>
    </main>
  );
}

/**
 * Pages read and show times in the fund's time zone, which the digest policy
 * reports to admins; members (and a policy that cannot be read) get the
 * browser's zone.
 */
function FundZone({ admin, children }: { admin: boolean; children: ComponentChildren }) {
  // A zone the service knows but this browser does not falls back to the
  // browser's own rather than breaking every page.
  const [zone] = useLoad(() => (admin ? call(getDigestPolicy()).then((p) => knownZone(p.timezone)) : Promise.resolve(null)), [admin]);
  if (zone.state === 'loading') return <p class="muted" role="status">Loading…</p>;
  return <ZoneContext.Provider value={zone.state === 'ok' ? zone.data : null}>{children}</ZoneContext.Provider>;
}

function Console({ onSignOut }: { onSignOut: () => void }) {
  const [path, setPath] = useState(window.location.pathname);
  const [me] = useLoad(() => call(getMe()), []);
  useEffect(() => {
    const on = () => setPath(window.location.pathname);
    window.addEventListener('popstate', on);
    return () => window.removeEventListener('popstate', on);
  }, []);
  const email = /^\/communications\/(\d+)$/.exec(path);
  let page;
  if (email && email[1]) page = <EmailDetail id={Number(email[1])} open={(id) => go(`/communications/${id}`)} back={() => go('/communications')} />;
  else if (path === '/proposals') page = <Proposals />;
  else if (path === '/drafts') page = <Drafts />;
  else if (path === '/mailboxes') page = <Mailboxes />;
  else if (path === '/settings/admin' || path === '/digest') page = <Digest />;
  else page = <Communications openEmail={(id) => go(`/communications/${id}`)} />;
  const active = path === '/digest' ? '/settings/admin' : (pages.find(([p]) => path.startsWith(p))?.[0] ?? '/communications');
  const isAdmin = me.state === 'ok' && me.data.role === 'admin';
  return (
    <MeContext.Provider value={me.state === 'ok' ? me.data : null}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <span class="brand">mailroom</span>
        <nav aria-label="Pages">
          {pages.map(([p, label, adminOnly]) => (
            <a
              href={p}
              aria-current={active === p ? 'page' : undefined}
              onClick={(e) => {
                e.preventDefault();
                go(p);
              }}
            >
              {label}
              {adminOnly && me.state === 'ok' && !isAdmin ? ' (admins)' : ''}
            </a>
          ))}
        </nav>
        <span class="who">
          {me.state === 'ok' ? (
            <>
              Signed in as <strong data-testid="who">{me.data.display_name || me.data.email}</strong> <span class="tag">{me.data.role}</span>{' '}
            </>
          ) : null}
          <button type="button" class="link" onClick={onSignOut}>
            Sign out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        <Show load={me}>{(u) => <FundZone admin={u.role === 'admin'}>{page}</FundZone>}</Show>
      </main>
    </MeContext.Provider>
  );
}

function App() {
  const [signedIn, setSignedIn] = useState(token() !== null);
  const [expired, setExpired] = useState(false);
  useEffect(() => {
    const on = () => {
      signOut();
      setExpired(true);
      setSignedIn(false);
    };
    window.addEventListener(UNAUTHORIZED, on);
    return () => window.removeEventListener(UNAUTHORIZED, on);
  }, []);
  if (!signedIn) return <SignIn expired={expired} />;
  return (
    <Console
      onSignOut={() => {
        signOut();
        setExpired(false);
        setSignedIn(false);
      }}
    />
  );
}

const UNAUTHORIZED = 'mailroom:unauthorized';
takeTokenFromUrl();
// Before the first render: children's effects (their first requests) run
// before the App's own.
setupClient(() => window.dispatchEvent(new Event(UNAUTHORIZED)));
const root = document.getElementById('app');
if (root) render(<App />, root);
