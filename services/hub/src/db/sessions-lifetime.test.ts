import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { BrowserClient, login } from '../testing/browser-client.ts';
import { type Harness, startHarness } from '../testing/hub-harness.ts';

/** Sessions end after BERTH_SESSION_IDLE_SECONDS without a request, and after the absolute lifetime regardless. */
describe('session lifetimes: idle and absolute (real Postgres)', () => {
  let h: Harness;

  before(async () => {
    h = await startHarness({
      env: { BERTH_SESSION_IDLE_SECONDS: '600', BERTH_SESSION_MAX_AGE_SECONDS: '86400' },
    });
    await h.addUser('alice', 'correct horse battery');
  });
  after(async () => h?.close());

  /** A fresh login; alice's sessions from earlier cases are gone, so `setAll` touches only this one. */
  async function loggedIn(): Promise<{ c: BrowserClient; userId: number }> {
    await h.hub.ctx.db.deleteFrom('sessions').execute();
    const c = new BrowserClient(h.base);
    const res = await login(c, 'alice', 'correct horse battery');
    assert.equal(res.status, 200);
    const user = await h.hub.ctx.users.byName('alice');
    assert.ok(user);
    return { c, userId: user.id };
  }
  const setAll = (userId: number, column: 'last_activity' | 'expires_at', agoSeconds: number) =>
    sql`UPDATE sessions SET ${sql.ref(column)} = now() - make_interval(secs => ${agoSeconds}) WHERE user_id = ${userId}`.execute(
      h.hub.ctx.db,
    );
  const home = async (c: BrowserClient) => (await c.request('GET', '/hub/home')).status;

  it('ends a session unused for longer than the idle lifetime', async () => {
    const { c, userId } = await loggedIn();
    assert.equal(await home(c), 200);
    await setAll(userId, 'last_activity', 11 * 60);
    assert.equal(await home(c), 302, 'idle 11 minutes > 10: back to the login page');
  });

  it('keeps a session that is used, and records its use (to the minute)', async () => {
    const { c, userId } = await loggedIn();
    await setAll(userId, 'last_activity', 9 * 60);
    assert.equal(await home(c), 200, 'idle 9 minutes < 10: still logged in');
    const row = await h.hub.ctx.db
      .selectFrom('sessions')
      .select('last_activity')
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    assert.ok(Date.now() - row.last_activity.getTime() < 60_000, 'the request counted as activity');
    // 9 more minutes idle after that use: still inside the idle lifetime, because the clock restarted.
    await setAll(userId, 'last_activity', 9 * 60);
    assert.equal(await home(c), 200);
  });

  it('ends a busy session at its absolute lifetime all the same', async () => {
    const { c, userId } = await loggedIn();
    assert.equal(await home(c), 200);
    await setAll(userId, 'expires_at', 1);
    assert.equal(await home(c), 302);
  });
});
