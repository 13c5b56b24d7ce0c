import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { setupClient, signOut, takeTokenFromUrl, token, tokenEmail } from './api';
import { Communications, EmailDetail } from './communications';
import { Digest, Mailboxes, Proposals } from './admin';
import './style.css';

const pages = [
  ['/communications', 'Communications'],
  ['/proposals', 'Proposals'],
  ['/mailboxes', 'Mailboxes'],
  ['/digest', 'Digest'],
] as const;

function go(path: string) {
  history.pushState(null, '', path);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

function SignIn({ expired }: { expired: boolean }) {
  return (
    <main class="signin">
      <h1>mailroom</h1>
      {expired && <p class="error" role="alert">Your session ended. Sign in again.</p>}
      <p>Sign in with a link from the server's command line:</p>
      <pre>mailroom token --email you@fund.com --link</pre>
      <p class="muted">Open the printed link in this browser. The token stays in this tab only.</p>
    </main>
  );
}

function App() {
  const [signedIn, setSignedIn] = useState(token() !== null);
  const [expired, setExpired] = useState(false);
  const [path, setPath] = useState(window.location.pathname);
  useEffect(() => {
    setupClient(() => {
      signOut();
      setExpired(true);
      setSignedIn(false);
    });
    const on = () => setPath(window.location.pathname);
    window.addEventListener('popstate', on);
    return () => window.removeEventListener('popstate', on);
  }, []);
  if (!signedIn) return <SignIn expired={expired} />;
  const email = /^\/communications\/(\d+)$/.exec(path);
  let page;
  if (email && email[1]) page = <EmailDetail id={Number(email[1])} back={() => history.back()} />;
  else if (path === '/proposals') page = <Proposals />;
  else if (path === '/mailboxes') page = <Mailboxes />;
  else if (path === '/digest') page = <Digest />;
  else page = <Communications openEmail={(id) => go(`/communications/${id}`)} />;
  const active = pages.find(([p]) => path.startsWith(p))?.[0] ?? '/communications';
  return (
    <>
      <header>
        <span class="brand">mailroom</span>
        <nav aria-label="Pages">
          {pages.map(([p, label]) => (
            <a
              href={p}
              aria-current={active === p ? 'page' : undefined}
              onClick={(e) => {
                e.preventDefault();
                go(p);
              }}
            >
              {label}
            </a>
          ))}
        </nav>
        <span class="who">
          Signed in as <strong data-testid="who">{tokenEmail() ?? 'unknown'}</strong>{' '}
          <button
            type="button"
            class="link"
            onClick={() => {
              signOut();
              setSignedIn(false);
            }}
          >
            Sign out
          </button>
        </span>
      </header>
      <main>{page}</main>
    </>
  );
}

takeTokenFromUrl();
const root = document.getElementById('app');
if (root) render(<App />, root);
