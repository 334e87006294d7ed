import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import type { Kysely } from 'kysely';
import pino from 'pino';
import { AccessRepo } from '../db/access-repo.ts';
import { createDatabase, migrateToLatest } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { startPostgres } from '../testing/postgres.ts';
import type { AccessSets } from './access-policy.ts';
import type { Authenticator, AuthInput } from './authenticator.ts';
import { LoginPipeline } from './login-pipeline.ts';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/**
 * What an authenticator's test provides: a real backend seeded with three users and two groups.
 * `admin` is in both groups, `member` only in the allowed group, `outsider` in neither.
 */
export interface ConformanceFixture {
  readonly authenticator: Authenticator;
  readonly admin: Credentials;
  readonly member: Credentials;
  readonly outsider: Credentials;
  readonly allowedGroup: string;
  readonly adminGroup: string;
  /** Change the backend's group membership (as its own admin would). */
  setMember(username: string, group: string, member: boolean): Promise<void>;
  /**
   * For redirect authenticators (OIDC): sign in at the real IdP and return the callback input. Password
   * authenticators leave it out and get the shared login form's path.
   */
  signIn?(credentials: Credentials): Promise<AuthInput>;
  close(): Promise<void>;
}

const NONE: AccessSets = {
  allowedUsers: [],
  blockedUsers: [],
  allowedGroups: [],
  adminUsers: [],
  adminGroups: [],
  allowAll: false,
};

/**
 * The one suite every authenticator passes, through the closed login pipeline on a real Postgres:
 * right credentials log in, wrong ones are refused, blocked and not-allowed users are refused, an admin group
 * grants admin and losing the group revokes it at the next login.
 */
export function authenticatorConformance(
  name: string,
  makeFixture: (db: Kysely<Database>) => Promise<ConformanceFixture>,
  /** Cases this authenticator cannot run, each with its reason (reported as a skip, never silently dropped). */
  skip: { readonly [K in 'wrongCredentials' | 'blankPasswords']?: string } = {},
): void {
  const f0 = (k: keyof typeof skip) => skip[k] ?? false;
  describe(`Authenticator conformance: ${name}`, () => {
    let pg: StartedPostgreSqlContainer;
    let db: Kysely<Database>;
    let f: ConformanceFixture;
    let repo: AccessRepo;
    const log = pino({ level: process.env.BERTH_TEST_LOG_LEVEL ?? 'silent' });

    before(async () => {
      pg = await startPostgres();
      db = createDatabase(pg.getConnectionUri(), 2);
      await migrateToLatest(db);
      repo = new AccessRepo(db);
      f = await makeFixture(db);
    });
    after(async () => {
      await f?.close();
      await db?.destroy();
      await pg?.stop();
    });

    /** A pipeline with these sets, and one login through it as the authenticator's users do it. */
    const pipeline = (sets: Partial<AccessSets>) => {
      const p = new LoginPipeline({
        authenticators: [f.authenticator],
        sets: { ...NONE, ...sets },
        repo,
        log,
      });
      return {
        async loginWithPassword(username: string, password: string) {
          if (!f.signIn) return p.loginWithPassword(username, password);
          return p.loginWithCallback(f.authenticator, await f.signIn({ username, password }));
        },
      };
    };
    const groupSets = () => ({ allowedGroups: [f.allowedGroup], adminGroups: [f.adminGroup] });

    it('logs in with the right credentials and keeps the groups', async () => {
      const r = await pipeline(groupSets()).loginWithPassword(f.member.username, f.member.password);
      assert.ok(r.ok, `refused: ${JSON.stringify(r)}`);
      assert.equal(r.user.name, f.member.username);
      assert.equal(r.user.admin, false);
      assert.ok(r.user.groups.includes(f.allowedGroup));
      assert.equal(r.authenticator, f.authenticator.kind);
    });

    it('refuses a wrong password and an unknown user alike', { skip: f0('wrongCredentials') }, async () => {
      const p = pipeline(groupSets());
      const wrong = await p.loginWithPassword(f.member.username, `${f.member.password}x`);
      const unknown = await p.loginWithPassword('nobody-here', 'whatever-password');
      assert.deepEqual(wrong, { ok: false, reason: 'invalid' });
      assert.deepEqual(unknown, { ok: false, reason: 'invalid' });
      assert.equal(await repo.byName('nobody-here'), undefined);
    });

    it('refuses empty and whitespace passwords', { skip: f0('blankPasswords') }, async () => {
      for (const pw of ['', '   ', '\t\n']) {
        const r = await pipeline(groupSets()).loginWithPassword(f.member.username, pw);
        assert.deepEqual(r, { ok: false, reason: 'invalid' });
      }
    });

    it('refuses a blocked user with the right password', async () => {
      const p = pipeline({ ...groupSets(), blockedUsers: [f.admin.username] });
      const r = await p.loginWithPassword(f.admin.username, f.admin.password);
      assert.deepEqual(r, { ok: false, reason: 'blocked' });
    });

    it('refuses a user outside the allowed groups, and lets them in by name', async () => {
      const r = await pipeline(groupSets()).loginWithPassword(f.outsider.username, f.outsider.password);
      assert.deepEqual(r, { ok: false, reason: 'not_allowed' });
      const byName = pipeline({ ...groupSets(), allowedUsers: [f.outsider.username] });
      const ok = await byName.loginWithPassword(f.outsider.username, f.outsider.password);
      assert.ok(ok.ok);
    });

    it('grants admin through the admin group, and revokes it when the group is lost', async () => {
      const p = pipeline(groupSets());
      const first = await p.loginWithPassword(f.admin.username, f.admin.password);
      assert.ok(first.ok);
      assert.equal(first.user.admin, true);
      await f.setMember(f.admin.username, f.adminGroup, false);
      try {
        const second = await p.loginWithPassword(f.admin.username, f.admin.password);
        assert.ok(second.ok, 'still allowed through the allowed group');
        assert.equal(second.user.admin, false);
        assert.equal((await repo.byName(f.admin.username))?.admin, false);
      } finally {
        await f.setMember(f.admin.username, f.adminGroup, true);
      }
      const third = await p.loginWithPassword(f.admin.username, f.admin.password);
      assert.ok(third.ok);
      assert.equal(third.user.admin, true);
    });
  });
}
