/** How the console writes numbers and times: local time for people, the ISO UTC instant in a tooltip. */

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const shortTime = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

export function formatTime(iso: string | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTime.format(d);
}

export function formatShortTime(d: Date): string {
  return shortTime.format(d);
}

/** 0.0523 → "5.23%"; null → "—". */
export function percent(ratio: number | null | undefined, digits = 2): string {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return '—';
  return `${Number((ratio * 100).toFixed(digits))}%`;
}

export function count(n: number): string {
  return n.toLocaleString();
}

/** "in 3 h 10 min" / "5 min ago", for cooldown ends and state changes. */
export function relative(iso: string | null | undefined, now = Date.now()): string {
  if (iso === null || iso === undefined) return '';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return '';
  const diff = t - now;
  const abs = Math.abs(diff);
  const min = Math.round(abs / 60_000);
  let text: string;
  if (min < 1) text = 'less than a minute';
  else if (min < 60) text = `${min} min`;
  else if (min < 48 * 60) text = `${Math.floor(min / 60)} h ${min % 60} min`;
  else text = `${Math.round(min / (24 * 60))} days`;
  return diff >= 0 ? `in ${text}` : `${text} ago`;
}

export const STATE_LABEL: Record<string, string> = {
  healthy: 'Healthy',
  warning: 'Warning',
  paused: 'Paused',
  recovering: 'Recovering',
};

export const ROLE_LABEL: Record<string, string> = { admin: 'Admin', operator: 'Operator', viewer: 'Viewer' };

/** "routing_rules_changed" → "routing rules changed". */
export function words(code: string): string {
  return code.replace(/_/g, ' ');
}
