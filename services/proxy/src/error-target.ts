/**
 * CHP's `--error-target`: when the proxy itself has to answer 404 (no route) or 503 (the target is unreachable) to a
 * browser, it asks the error target for the page instead, with `GET <error-target>/<code>?url=<request url>`, and
 * sends that page with the original status. JupyterHub serves these pages at `/hub/error/<code>`.
 *
 * Differences from CHP, on purpose:
 * - API clients (a path with `/api/`, or `Accept: …json`) still get the proxy's own JSON answer.
 * - The error target gets no header from the client: no cookie, no Authorization.
 * - Only `content-type` and `content-encoding` are passed on, as in CHP, plus `cache-control: no-store`. The status
 *   is always the proxy's (the error target usually answers with the same one). A page larger than 256 KiB, or no
 *   answer within the connect timeout, falls back to the built-in page.
 */
import http from 'node:http';
import https from 'node:https';
import type { AgentPool } from './agents.ts';
import type { Logger } from './log.ts';
import { logPath } from './log.ts';
import { sendProxyError, wantsJson } from './responses.ts';

const MAX_PAGE_BYTES = 256 * 1024;
const PASSED_HEADERS = ['content-type', 'content-encoding'] as const;

export type ErrorResponder = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  status: number,
  message: string,
) => void;

export interface ErrorTargetDeps {
  /** The error target, e.g. `http://hub:8081/hub/error/` (a trailing `/` is added when missing). */
  readonly errorTarget: string | undefined;
  readonly agents: AgentPool;
  readonly timeoutMs: number;
  readonly log: Logger;
}

export function createErrorResponder(deps: ErrorTargetDeps): ErrorResponder {
  if (deps.errorTarget === undefined) return sendProxyError;
  const base = deps.errorTarget.endsWith('/') ? deps.errorTarget : `${deps.errorTarget}/`;
  return (req, res, status, message) => {
    if (wantsJson(req)) {
      sendProxyError(req, res, status, message);
      return;
    }
    const url = new URL(`${base}${status}`);
    url.searchParams.set('url', req.url ?? '/');
    const fallback = (reason: string) => {
      deps.log.warn({ status, reason, path: logPath(req.url) }, 'error target failed; built-in page sent');
      sendProxyError(req, res, status, message);
    };
    const client = url.protocol === 'https:' ? https : http;
    const pageReq = client.request(url, {
      method: 'GET',
      agent: deps.agents.forTarget(url),
      timeout: deps.timeoutMs,
    });
    pageReq.on('timeout', () => pageReq.destroy(new Error('timed out')));
    pageReq.on('error', (err) => {
      if (!res.headersSent) fallback(err.message);
      else res.destroy();
    });
    pageReq.on('response', (page) => {
      collect(page).then(
        (body) => {
          if (res.headersSent || res.writableEnded) return;
          if (body === undefined) return fallback('page too large');
          const headers: Record<string, string | number> = { 'cache-control': 'no-store' };
          for (const name of PASSED_HEADERS) {
            const value = page.headers[name];
            if (typeof value === 'string') headers[name] = value;
          }
          headers['content-length'] = body.length;
          res.writeHead(status, headers);
          res.end(body);
        },
        (err: Error) => fallback(err.message),
      );
    });
    pageReq.end();
  };
}

/** The whole body, or undefined once it grows past MAX_PAGE_BYTES. */
function collect(page: http.IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    page.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_PAGE_BYTES) {
        page.destroy();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    page.on('end', () => resolve(Buffer.concat(chunks)));
    page.on('error', reject);
    page.on('aborted', () => reject(new Error('aborted')));
  });
}
