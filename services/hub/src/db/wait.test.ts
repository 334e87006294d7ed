import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { createDatabase } from './database.ts';
import { DatabaseWaitError, waitFor, waitForDatabase } from './wait.ts';

/** An error as node-postgres raises it: a socket code or a SQLSTATE. */
function pgError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** A port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

describe('waitFor (the database at start)', () => {
  it('retries while Postgres is not up yet (unknown host, refused, starting up), then goes on', async () => {
    // What a hub sees on a swarm whose postgres task is still being scheduled, then starting.
    const failures = [
      pgError('EAI_AGAIN', 'getaddrinfo EAI_AGAIN postgres'),
      pgError('ECONNREFUSED', 'connect ECONNREFUSED 10.0.1.5:5432'),
      pgError('57P03', 'the database system is starting up'),
    ];
    let calls = 0;
    const logged: string[] = [];
    await waitFor(
      async () => {
        calls++;
        const next = failures.shift();
        if (next) throw next;
      },
      { timeoutMs: 5_000, intervalMs: 1, log: { info: (_o, msg) => logged.push(msg) } },
    );
    assert.equal(calls, 4);
    assert.deepEqual(logged, ['waiting for the database', 'the database answers']);
  });

  it('throws any other failure at once (a wrong password is not waited out)', async () => {
    let calls = 0;
    await assert.rejects(
      waitFor(
        async () => {
          calls++;
          throw pgError('28P01', 'password authentication failed for user "berth"');
        },
        { timeoutMs: 5_000, intervalMs: 1 },
      ),
      /password authentication failed/,
    );
    assert.equal(calls, 1);
  });

  it('gives up after the wait with DATABASE_UNAVAILABLE and the last reason', async () => {
    const err = await waitFor(
      async () => {
        throw pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432');
      },
      { timeoutMs: 30, intervalMs: 5 },
    ).then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof DatabaseWaitError);
    assert.equal(err.code, 'DATABASE_UNAVAILABLE');
    assert.match(err.message, /BERTH_DB_WAIT_SECONDS.*ECONNREFUSED/);
  });

  it('asks a real pool: a closed port is refused, retried, and reported', async () => {
    const db = createDatabase(`postgres://berth:x@127.0.0.1:${await closedPort()}/berth`, 1);
    try {
      const logged: string[] = [];
      const log = { info: (_o: object, msg: string) => logged.push(msg) };
      await assert.rejects(waitForDatabase(db, { timeoutMs: 300, intervalMs: 50, log }), (e: unknown) => {
        assert.ok(e instanceof DatabaseWaitError);
        assert.equal((e.cause as { code?: string }).code, 'ECONNREFUSED');
        return true;
      });
      assert.deepEqual(logged, ['waiting for the database'], 'it waited before giving up');
    } finally {
      await db.destroy();
    }
  });
});
