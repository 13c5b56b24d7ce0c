// Wall-clock time in a named IANA zone, with the browser's Intl only: the
// console reads dates and hours in the fund's time zone (the digest policy's
// `timezone`), whatever zone the browser is in. `undefined` means the
// browser's own zone.

const partsFormats = new Map<string, Intl.DateTimeFormat>();

/** The wall clock of `zone` at instant `t` (ms), as numbers. */
function wall(t: number, zone: string): { y: number; m: number; d: number; h: number; min: number; s: number } {
  let f = partsFormats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    partsFormats.set(zone, f);
  }
  const n: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(t))) if (p.type !== 'literal') n[p.type] = Number(p.value);
  return { y: n.year ?? 0, m: n.month ?? 1, d: n.day ?? 1, h: (n.hour ?? 0) % 24, min: n.minute ?? 0, s: n.second ?? 0 };
}

/** How far (ms) `zone`'s wall clock is ahead of UTC at instant `t`. */
function offset(t: number, zone: string): number {
  const w = wall(t, zone);
  return Date.UTC(w.y, w.m - 1, w.d, w.h, w.min, w.s) - Math.floor(t / 1000) * 1000;
}

/**
 * The instant `zone`'s clock reads `hour`:00 on `day` (YYYY-MM-DD) plus
 * `addDays` days. In a DST gap it is the instant just after the gap.
 */
export function zonedTime(day: string, hour: number, zone: string | undefined, addDays = 0): Date {
  const [y = 1970, m = 1, d = 1] = day.split('-').map(Number);
  if (!zone) return new Date(y, m - 1, d + addDays, hour);
  const target = Date.UTC(y, m - 1, d + addDays, hour);
  // Two passes: the offset at the first guess may differ from the offset at
  // the answer when a DST change lies between them.
  let t = target - offset(target, zone);
  t = target - offset(t, zone);
  return new Date(t);
}

/** Today's date (YYYY-MM-DD) on `zone`'s calendar. */
export function today(zone: string | undefined): string {
  const now = Date.now();
  if (!zone) {
    const d = new Date(now);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }
  const w = wall(now, zone);
  return `${w.y}-${pad(w.m)}-${pad(w.d)}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** `zone` when this browser knows it, else null (its own zone is used). */
export function knownZone(zone: string): string | null {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone;
  } catch {
    return null;
  }
}

/** The browser's own zone name. */
export function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

const textFormats = new Map<string, Intl.DateTimeFormat>();

/** An instant as text in `zone`, with the zone's short name ("May 13, 2024, 12:30 AM GMT+2"). */
export function formatIn(ts: string, zone: string | undefined): string {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return ts;
  const key = zone ?? '';
  let f = textFormats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(undefined, {
      timeZone: zone,
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      timeZoneName: 'short',
    });
    textFormats.set(key, f);
  }
  return f.format(d);
}

/** The clock time (HH:MM, 24 h) of an instant in `zone`. */
export function clockIn(at: Date, zone: string | undefined): string {
  if (!zone) return `${pad(at.getHours())}:${pad(at.getMinutes())}`;
  const w = wall(at.getTime(), zone);
  return `${pad(w.h)}:${pad(w.min)}`;
}
