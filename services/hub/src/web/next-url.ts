/**
 * Only same-origin paths are allowed as post-login destinations: no scheme, no host, no `//` or `/\`
 * (which browsers treat as protocol-relative), no control characters.
 */
export function safeNext(next: unknown, fallback = '/hub/home'): string {
  if (typeof next !== 'string' || next.length === 0 || next.length > 2048) return fallback;
  if (!next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return fallback;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f\\]/.test(next)) return fallback;
  try {
    const u = new URL(next, 'http://same.invalid');
    if (u.origin !== 'http://same.invalid') return fallback;
    return u.pathname + u.search + u.hash;
  } catch {
    return fallback;
  }
}
