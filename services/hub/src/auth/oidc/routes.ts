import type { FastifyReply, FastifyRequest } from 'fastify';
import { auditLogin } from '../../audit/events.ts';
import type { HubContext } from '../../http/context.ts';
import type { RouteModule } from '../../http/route-deps.ts';
import { readSessionSecret, setSessionCookie } from '../../http/session-cookie.ts';
import { hashToken, newSecret } from '../../sessions/tokens.ts';
import { safeNext } from '../../web/next-url.ts';
import { errorPage } from '../../web/pages.ts';
import type { OidcAuthenticator, OidcFlow } from './oidc-authenticator.ts';

/** The flow cookie: state, nonce and PKCE verifier between the redirect and the callback. Signed, 10 minutes. */
const FLOW_COOKIE = 'berth-oidc-flow';
const FLOW_PATH = '/hub/oidc/';

export function oidcAuthenticator(ctx: HubContext): OidcAuthenticator | undefined {
  return ctx.login.authenticators.find((a): a is OidcAuthenticator => a.kind === 'oidc');
}

/** Buttons for the login page, one per OIDC provider. */
export function oidcButtons(ctx: HubContext, next: string): { name: string; href: string }[] {
  const a = oidcAuthenticator(ctx);
  return a ? [{ name: a.displayName, href: `/hub/oidc/login?next=${encodeURIComponent(next)}` }] : [];
}

/** Where to send the browser after the hub's logout: the IdP's end-session endpoint, when configured. */
export async function idpLogoutUrl(ctx: HubContext, userId: number): Promise<string | undefined> {
  const a = oidcAuthenticator(ctx);
  if (!a) return undefined;
  const user = await ctx.users.byId(userId);
  if (user?.authenticator !== 'oidc') return undefined;
  const state = ctx.login.openState(user.auth_state);
  const hint = typeof state?.id_token === 'string' ? state.id_token : undefined;
  const url = await a.endSessionUrl(hint, new URL('/hub/login', ctx.config.publicUrl).href);
  return url?.href;
}

function readFlow(req: FastifyRequest): OidcFlow | undefined {
  const raw = req.cookies[FLOW_COOKIE];
  if (!raw) return undefined;
  const u = req.unsignCookie(raw);
  if (!u.valid || !u.value) return undefined;
  try {
    const f = JSON.parse(u.value) as Partial<OidcFlow>;
    const ok = [f.state, f.nonce, f.verifier, f.next].every((v) => typeof v === 'string' && v !== '');
    return ok ? (f as OidcFlow) : undefined;
  } catch {
    return undefined;
  }
}

export const oidcRoutes: RouteModule = (app, { ctx, secureCookies }) => {
  const oidc = oidcAuthenticator(ctx);
  if (!oidc) return;
  const unavailable = (reply: FastifyReply) =>
    reply
      .code(503)
      .type('text/html')
      .send(errorPage(503, 'The login service is unavailable right now. Please try again in a few minutes.'));

  app.get('/hub/oidc/login', async (req: FastifyRequest<{ Querystring: { next?: string } }>, reply) => {
    let begun: Awaited<ReturnType<OidcAuthenticator['begin']>>;
    try {
      begun = await oidc.begin(safeNext(req.query.next));
    } catch (err) {
      // Down, too slow, or discovery answered for another issuer (code OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED).
      const e = err as Error & { code?: unknown };
      ctx.log.warn(
        { event: 'auth.unavailable', authenticator: 'oidc', error: e?.name, code: e?.code },
        'OIDC login cannot start',
      );
      return unavailable(reply);
    }
    reply.setCookie(FLOW_COOKIE, JSON.stringify(begun.flow), {
      path: FLOW_PATH,
      httpOnly: true,
      sameSite: 'lax',
      secure: secureCookies,
      signed: true,
      maxAge: 600,
    });
    return reply.redirect(begun.url.href, 302);
  });

  app.get('/hub/oidc/callback', async (req, reply) => {
    const flow = readFlow(req);
    // One attempt per flow: the cookie goes whatever happens.
    reply.clearCookie(FLOW_COOKIE, {
      path: FLOW_PATH,
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
};
