/** Reading task states: what start() waits for and what status() reports, node loss included. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TaskInfo } from './client.ts';
import { currentTask, isMissingImage, readTask } from './tasks.ts';

const ready = [{ ID: 'n1', Status: { State: 'ready' } }];
const down = [{ ID: 'n1', Status: { State: 'down' } }];
const task = (state: string, extra: Partial<TaskInfo> = {}): TaskInfo => ({
  ID: 't',
  NodeID: 'n1',
  DesiredState: 'running',
  Status: { State: state },
  ...extra,
});

describe('readTask', () => {
  test('running on a ready node is running', () => {
    assert.deepEqual(readTask(task('running'), ready), { kind: 'running', nodeId: 'n1' });
  });

  test('running on a node that is down is lost, not running', () => {
    assert.equal(readTask(task('running'), down).kind, 'lost');
    assert.equal(readTask(task('running'), []).kind, 'lost', 'a node removed from the swarm');
  });

  test('pending without a node is in transit with the scheduler’s reason', () => {
    const r = readTask(
      task('pending', {
        NodeID: '',
        Status: { State: 'pending', Err: 'no suitable node (1 node not available)' },
      }),
      ready,
    );
    assert.deepEqual(r, {
      kind: 'transit',
      state: 'pending',
      message: 'no suitable node (1 node not available)',
    });
  });

  test('failed with an exit code ends with it; rejected is rejected', () => {
    const failed = task('failed', { Status: { State: 'failed', ContainerStatus: { ExitCode: 3 } } });
    assert.deepEqual(readTask(failed, ready), {
      kind: 'ended',
      state: 'failed',
      message: 'failed',
      exitCode: 3,
    });
    const rejected = task('rejected', { Status: { State: 'rejected', Err: 'No such image: sha256:ab' } });
    assert.deepEqual(readTask(rejected, ready), { kind: 'rejected', message: 'No such image: sha256:ab' });
    assert.ok(isMissingImage('No such image: sha256:ab'));
    assert.ok(!isMissingImage('invalid mount config'));
  });

  test('running but no longer wanted is ending', () => {
    assert.equal(readTask(task('running', { DesiredState: 'shutdown' }), ready).kind, 'ended');
  });

  test('no task yet', () => {
    assert.deepEqual(readTask(undefined, ready), { kind: 'none' });
  });

  test('the newest task stands for the server', () => {
    const t = currentTask([
      task('failed', { ID: 'old', CreatedAt: '2026-01-01T00:00:00Z' }),
      task('running', { ID: 'new', CreatedAt: '2026-01-02T00:00:00Z' }),
    ]);
    assert.equal(t?.ID, 'new');
  });
});
