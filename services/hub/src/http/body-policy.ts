import type { FastifyInstance } from 'fastify';
import { HubError } from '../errors.ts';

/** API paths that take forms: OAuth 2's token endpoint speaks application/x-www-form-urlencoded (RFC 6749). */
const FORM_PATHS = ['/hub/api/oauth2/'];

/**
 * JSON bodies: an empty one is no body; invalid UTF-8 is a 400, never silently replaced (a body of U+FFFD is not what the client
 * sent), and so is U+0000 anywhere in it (Postgres cannot store it); `__proto__` and `constructor.prototype` keys stay refused (the server's onProtoPoisoning and
 * onConstructorPoisoning). API endpoints take JSON only: a form or multipart body there is a 415, so a
 * cross-site form can never reach them.
 */
/** Does a parsed JSON value hold U+0000 in any string or key? */
function hasNul(v: unknown, depth = 0): boolean {
  if (typeof v === 'string') return v.includes('\u0000');
  if (depth > 64 || v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some((x) => hasNul(x, depth + 1));
  return Object.entries(v).some(([k, x]) => k.includes('\u0000') || hasNul(x, depth + 1));
}

export function applyBodyPolicy(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    // An empty body is no body, as in JupyterHub (clients send `Content-Type: application/json` on a bare DELETE);
    // a route that needs one still refuses it through its schema.
    if ((body as Buffer).length === 0) {
      done(null, undefined);
      return;
    }
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(new HubError('INVALID_BODY', 'the body is not valid UTF-8'), undefined);
      return;
    }
    parseJson(req, text, (err: Error | null, value: unknown) => {
      // Postgres stores no U+0000 in text or jsonb: refuse it here as a 400, not a 500 at the first write.
      if (!err && hasNul(value))
        done(new HubError('INVALID_BODY', 'the body contains U+0000, which is not allowed'), undefined);
      else done(err, value);
    });
  });
  app.addHook('preParsing', async (req) => {
    if (!req.url.startsWith('/hub/api') || FORM_PATHS.some((p) => req.url.startsWith(p))) return;
    const type = (req.headers['content-type'] ?? '').toLowerCase();
    if (type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/')) {
      throw new HubError('UNSUPPORTED_MEDIA_TYPE', 'API endpoints take application/json bodies only');
    }
  });
}
