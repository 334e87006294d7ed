import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import { CompiledQuery, type Kysely, sql } from 'kysely';
import { IdentityResolver } from '../auth/identity.ts';
import { hashToken } from '../sessions/tokens.ts';
import { startPostgres } from '../testing/postgres.ts';
import { ChangeFeed, VersionedCache } from './change-feed.ts';
import { ChangeListener } from './change-listener.ts';
import { createDatabase, migrateToLatest } from './database.ts';
import type { Database } from './schema.ts';
import { SessionsRepo } from './sessions-repo.ts';
import { TokensRepo } from './tokens-repo.ts';
import { UsersRepo } from './users-repo.ts';
import { touchesWatched } from './watched-dialect.ts';

/** The listener's log: quiet, but it keeps the payloads of the notifications it received. */
const notified: string[] = [];
const quiet = {
  debug: (obj: object) => void notified.push(String((obj as { table?: unknown }).table)),
  info: () => undefined,
  warn: () => undefined,
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function eventually(what: string, ok: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await ok()) return;
    await sleep(20);
  }
  assert.fail(`${what}: not within ${ms} ms`);
}

describe('VersionedCache', () => {
  it('answers nothing until the feed is live, then keeps what it loaded until the next bump', async () => {
    const feed = new ChangeFeed();
    const cache = new VersionedCache<string, number>(feed, 10);
    let loads = 0;
    const load = () => cache.load('k', async () => ++loads);
    assert.equal(await load(), 1);
    assert.equal(await load(), 2, 'not live: every read loads, nothing is stored');
    feed.setLive(true);
    assert.equal(await load(), 3);
    assert.equal(await load(), 3, 'live: the second read is a hit');
    feed.bump();
    assert.equal(await load(), 4, 'a write voids what was cached');
    feed.setLive(false);
    assert.equal(cache.get('k'), undefined, 'a lost listener voids everything');
  });

  it('does not store a value read while a write happened', async () => {
    const feed = new ChangeFeed();
    feed.setLive(true);
    const cache = new VersionedCache<string, string>(feed, 10);
    const v = await cache.load('k', async () => {
      feed.bump(); // a write lands while the read is under way: what was read may be the old row
      return 'old';
    });
    assert.equal(v, 'old');
    assert.equal(cache.get('k'), undefined);
  });

  it('holds at most its bound, dropping the oldest entry', async () => {
    const feed = new ChangeFeed();
    feed.setLive(true);
    const cache = new VersionedCache<number, number>(feed, 3);
    for (const k of [1, 2, 3, 4]) await cache.load(k, async () => k * 10);
    assert.equal(cache.size, 3);
    assert.equal(cache.get(1), undefined);
    assert.equal(cache.get(4), 40);
  });

  it('does not keep what `store` refuses (an unknown token is looked up every time)', async () => {
    const feed = new ChangeFeed();
    feed.setLive(true);
    const cache = new VersionedCache<string, number | undefined>(feed, 3);
    await cache.load(
      'nope',
      async () => undefined,
      (v) => v !== undefined,
    );
    assert.equal(cache.size, 0);
  });
});

describe('touchesWatched: which statements void the caches', () => {
  const q = (text: string) => CompiledQuery.raw(text);
  it('writes to watched tables and deletes that cascade to tokens do; reads and other tables do not', () => {
    assert.equal(touchesWatched(q('update "users" set "admin" = $1 where "id" = $2')), true);
    assert.equal(touchesWatched(q('delete from "api_tokens" where "id" = $1')), true);
    assert.equal(
      touchesWatched(q('insert into "user_group_map" ("user_id", "group_id") values ($1, $2)')),
      true,
    );
    assert.equal(
      touchesWatched(q('delete from "sessions" where "id" = $1')),
      true,
      'logout cascades to tokens',
    );
    assert.equal(touchesWatched(q('delete from "oauth_clients" where "id" = $1')), true);
    assert.equal(touchesWatched(q('select * from "users" where "id" = $1')), false);
    assert.equal(touchesWatched(q('insert into "audit_log" ("event") values ($1)')), false);
    assert.equal(touchesWatched(q('update "sessions" set "last_activity" = $1 where "id" = $2')), false);
  });
});

describe('identity cache on a real Postgres: every write counts on the next call', () => {
  let pg: StartedPostgreSqlContainer;
  let feed: ChangeFeed;
  let db: Kysely<Database>;
  /** Another process's connection (the `berth` CLI, psql): its writes reach the hub only through NOTIFY. */
  let other: Kysely<Database>;
  let listener: ChangeListener;
  let resolver: IdentityResolver;
  let lookups = 0;

  /** The real repository, counting the lookups that reach the database. */
  class CountingTokensRepo extends TokensRepo {
    override byHashWithUser(hash: string, now: Date) {
      lookups++;
      return super.byHashWithUser(hash, now);
    }
  }

  const users = () => new UsersRepo(db);
  /**
   * Our own writes also come back as notifications, a little later. Postgres delivers notifications in commit
   * order, so once a marker sent after them has arrived, theirs have too.
   */
  async function settle(): Promise<void> {
    const marker = `test-marker-${Math.random().toString(36).slice(2)}`;
    await other.executeQuery(sql`select pg_notify('berth_changes', ${marker})`.compile(other));
    // The marker itself, not any bump: an earlier write's notification may still be on its way.
    await eventually('the marker notification', () => notified.includes(marker));
  }
  async function tokenFor(name: string, sessionId: string | null = null): Promise<string> {
    const u =
      (await users().create(name, { admin: false, passwordHash: null })) ?? (await users().byName(name));
    assert.ok(u);
    const token = `tok-${name}-${Math.random().toString(36).slice(2)}`;
    await new TokensRepo(db).insert({
      userId: u.id,
      hash: hashToken(token),
      prefix: token.slice(0, 4),
      kind: 'api',
      scopes: ['inherit'],
      sessionId,
    });
    return token;
  }

  before(async () => {
    pg = await startPostgres();
    feed = new ChangeFeed();
    db = createDatabase(pg.getConnectionUri(), 4, () => undefined, feed);
    await migrateToLatest(db);
    other = createDatabase(pg.getConnectionUri(), 2);
    listener = new ChangeListener(pg.getConnectionUri(), feed, quiet);
    await listener.start();
    assert.equal(feed.live, true);
    resolver = new IdentityResolver({
      users: new UsersRepo(db),
      tokens: new CountingTokensRepo(db),
      sessions: new SessionsRepo(db),
      changes: feed,
    });
  });
  after(async () => {
    await listener?.close();
    await other?.destroy();
    await db?.destroy();
    await pg?.stop();
  });

  it('a known token is looked up once, then answered from memory (token activity does not void it)', async () => {
    const t = await tokenFor('amy');
    await settle();
    const before = lookups;
    for (let i = 0; i < 20; i++) assert.equal((await resolver.fromToken(t))?.user.name, 'amy');
    assert.equal(lookups - before, 1);
  });

  it('an unknown token is looked up every time', async () => {
    const before = lookups;
    for (let i = 0; i < 3; i++) assert.equal(await resolver.fromToken('not-a-token'), undefined);
    assert.equal(lookups - before, 3);
  });

  it("the hub's own revocation counts on the very next call", async () => {
    const t = await tokenFor('bob');
    assert.ok(await resolver.fromToken(t));
    await db.deleteFrom('api_tokens').where('hash', '=', hashToken(t)).execute();
    assert.equal(await resolver.fromToken(t), undefined);
  });

  it('a write committed inside a transaction counts once committed, even if read meanwhile', async () => {
    const t = await tokenFor('cat');
    assert.equal((await resolver.fromToken(t))?.user.admin, false);
    await db.transaction().execute(async (tx) => {
      await tx.updateTable('users').set({ admin: true }).where('name', '=', 'cat').execute();
      // a concurrent request reads (and may cache) the old, committed row
      assert.equal((await resolver.fromToken(t))?.user.admin, false);
    });
    assert.equal((await resolver.fromToken(t))?.user.admin, true);
  });

  it("another process's revocation reaches the hub through Postgres (NOTIFY)", async () => {
    const t = await tokenFor('dan');
    assert.ok(await resolver.fromToken(t));
    await other.deleteFrom('api_tokens').where('hash', '=', hashToken(t)).execute();
    await eventually('the revoked token refused', async () => (await resolver.fromToken(t)) === undefined);
  });

  it("another process ending a session ends that session's tokens (cascade)", async () => {
    const u = await users().create('eve', { admin: false, passwordHash: null });
    assert.ok(u);
    await new SessionsRepo(db).create('sess-eve', u.id, new Date(Date.now() + 3_600_000));
    const t = await tokenFor('eve', 'sess-eve');
    assert.ok(await resolver.fromToken(t));
    await other.deleteFrom('sessions').where('id', '=', 'sess-eve').execute();
    await eventually('the session token refused', async () => (await resolver.fromToken(t)) === undefined);
  });

  it("another process blocking admin rights: the token's scopes shrink", async () => {
    const t = await tokenFor('fay');
    await db.updateTable('users').set({ admin: true }).where('name', '=', 'fay').execute();
    assert.ok((await resolver.fromToken(t))?.scopes.includes('admin:users'));
    await other.updateTable('users').set({ admin: false }).where('name', '=', 'fay').execute();
    await eventually(
      'admin scopes gone',
      async () => !(await resolver.fromToken(t))?.scopes.includes('admin:users'),
    );
  });

  it('while the listener is down nothing is cached; it reconnects and caching resumes', async () => {
    const t = await tokenFor('gil');
    await resolver.fromToken(t);
    await other.executeQuery(
      sql`select pg_terminate_backend(pid) from pg_stat_activity where query ilike 'listen%'`.compile(other),
    );
    await eventually('the listener noticed', () => !feed.live);
    // Not live: a write from elsewhere now (nobody would hear it) must still count.
    await other.updateTable('api_tokens').set({ note: 'x' }).where('hash', '=', hashToken(t)).execute();
    const before = lookups;
    await resolver.fromToken(t);
    await resolver.fromToken(t);
    assert.ok(lookups - before >= 1, 'looked up while the listener is down');
    await eventually('reconnected', () => feed.live);
    await settle();
    await resolver.fromToken(t);
    const settled = lookups;
    await resolver.fromToken(t);
    assert.equal(lookups, settled, 'cached again after reconnecting');
  });

  it('an expired token is refused at once, though cached', async () => {
    const t = await tokenFor('hal');
    await db
      .updateTable('api_tokens')
      .set({ expires_at: new Date(Date.now() + 1500) })
      .where('hash', '=', hashToken(t))
      .execute();
    assert.ok(await resolver.fromToken(t));
    await sleep(1600);
    assert.equal(await resolver.fromToken(t), undefined);
  });
});
