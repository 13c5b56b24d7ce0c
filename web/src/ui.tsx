import type { ComponentChildren } from 'preact';
import { createContext } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import type { Me } from './types';
import { describe } from './api';
import { formatIn } from './zone';

export type Load<T> = { state: 'loading' } | { state: 'error'; error: unknown } | { state: 'ok'; data: T };

/** The signed-in user (`/api/me`). */
export const MeContext = createContext<Me | null>(null);

export function useMe(): Me | null {
  return useContext(MeContext);
}

/**
 * The fund's time zone (the digest policy's `timezone`, which admins can
 * read); `null` for members, whose times are shown in the browser's zone.
 */
export const ZoneContext = createContext<string | null>(null);

/** The zone dates and hours are read and shown in (`undefined`: the browser's). */
export function useZone(): string | undefined {
  return useContext(ZoneContext) ?? undefined;
}

/** Runs `f` when `deps` change; `reload` runs it again. */
export function useLoad<T>(f: () => Promise<T>, deps: unknown[]): [Load<T>, () => void] {
  const [s, set] = useState<Load<T>>({ state: 'loading' });
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    set({ state: 'loading' });
    f().then(
      (data) => live && set({ state: 'ok', data }),
      (error: unknown) => live && set({ state: 'error', error }),
    );
    return () => {
      live = false;
    };
  }, [...deps, n]);
  return [s, () => setN((x) => x + 1)];
}

type Page<T> = { items: T[]; next_cursor?: string | null };

export type Paged<T> = {
  load: Load<T[]>;
  /** The cursor of the next page, or null on the last. */
  cursor: string | null;
  more: () => void;
  busy: boolean;
  moreError: unknown;
  /** How many items the last "load more" appended (null before one). */
  added: number | null;
  reload: () => void;
};

/** A cursor-paged list: the first page when `deps` change, "load more" appends. */
export function usePaged<T>(fetchPage: (cursor?: string) => Promise<Page<T>>, deps: unknown[]): Paged<T> {
  const [items, setItems] = useState<T[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [moreError, setMoreError] = useState<unknown>(undefined);
  const [added, setAdded] = useState<number | null>(null);
  const [first, reload] = useLoad(async () => {
    const p = await fetchPage();
    setItems(p.items);
    setCursor(p.next_cursor ?? null);
    setMoreError(undefined);
    setAdded(null);
    return p.items;
  }, deps);
  const load: Load<T[]> = first.state === 'ok' ? { state: 'ok', data: items } : first;
  const more = () => {
    if (!cursor || busy) return;
    setBusy(true);
    setMoreError(undefined);
    fetchPage(cursor).then(
      (p) => {
        setItems((old) => [...old, ...p.items]);
        setCursor(p.next_cursor ?? null);
        setAdded(p.items.length);
        setBusy(false);
      },
      (e: unknown) => {
        setMoreError(e);
        setBusy(false);
      },
    );
  };
  return { load, cursor, more, busy, moreError, added, reload };
}

export function LoadMore<T>({ paged, label }: { paged: Paged<T>; label: string }) {
  // Says what a "load more" appended; on the last page the button is gone,
  // so the focus moves to this message instead of falling to the page.
  const said = useRef<HTMLParagraphElement>(null);
  const last = paged.added !== null && !paged.cursor;
  useEffect(() => {
    if (last) said.current?.focus();
  }, [last, paged.added]);
  return (
    <>
      {paged.added !== null && (
        <p class="muted" role="status" tabIndex={-1} ref={said}>
          {paged.added} more {label} loaded{paged.cursor ? '.' : '; that is all.'}
        </p>
      )}
      {paged.moreError !== undefined && <ErrorBox error={paged.moreError} />}
      {paged.load.state === 'ok' && paged.cursor && (
        <button type="button" class="secondary" disabled={paged.busy} onClick={paged.more} aria-label={`Load more ${label}`}>
          {paged.busy ? 'Loading…' : 'Load more'}
        </button>
      )}
    </>
  );
}

export function Show<T>({ load, children }: { load: Load<T>; children: (d: T) => ComponentChildren }) {
  if (load.state === 'loading') return <p class="muted" role="status">Loading…</p>;
  if (load.state === 'error') return <ErrorBox error={load.error} />;
  return <>{children(load.data)}</>;
}

export function ErrorBox({ error }: { error: unknown }) {
  return (
    <p class="error" role="alert">
      {describe(error)}
    </p>
  );
}

/** What a member sees on an admin-only page, instead of a failed request. */
export function AdminOnly({ title, children }: { title: string; children: ComponentChildren }) {
  const me = useMe();
  if (me && me.role !== 'admin') {
    return (
      <section>
        <h1>{title}</h1>
        <p class="notice" role="alert" data-testid="admin-only">
          {title} is for the fund's admins only. You are signed in as {me.email} ({me.role}); you can see your own proposals and drafts.
        </p>
      </section>
    );
  }
  return <>{children}</>;
}


/** "1 email", "2 emails". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A timestamp as text in the fund's time zone, machine-readable in `datetime`. */
export function When({ ts }: { ts: string | null | undefined }) {
  const zone = useZone();
  if (!ts) return <>—</>;
  return <time dateTime={ts}>{formatIn(ts, zone)}</time>;
}

/** Runs one action at a time and shows its result or error. */
export function useAction() {
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
  // An action often removes the control that ran it (an approved proposal
  // leaves the list): focus then goes to its message rather than to the
  // page's start, so a keyboard user carries on from there.
  const ref = useRef<HTMLParagraphElement>(null);
  useEffect(() => {
    const focused = document.activeElement;
    if (msg !== null && (focused === null || focused === document.body || !focused.isConnected)) ref.current?.focus();
  }, [msg]);
  const view =
    msg === null ? null : 'ok' in msg ? (
      <p class="ok" role="status" tabIndex={-1} ref={ref}>
        {msg.ok}
      </p>
    ) : (
      <p class="error" role="alert" tabIndex={-1} ref={ref}>
        {describe(msg.error)}
      </p>
    );
  return { busy, run, view };
}
