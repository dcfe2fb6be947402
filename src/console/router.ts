/**
 * Hash routing (#/overview, #/entities/mailbox/sam%40acme.io, #/audit?entityType=mailbox): the server serves one
 * page at /console/ and never needs to know the console's routes.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  /** Decoded path segments: ['entities', 'mailbox', 'sam@acme.io']. */
  segments: string[];
  params: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const [pathPart = '', queryPart = ''] = raw.split('?', 2);
  const segments = pathPart
    .split('/')
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  return { segments, params: new URLSearchParams(queryPart) };
}

/** A console link: href('entities', 'mailbox', email) → '#/entities/mailbox/sam%40acme.io'. */
export function href(...segments: string[]): string {
  return `#/${segments.map(encodeURIComponent).join('/')}`;
}

/** The same, with a query string of the non-empty values. */
export function hrefWith(segments: string[], params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s === '' ? href(...segments) : `${href(...segments)}?${s}`;
}

export function navigate(to: string): void {
  if (window.location.hash !== to) window.location.hash = to;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const update = (): void => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}
