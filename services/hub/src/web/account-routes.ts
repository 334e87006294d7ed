import type { FastifyReply, FastifyRequest } from 'fastify';
import { InvitationsRepo } from '../accounts/invitations-repo.ts';
import { newPasswordProblem } from '../accounts/passwords.ts';
import { normalizeUsername } from '../auth/normalize.ts';
import { hashPassword, verifyPassword } from '../auth/password.ts';
import { loginThrottle } from '../http/login-throttle.ts';
import type { RouteModule } from '../http/route-deps.ts';
import { setSessionCookie } from '../http/session-cookie.ts';
import { hashToken, newSecret } from '../sessions/tokens.ts';
import { acceptInvitationPage, changePasswordPage, signupPage } from './account-pages.ts';
import { requirePageLogin } from './page-auth.ts';
import { errorPage } from './pages.ts';
import { viewerOf } from './viewer.ts';

type Form = Record<string, unknown>;
const INVITE_RE = /^[A-Za-z0-9_-]{20,128}$/;

/**
 * Local accounts: a user changes their own password; an invited person sets theirs from a single-use link; open
 * signup when BERTH_LOCAL_SIGNUP=1. Every form carries the XSRF token; every new account goes through the login
 * pipeline's blocked → allowed → admin checks before a session is made.
 */
export const accountPageRoutes: RouteModule = (app, { ctx, xsrf, secureCookies }) => {
  const localEnabled = ctx.config.auth.authenticators.includes('local');
  const invitations = new InvitationsRepo(ctx.db);
  const limits = {
    perUserPerMinute: ctx.config.sessions.loginAttemptsPerMinute,
    perClientPerMinute: ctx.config.sessions.loginAttemptsPerMinutePerClient,
  };
  // Guessing the current password is throttled like logins, by the signed-in user's name.
  const accountOf = new WeakMap<FastifyRequest, string>();
  const passwordThrottle = loginThrottle(limits, (req) => accountOf.get(req) ?? '');
  const signupThrottle = loginThrottle(
    limits,
    (req) => normalizeUsername((req.body as Form)?.username) ?? '',
  );

  /** A new session for a user the pipeline admitted (a fresh id: no fixation). */
  async function startSession(reply: FastifyReply, userId: number) {
    const secret = newSecret();
    const maxAge = ctx.config.sessions.maxAgeSeconds;
    await ctx.sessions.create(hashToken(secret), userId, new Date(Date.now() + maxAge * 1000));
    setSessionCookie(reply, secret, maxAge, secureCookies);
  }

  /** Create a local account and admit it through the pipeline; a page when that is refused. */
  async function createAndAdmit(
    reply: FastifyReply,
    username: string,
    password: string,
    admin: boolean,
  ): Promise<FastifyReply | undefined> {
    const created = await ctx.users.create(username, { admin, passwordHash: await hashPassword(password) });
    if (!created) return undefined;
    const result = await ctx.login.admit('local', { ok: true, username, ...(admin ? { admin } : {}) });
    if (!result.ok) {
      // Not allowed here (blocked, or outside the allowed sets): no account is left behind.
      await ctx.users.delete(created.id);
      return reply.code(403).type('text/html').send(errorPage(403, 'This account may not sign in here.'));
    }
    await startSession(reply, result.user.id);
    return reply.redirect('/hub/home', 302);
  }

  app.get('/hub/account/password', async (req, reply) => {
    const id = await requirePageLogin(ctx, req, reply);
    if (!id) return reply;
    const local = localEnabled && Boolean(id.user.password_hash);
    return reply.type('text/html').send(changePasswordPage(viewerOf(id), xsrf.token(req, reply), { local }));
  });

  app.post('/hub/account/password', { preHandler: async (req) => xsrf.verify(req) }, async (req, reply) => {
    const id = await requirePageLogin(ctx, req, reply);
    if (!id) return reply;
    const page = (code: number, opts: { error?: string; done?: boolean }) =>
      reply
        .code(code)
        .type('text/html')
        .send(changePasswordPage(viewerOf(id), xsrf.token(req, reply), { local: true, ...opts }));
    const stored = id.user.password_hash;
    if (!localEnabled || !stored || id.via !== 'session') {
      return reply.code(400).type('text/html').send(errorPage(400, 'This account has no Berth password.'));
    }
    accountOf.set(req, id.user.name);
    const throttled = await passwordThrottle(req, reply);
    if (throttled) return throttled;
    const body = (req.body ?? {}) as Form;
    const current = typeof body.current === 'string' ? body.current : '';
    if (!(await verifyPassword(current, stored))) {
      ctx.log.info({ event: 'password.change_refused', user: id.user.name }, 'wrong current password');
      return page(403, { error: 'The current password is wrong.' });
    }
    const problem = newPasswordProblem(body.password, body.confirm);
    if (problem) return page(400, { error: problem });
    await ctx.users.update(id.user.id, { passwordHash: await hashPassword(body.password as string) });
    const ended = await ctx.sessions.deleteOthers(id.user.id, id.sessionId);
    ctx.log.info(
      { event: 'password.changed', user: id.user.name, sessions_ended: ended },
      'password changed',
    );
    return page(200, { done: true });
  });

  app.get('/hub/invite/:secret', async (req: FastifyRequest<{ Params: { secret: string } }>, reply) => {
    const { secret } = req.params;
    const inv = INVITE_RE.test(secret) ? await invitations.peek(secret, new Date()) : undefined;
    if (!inv || !localEnabled) return invalidInvitation(reply);
    return reply.type('text/html').send(
      acceptInvitationPage({
        xsrf: xsrf.token(req, reply),
        action: `/hub/invite/${secret}`,
        username: inv.username,
      }),
    );
  });

  app.post('/hub/invite/:secret', { preHandler: async (req) => xsrf.verify(req) }, async (req, reply) => {
    const { secret } = req.params as { secret: string };
    const now = new Date();
    const peeked = INVITE_RE.test(secret) ? await invitations.peek(secret, now) : undefined;
    if (!peeked || !localEnabled) return invalidInvitation(reply);
    const body = (req.body ?? {}) as Form;
    const problem = newPasswordProblem(body.password, body.confirm);
    if (problem) {
      return reply
        .code(400)
        .type('text/html')
        .send(
          acceptInvitationPage({
            xsrf: xsrf.token(req, reply),
            action: `/hub/invite/${secret}`,
            username: peeked.username,
            error: problem,
          }),
        );
    }
    if (await ctx.users.byName(peeked.username)) return accountExists(reply, peeked.username);
    // Single use: of two tabs submitting at once, one gets the invitation.
    const inv = await invitations.consume(secret, now);
    if (!inv) return invalidInvitation(reply);
    ctx.log.info(
      { event: 'invitation.accepted', user: inv.username, by: inv.createdBy },
      'invitation accepted',
    );
    const done = await createAndAdmit(reply, inv.username, body.password as string, inv.admin);
    return done ?? accountExists(reply, inv.username);
  });

  if (ctx.config.auth.localSignup && localEnabled) {
    app.get('/hub/signup', async (req, reply) =>
      reply.type('text/html').send(signupPage({ xsrf: xsrf.token(req, reply) })),
    );
    app.post(
      '/hub/signup',
      { preHandler: [async (req) => xsrf.verify(req), signupThrottle] },
      async (req, reply) => {
        const body = (req.body ?? {}) as Form;
        const typed = typeof body.username === 'string' ? body.username.trim().slice(0, 64) : '';
        const username = normalizeUsername(body.username);
        const again = (error: string, code = 400) =>
          reply
            .code(code)
            .type('text/html')
            .send(signupPage({ xsrf: xsrf.token(req, reply), username: typed, error }));
        if (!username) {
          return again(
            'Use 1-64 lowercase letters, digits, ".", "_", "@" or "-", starting with a letter or digit.',
          );
        }
        const problem = newPasswordProblem(body.password, body.confirm);
        if (problem) return again(problem);
        const done = await createAndAdmit(reply, username, body.password as string, false);
        if (!done) return again('That name is taken.', 409);
        ctx.log.info({ event: 'signup', user: username }, 'signed up');
        return done;
      },
    );
  }
};

function invalidInvitation(reply: FastifyReply) {
  return reply
    .code(404)
    .type('text/html')
    .send(
      errorPage(404, 'This invitation is not valid: it was used already, it expired, or the link is wrong.'),
    );
}

function accountExists(reply: FastifyReply, name: string) {
  return reply
    .code(409)
    .type('text/html')
    .send(errorPage(409, `An account named ${name} exists already.`));
}
