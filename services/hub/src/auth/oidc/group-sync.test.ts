import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { BrowserClient } from '../../testing/browser-client.ts';
import { type Harness, startHarness } from '../../testing/hub-harness.ts';
import { signInAtProvider, startTestProvider, type TestProvider } from './testing/provider.ts';

const CALLBACK = 'http://127.0.0.1/hub/oidc/callback';
const SECRET = 'berth-client-secret-for-tests-only';

/** BERTH_MANAGE_GROUPS=1: hub group membership follows the IdP's groups claim at every login (real oidc-provider). */
describe('syncing IdP groups into hub groups', () => {
  let op: TestProvider;
  let agent: Agent;
  let synced: Harness;
  let plain: Harness;
  const accounts = { bob: { groups: ['researchers', 'physics'] } };

  before(async () => {
    op = await startTestProvider(
      [{ client_id: 'berth', client_secret: SECRET, redirect_uris: [CALLBACK] }],
      accounts,
    );
    agent = new Agent({ connect: { ca: op.ca.ca } });
    const keyFile = join(op.ca.dir, 'auth-state.key');
    writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    const env = {
      BERTH_AUTHENTICATORS: 'oidc',
      BERTH_ALLOWED_GROUPS: 'researchers',
      BERTH_OIDC_ISSUER: op.issuer,
      BERTH_OIDC_CLIENT_ID: 'berth',
      BERTH_OIDC_CLIENT_SECRET: SECRET,
      BERTH_OIDC_CA_FILE: op.ca.caFile,
      BERTH_AUTH_STATE_KEY_FILE: keyFile,
    };
    synced = await startHarness({ env: { ...env, BERTH_MANAGE_GROUPS: '1' } });
    plain = await startHarness({ env });
  });
  after(async () => {
    await synced?.close();
    await plain?.close();
    await op?.stop();
    await agent?.close();
  });

  async function oidcLogin(h: Harness, user: string) {
    const c = new BrowserClient(h.base);
    const start = await c.request('GET', '/hub/oidc/login');
    const query = await signInAtProvider(op, agent, start.headers.get('location') ?? '', user, CALLBACK);
    const res = await c.request('GET', `/hub/oidc/callback${query}`);
    assert.equal(res.status, 302, res.body.slice(0, 200));
  }
  /** Hub group membership as the groups table holds it (users.groups only mirrors the last login). */
  const members = async (h: Harness, ...groups: string[]) => {
    const rows = await h.hub.ctx.db
      .selectFrom('user_group_map')
      .innerJoin('groups', 'groups.id', 'user_group_map.group_id')
      .innerJoin('users', 'users.id', 'user_group_map.user_id')
      .select(['groups.name as group', 'users.name as user'])
      .where('groups.name', 'in', groups)
      .execute();
    const out: Record<string, string[]> = {};
    for (const r of rows) out[r.group] = [...(out[r.group] ?? []), r.user];
    return out;
  };

  it('creates the groups and adds the user at login, and follows the IdP when the groups change', async () => {
    await oidcLogin(synced, 'bob');
    assert.deepEqual(await members(synced, 'researchers', 'physics'), {
      researchers: ['bob'],
      physics: ['bob'],
    });

    op.setAccounts({ bob: { groups: ['researchers', 'chemistry'] } });
    try {
      await oidcLogin(synced, 'bob');
      const now = await members(synced, 'researchers', 'physics', 'chemistry');
      assert.deepEqual(now.researchers, ['bob']);
      assert.deepEqual(now.chemistry, ['bob']);
      assert.deepEqual(now.physics ?? [], [], 'left physics at the IdP: left it in the hub');
    } finally {
      op.setAccounts(accounts);
    }
  });

  it('leaves hub groups alone when syncing is off (the default)', async () => {
    await oidcLogin(plain, 'bob');
    const m = await members(plain, 'researchers', 'physics');
    assert.deepEqual(m.researchers ?? [], []);
    assert.deepEqual(m.physics ?? [], []);
  });
});
