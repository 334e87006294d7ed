import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { errorPage } from '../web/pages.ts';

/**
 * Login throttling (rate-limiter-flexible), two budgets per minute, both spent by every attempt: one per client
 * (spraying many names from one place) and one per user name (guessing one account's password from many). The
 * client is `req.ip`: the socket's peer, or the address a trusted proxy forwarded (server.ts,
 * BERTH_TRUSTED_PROXIES); IPv6 clients count per /64. Over either budget: a 429 page with Retry-After, before
 * the password is checked.
 */
export function loginThrottle(
  limits: { perUserPerMinute: number; perClientPerMinute: number },
  username: (req: FastifyRequest) => string,
): (req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
  const perClient = new RateLimiterMemory({
    keyPrefix: 'login-client',
    points: limits.perClientPerMinute,
    duration: 60,
  });
  const perUser = new RateLimiterMemory({
    keyPrefix: 'login-user',
    points: limits.perUserPerMinute,
    duration: 60,
  });
  return async (req, reply) => {
    const spent = await Promise.allSettled([
      perClient.consume(clientKey(req.ip)),
      perUser.consume(username(req)),
    ]);
    const refused = spent.flatMap((s) =>
      s.status === 'rejected' && s.reason instanceof RateLimiterRes ? [s.reason.msBeforeNext] : [],
    );
    const failed = spent.find((s) => s.status === 'rejected' && !(s.reason instanceof RateLimiterRes));
    if (failed?.status === 'rejected') throw failed.reason;
    if (refused.length === 0) return undefined;
    const seconds = Math.max(1, Math.ceil(Math.max(...refused) / 1000));
    req.log.info({ event: 'login.throttled', ip: req.ip }, 'login throttled');
    return reply
      .code(429)
      .header('retry-after', String(seconds))
      .type('text/html')
      .send(errorPage(429, `Too many login attempts. Please try again in ${seconds} seconds.`));
  };
}

/** IPv4 as is; IPv6 by its /64 (one subscriber's allocation), IPv4-mapped IPv6 as IPv4. */
export function clientKey(ip: string): string {
  if (ip.startsWith('::ffff:') && ip.includes('.')) return ip.slice(7);
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::')
    ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g || '0', 16).toString(16))
    .join(':')}::/64`;
}
