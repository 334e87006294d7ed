/** Validation of route targets: the only URLs the proxy will ever connect to. */

export type TargetCheck =
  | { readonly ok: true; readonly url: URL }
  | { readonly ok: false; readonly reason: string };

/**
 * Accept only absolute http(s) URLs with a host, without credentials or a fragment. A path is allowed: like CHP,
 * it is prepended to the proxied request's path.
 */
export function parseTarget(raw: string): TargetCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'target must be an absolute http:// or https:// URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, reason: 'target must be an absolute http:// or https:// URL' };
  }
  if (url.hostname === '') return { ok: false, reason: 'target must name a host' };
  if (url.username !== '' || url.password !== '') {
    return { ok: false, reason: 'target must not contain credentials' };
  }
  if (url.hash !== '' || raw.includes('#'))
    return { ok: false, reason: 'target must not contain a fragment' };
  return { ok: true, url };
}
