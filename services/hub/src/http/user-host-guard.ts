import type { FastifyInstance } from 'fastify';

/**
 * Per-user subdomains: the hub answers only on its own host. A request that reaches the hub on a user's host
 * (`alice.<host>/hub/login`, or anything the proxy has no route for there) is sent to the hub's host, and no cookie
 * is ever set on a user host. Otherwise alice could send bob to `https://alice.<host>/hub/login`: the hub would set
 * bob's Path=/ session cookie on alice's host, and bob's browser would then send it to alice's server.
 * Internal names (the hub's API URL for servers, health checks) are not user hosts and pass.
 */
export function guardUserHosts(app: FastifyInstance, publicUrl: string): void {
  const hub = new URL(publicUrl);
  const suffix = `.${hub.hostname}`;
  app.addHook('onRequest', async (req, reply) => {
    const host = req.headers.host;
    if (!host) return;
    let hostname: string;
    try {
      hostname = new URL(`https://${host}`).hostname;
    } catch {
      return;
    }
    if (!hostname.endsWith(suffix)) return;
    if (req.method === 'GET' || req.method === 'HEAD') {
      return reply.redirect(`${hub.origin}${req.url}`, 302);
    }
    return reply
      .code(403)
      .send({ status: 403, message: "the hub answers on its own host, not on a user's host" });
  });
}
