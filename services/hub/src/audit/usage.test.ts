import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { issueApiToken } from '../api/tokens.ts';
import { type Harness, startHarness } from '../testing/hub-harness.ts';
import { csvCell, csvRows } from './csv.ts';

describe('CSV cells', () => {
  it('neutralises formulas and quotes separators, leaving numbers alone', () => {
    assert.equal(csvCell('=1+2'), "'=1+2");
    assert.equal(csvCell('+SUM(A1)'), "'+SUM(A1)");
    assert.equal(csvCell('-2'), "'-2");
    assert.equal(csvCell('@cmd'), "'@cmd");
    assert.equal(csvCell('\tx'), "'\tx");
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
    assert.equal(csvCell('=HYPERLINK("http://x","y")'), `"'=HYPERLINK(""http://x"",""y"")"`);
    assert.equal(csvCell('line\nbreak'), '"line\nbreak"');
    assert.equal(csvCell(-1.5), '-1.5');
    assert.equal(csvCell(null), '');
    assert.equal(csvRows(['a', 'b'], [['x', 1]]), 'a,b\r\nx,1\r\n');
  });
});

/** Server-hours per user, group and profile, from intervals the database records itself (real Postgres). */
describe('usage accounting (real Postgres)', () => {
  let h: Harness;
  let adminToken: string;
  let aliceToken: string;
  const api = (path: string, token: string, headers: Record<string, string> = {}) =>
    fetch(`${h.base}/hub/api${path}`, { headers: { authorization: `token ${token}`, ...headers } });

  before(async () => {
    h = await startHarness();
    await h.addUser('alice', 'pw-alice-1234');
    await h.addUser('root', 'pw-root-1234', true);
    const root = await h.hub.ctx.users.byName('root');
    const alice = await h.hub.ctx.users.byName('alice');
    assert.ok(root && alice);
    adminToken = (await issueApiToken(h.hub.ctx, root, {})).token;
    aliceToken = (await issueApiToken(h.hub.ctx, alice, {})).token;
  });
  after(() => h?.close());

  it("opens an interval when a server starts and closes it when it stops, with the owner's groups", async () => {
    await sql`update users set groups = '["physics"]'::jsonb where name = 'alice'`.execute(h.hub.ctx.db);
    const start = await fetch(`${h.base}/hub/api/users/alice/server`, {
      method: 'POST',
      headers: { authorization: `token ${adminToken}` },
    });
    assert.equal(start.status, 201);
    const open = await sql<{ user_name: string; groups: string[]; stopped: Date | null }>`
      select user_name, groups, stopped from server_usage`.execute(h.hub.ctx.db);
    assert.deepEqual(
      open.rows.map((r) => [r.user_name, r.groups, r.stopped]),
      [['alice', ['physics'], null]],
    );
    // A running server counts up to now.
    const running = (await (await api('/usage?by=group', adminToken)).json()) as {
      rows: { key: string; servers: number }[];
    };
    assert.deepEqual(
      running.rows.map((r) => [r.key, r.servers]),
      [['physics', 1]],
    );
    const stop = await fetch(`${h.base}/hub/api/users/alice/server`, {
      method: 'DELETE',
      headers: { authorization: `token ${adminToken}` },
    });
    assert.equal(stop.status, 204);
    const closed = await sql<{ stopped: Date | null }>`select stopped from server_usage`.execute(
      h.hub.ctx.db,
    );
    assert.ok(closed.rows[0]?.stopped instanceof Date, 'closed at stop');
  });

  it('sums the part of each interval inside the range, by user, group and profile', async () => {
    await sql`delete from server_usage`.execute(h.hub.ctx.db);
    // alice: 10:00-12:00 (2 h) and 13:00-13:30 (0.5 h); bob: 11:00-15:00, cut by the range end at 14:00 (3 h).
    await sql`insert into server_usage (server_id, user_id, user_name, server_name, groups, profile, started, stopped)
      values (1, 1, 'alice', '', '["physics","=cmd|calc"]', 'small', '2026-01-01T10:00Z', '2026-01-01T12:00Z'),
             (2, 1, 'alice', 'gpu', '["physics","=cmd|calc"]', '+gpu,"big"', '2026-01-01T13:00Z', '2026-01-01T13:30Z'),
             (3, 2, 'bob', '', '[]', null, '2026-01-01T11:00Z', '2026-01-01T15:00Z'),
             (4, 2, 'bob', '', '[]', null, '2025-12-31T01:00Z', '2025-12-31T02:00Z')`.execute(h.hub.ctx.db);
    const range = 'from=2026-01-01T00:00:00Z&to=2026-01-01T14:00:00Z';
    const get = async (by: string) =>
      (
        (await (await api(`/usage?${range}&by=${by}`, adminToken)).json()) as {
          rows: { key: string; server_hours: number; servers: number }[];
        }
      ).rows.map((r) => [r.key, r.server_hours, r.servers]);
    assert.deepEqual(await get('user'), [
      ['bob', 3, 1],
      ['alice', 2.5, 2],
    ]);
    assert.deepEqual(await get('group'), [
      ['(none)', 3, 1],
      ['=cmd|calc', 2.5, 2],
      ['physics', 2.5, 2],
    ]);
    assert.deepEqual(await get('profile'), [
      ['(none)', 3, 1],
      ['small', 2, 1],
      ['+gpu,"big"', 0.5, 1],
    ]);
  });

  it('exports CSV with Accept: text/csv or format=csv, formulas neutralised', async () => {
    const range = 'from=2026-01-01T00:00:00Z&to=2026-01-01T14:00:00Z';
    const byAccept = await api(`/usage?${range}&by=profile`, adminToken, { accept: 'text/csv' });
    assert.equal(byAccept.status, 200);
    assert.match(byAccept.headers.get('content-type') ?? '', /^text\/csv/);
    assert.match(
      byAccept.headers.get('content-disposition') ?? '',
      /attachment; filename="berth-usage-by-profile-/,
    );
    const lines = (await byAccept.text()).trimEnd().split('\r\n');
    assert.deepEqual(lines, [
      'profile,server_hours,servers,from,to',
      '(none),3,1,2026-01-01T00:00:00.000Z,2026-01-01T14:00:00.000Z',
      'small,2,1,2026-01-01T00:00:00.000Z,2026-01-01T14:00:00.000Z',
      `"'+gpu,""big""",0.5,1,2026-01-01T00:00:00.000Z,2026-01-01T14:00:00.000Z`,
    ]);
    const byFormat = await (await api(`/usage?${range}&by=group&format=csv`, adminToken)).text();
    assert.ok(byFormat.includes("\r\n'=cmd|calc,2.5,2,"), byFormat);
    assert.ok(!/\r\n[=+\-@]/.test(byFormat), 'no cell starts with a formula character');
  });

  it('is for admins only; bad ranges and modes get 400', async () => {
    assert.equal((await api('/usage', aliceToken)).status, 403);
    for (const bad of [
      'from=tomorrow',
      'by=planet',
      'format=xlsx',
      'from=2026-02-01&to=2026-01-01',
      'to=2026-99-01',
    ]) {
      const res = await api(`/usage?${bad}`, adminToken);
      assert.equal(res.status, 400, bad);
    }
  });
  it('a stopped server keeps its record: starting it again opens a new interval, removing it closes none twice', async () => {
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${h.base}/hub/api/users/alice${path}`, {
        method,
        headers: {
          authorization: `token ${adminToken}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    const rows = async () =>
      (
        await sql<{ server_name: string; stopped: Date | null }>`
          select server_name, stopped from server_usage where server_name = 'again' order by id`.execute(
          h.hub.ctx.db,
        )
      ).rows.map((r) => [r.server_name, r.stopped instanceof Date]);
    assert.equal((await call('POST', '/servers/again')).status, 201);
    assert.equal((await call('DELETE', '/servers/again')).status, 204);
    assert.deepEqual(await rows(), [['again', true]], 'closed at stop though the record stays');
    assert.equal((await call('POST', '/servers/again')).status, 201);
    assert.deepEqual(
      await rows(),
      [
        ['again', true],
        ['again', false],
      ],
      'a new interval for the new start',
    );
    assert.equal((await call('DELETE', '/servers/again', { remove: true })).status, 204);
    assert.deepEqual(
      await rows(),
      [
        ['again', true],
        ['again', true],
      ],
      'closed by the removal',
    );
  });
});
