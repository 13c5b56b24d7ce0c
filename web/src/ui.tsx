import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { describe } from './api';

export type Load<T> = { state: 'loading' } | { state: 'error'; error: unknown } | { state: 'ok'; data: T };

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

export function when(ts: string | null | undefined): string {
  if (!ts) return '—';
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? ts : d.toLocaleString();
}
