import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { auditLogin } from '../../audit/events.ts';
import type { HubContext } from '../../http/context.ts';
import type { RouteDeps, RouteModule } from '../../http/route-deps.ts';
import { readSessionSecret, setSessionCookie } from '../../http/session-cookie.ts';
import { hashToken, newSecret } from '../../sessions/tokens.ts';
import { safeNext } from '../../web/next-url.ts';
import { errorPage } from '../../web/pages.ts';
import { OidcAuthenticator, type OidcFlow, oidcBasePath } from './oidc-authenticator.ts';

/**
 * The flow cookie: state, nonce and PKCE verifier between the redirect and the callback. Signed, 10 minutes,
 * one per provider (its own name and path), and bound to that provider.
 */
function flowCookie(kind: string): { name: string; path: string } {
  return kind === 'oidc'
    ? { name: 'berth-oidc-flow', path: '/hub/oidc/' }
    : { name: `berth-oidc-flow-${kind.slice('oidc:'.length)}`, path: `${oidcBasePath(kind)}/` };
}

/** The enabled OIDC providers, in configuration order. */
export function oidcAuthenticators(ctx: HubContext): OidcAuthenticator[] {
  return ctx.login.authenticators.filter((a): a is OidcAuthenticator => a instanceof OidcAuthenticator);
}

/** Buttons for the login page, one per OIDC provider, in configuration order. */
export function oidcButtons(ctx: HubContext, next: string): { name: string; href: string }[] {
  return oidcAuthenticators(ctx).map((a) => ({
    name: a.displayName,
    href: `${oidcBasePath(a.kind)}/login?next=${encodeURIComponent(next)}`,
  }));
}

/** Where to send the browser after the hub's logout: the IdP's end-session endpoint, when configured. */
export async function idpLogoutUrl(ctx: HubContext, userId: number): Promise<string | undefined> {
  const user = await ctx.users.byId(userId);
  const a = oidcAuthenticators(ctx).find((x) => x.kind === user?.authenticator);
  if (!a || !user) return undefined;
  const state = ctx.login.openState(user.auth_state);
  const hint = typeof state?.id_token === 'string' ? state.id_token : undefined;
  const url = await a.endSessionUrl(hint, new URL('/hub/login', ctx.config.publicUrl).href);
  return url?.href;
}

function readFlow(req: FastifyRequest, kind: string): OidcFlow | undefined {
  const raw = req.cookies[flowCookie(kind).name];
  if (!raw) return undefined;
  const u = req.unsignCookie(raw);
  if (!u.valid || !u.value) return undefined;
  try {
    const f = JSON.parse(u.value) as Partial<OidcFlow> & { provider?: unknown };
    const ok = [f.state, f.nonce, f.verifier, f.next].every((v) => typeof v === 'string' && v !== '');
    if (!ok || f.provider !== kind) return undefined;
    return { state: f.state, nonce: f.nonce, verifier: f.verifier, next: f.next } as OidcFlow;
  } catch {
    return undefined;
  }
}

export const oidcRoutes: RouteModule = (app, deps) => {
  for (const oidc of oidcAuthenticators(deps.ctx)) providerRoutes(app, deps, oidc);
};

/** `<base>/login` sends the browser to the IdP; `<base>/callback` is where it comes back. */
function providerRoutes(
  app: FastifyInstance,
  { ctx, secureCookies }: RouteDeps,
  oidc: OidcAuthenticator,
): void {
  const base = oidcBasePath(oidc.kind);
  const cookie = flowCookie(oidc.kind);
  const unavailable = (reply: FastifyReply) =>
    reply
      .code(503)
      .type('text/html')
      .send(errorPage(503, 'The login service is unavailable right now. Please try again in a few minutes.'));

  app.get(`${base}/login`, async (req: FastifyRequest<{ Querystring: { next?: string } }>, reply) => {
    let begun: Awaited<ReturnType<OidcAuthenticator['begin']>>;
    try {
      begun = await oidc.begin(safeNext(req.query.next));
    } catch (err) {
      // Down, too slow, or discovery answered for another issuer (code OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED).
      const e = err as Error & { code?: unknown };
      ctx.log.warn(
        { event: 'auth.unavailable', authenticator: oidc.kind, error: e?.name, code: e?.code },
        'OIDC login cannot start',
      );
      return unavailable(reply);
    }
    reply.setCookie(cookie.name, JSON.stringify({ ...begun.flow, provider: oidc.kind }), {
      path: cookie.path,
      httpOnly: true,
      sameSite: 'lax',
      secure: secureCookies,
      signed: true,
      maxAge: 600,
    });
    return reply.redirect(begun.url.href, 302);
  });

  app.get(`${base}/callback`, async (req, reply) => {
    const flow = readFlow(req, oidc.kind);
    // One attempt per flow: the cookie goes whatever happens.
    reply.clearCookie(cookie.name, {
      path: cookie.path,
      httpOnly: true,
      sameSite: 'lax',
      secure: secureCookies,
    });
    const url = new URL(oidc.redirectUri);
    url.search = new URL(req.url, 'http://callback.invalid').search;
    const result = await ctx.login.loginWithCallback(oidc, { kind: 'callback', url, flow });
    await auditLogin(ctx, req, result, oidc.kind);
    if (!result.ok) {
      if (result.reason === 'unavailable') return unavailable(reply);
      return reply
        .code(403)
        .type('text/html')
        .send(errorPage(403, 'Sign-in failed or is not allowed. Please try again from the login page.'));
    }
    const old = readSessionSecret(req);
    if (old) await ctx.sessions.delete(hashToken(old));
    const secret = newSecret();
    const maxAge = ctx.config.sessions.maxAgeSeconds;
    await ctx.sessions.create(hashToken(secret), result.user.id, new Date(Date.now() + maxAge * 1000));
    setSessionCookie(reply, secret, maxAge, secureCookies);
    return reply.redirect(safeNext(flow?.next), 302);
  });
}
