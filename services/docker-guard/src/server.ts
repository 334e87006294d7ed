/**
 * The guard's listener: a unix socket speaking the Docker API. Each request is parsed against the allowlist,
 * decided (with look-ups on the engine where the decision depends on an existing object), and then forwarded
 * by http-proxy-3 to the engine's socket, with a rebuilt path and, for calls with a JSON body, the body the
 * guard checked (re-serialized, so what the engine decodes is what the guard read). Everything else is
 * answered 403 with a JSON message, and logged.
 */
import { chmod, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import type { Logger } from 'pino';
import type { GuardConfig } from './config.ts';
import { type DecideContext, decide } from './decide.ts';
import { forwardUrl, needsBody, parseRequest } from './operations.ts';
import { Upstream } from './upstream.ts';

/** Container-create bodies carry the environment; a megabyte is far more than any Berth server needs. */
const MAX_BODY = 1024 * 1024;

export interface GuardServer {
  readonly server: Server;
  readonly socketPath: string;
  close(): Promise<void>;
}

function reply(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ message });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Finds the Compose project of the hub and proxy: configured, or the guard's own container's label. */
export async function findComposeProject(
  config: GuardConfig,
  upstream: Upstream,
  self: string,
): Promise<string | undefined> {
  if (config.composeProject) return config.composeProject;
  const r = await upstream.get(`/containers/${encodeURIComponent(self)}/json`).catch(() => undefined);
  const labels = (r?.body as { Config?: { Labels?: Record<string, string> } } | undefined)?.Config?.Labels;
  return r?.status === 200 ? labels?.['com.docker.compose.project'] : undefined;
}

export async function startGuard(
  config: GuardConfig,
  log: Logger,
  options: { composeProject?: string | undefined } = {},
): Promise<GuardServer> {
  const upstream = new Upstream(config.dockerSocket);
  const ctx: DecideContext = {
    config,
    upstream,
    composeProject: options.composeProject ?? config.composeProject,
  };
  const proxy = createProxyServer({
    target: { socketPath: config.dockerSocket, host: 'localhost', port: 80 },
    xfwd: false,
    ws: false,
  });
  proxy.on('error', (err, _req, res) => {
    log.warn({ err: err.message }, 'forwarding to the engine failed');
    if (res && 'writeHead' in res)
      reply(res as ServerResponse, 502, 'the Docker engine could not be reached');
  });

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      log.error({ err: String(err) }, 'guard failure');
      reply(res, 500, 'guard failure');
    });
  });
  // Like dockerd, never close an idle keep-alive connection: Node's default (5 s) races the client's reuse of
  // its pooled connection, which then fails with EPIPE in the middle of a spawn.
  server.keepAliveTimeout = 0;
  // Upgrades (attach, exec start) are never allowed: there is no call to hijack.
  server.on('upgrade', (req, socket) => {
    log.warn({ method: req.method, path: pathOnly(req.url) }, 'refused: connection upgrade');
    socket.end(
      'HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"message":"berth docker guard: upgrades are refused"}',
    );
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const parsed = parseRequest(method, req.url ?? '');
    if (!parsed) {
      log.warn({ method, path: pathOnly(req.url) }, 'refused: not an allowed Docker call');
      req.resume();
      reply(res, 403, `berth docker guard: ${method} ${pathOnly(req.url)} is not allowed`);
      return;
    }
    let body: Buffer | undefined;
    if (needsBody(parsed.op)) {
      body = await readBody(req);
      if (body === undefined) {
        reply(res, 413, 'berth docker guard: body too large');
        return;
      }
    }
    const d = await decide(parsed, body, ctx);
    if (!d.allow) {
      if (d.status === 403) log.warn({ op: parsed.op.kind, path: parsed.path, reason: d.message }, 'refused');
      else log.debug({ op: parsed.op.kind, path: parsed.path, status: d.status }, d.message);
      if (!needsBody(parsed.op)) req.resume();
      reply(res, d.status, d.status === 403 ? `berth docker guard: ${d.message}` : d.message);
      return;
    }
    log.debug({ op: parsed.op.kind, path: parsed.path }, 'allowed');
    req.url = forwardUrl(parsed);
    if (d.body !== undefined) {
      req.headers['content-length'] = String(d.body.length);
      delete req.headers['transfer-encoding'];
      req.headers['content-type'] = 'application/json';
      proxy.web(req, res, { buffer: Readable.from([d.body]) });
    } else if (needsBody(parsed.op)) {
      // A body was read but is not forwarded (nothing to send).
      req.headers['content-length'] = '0';
      proxy.web(req, res, { buffer: Readable.from([]) });
    } else {
      proxy.web(req, res);
    }
  }

  await rm(config.listen, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(config.listen, config.socketMode);
  log.info(
    {
      listen: config.listen,
      deploymentId: config.deploymentId,
      imageRepositories: config.imageRepositories,
      composeProject: ctx.composeProject ?? null,
    },
    'docker guard listening',
  );
  return {
    server,
    socketPath: config.listen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        proxy.close();
      }),
  };
}

/** Paths for logs: the query is dropped (dockerode copies whole bodies, environment included, into it). */
function pathOnly(url: string | undefined): string {
  return (url ?? '').split('?', 1)[0]?.slice(0, 300) ?? '';
}
