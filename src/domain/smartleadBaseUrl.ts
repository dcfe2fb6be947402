/**
 * Where Drason may send a tenant's Smartlead key: Smartlead's API, or (outside production) a loopback address for the
 * local simulator. Anything else would let a tenant admin make Drason call internal hosts with its credentials.
 */
export const SMARTLEAD_API_HOST = 'server.smartlead.ai';
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/** False for anything that is not a URL at all ("", "not a url", a port over 65535): never throws. */
export function smartleadBaseUrlAllowed(value: string, production: boolean): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  if (url.protocol === 'https:' && url.hostname === SMARTLEAD_API_HOST) return true;
  return !production && (url.protocol === 'http:' || url.protocol === 'https:') && LOOPBACK.test(url.hostname);
}
