/**
 * What a service's tasks say about its server: a pure reading of Swarm task states (and whether the task's node
 * is still there), used by start() to follow a spawn and by status() and list() to report on it.
 *
 * Task states, in order: new, pending (waiting for a node that fits), assigned, accepted, preparing (pulling,
 * creating the container), starting, running; then complete, failed, shutdown, rejected, orphaned or remove.
 */
import type { NodeInfo, TaskInfo } from './client.ts';

const IN_TRANSIT = new Set([
  'new',
  'allocated',
  'pending',
  'assigned',
  'accepted',
  'ready',
  'preparing',
  'starting',
]);
const ENDED = new Set(['complete', 'failed', 'shutdown', 'rejected', 'orphaned', 'remove']);

export type TaskReading =
  /** No task yet (the service was just created). */
  | { readonly kind: 'none' }
  /** On its way: `message` is Swarm's (e.g. "no suitable node (…)" while pending, or "preparing"). */
  | { readonly kind: 'transit'; readonly state: string; readonly message: string }
  | { readonly kind: 'running'; readonly nodeId: string | undefined }
  /** The node running it is down or gone: its server is lost, whatever the task's last report said. */
  | { readonly kind: 'lost'; readonly nodeId: string; readonly message: string }
  /** The node refused it (e.g. the image is not there); no container ran. */
  | { readonly kind: 'rejected'; readonly message: string }
  | { readonly kind: 'ended'; readonly state: string; readonly exitCode?: number; readonly message: string };

/** The task that stands for the server: the newest one (a service with Replicas 1 and no restarts has one). */
export function currentTask(tasks: readonly TaskInfo[]): TaskInfo | undefined {
  return [...tasks].sort((a, b) => (a.CreatedAt ?? '').localeCompare(b.CreatedAt ?? '')).at(-1);
}

/** True for a node the manager sees as ready (`down`, `disconnected` and unknown nodes are not). */
export function nodeReady(nodes: readonly NodeInfo[], id: string | undefined): boolean {
  return id !== undefined && nodes.some((n) => n.ID === id && n.Status?.State === 'ready');
}

function why(t: TaskInfo): string {
  return t.Status?.Err || t.Status?.Message || t.Status?.State || 'unknown';
}

export function readTask(task: TaskInfo | undefined, nodes: readonly NodeInfo[]): TaskReading {
  if (!task) return { kind: 'none' };
  const state = task.Status?.State ?? 'new';
  const onNode = task.NodeID !== undefined && task.NodeID !== '';
  // A task the manager placed on a node it no longer hears from: that server is gone with its node.
  if (onNode && !ENDED.has(state) && state !== 'pending' && !nodeReady(nodes, task.NodeID)) {
    return { kind: 'lost', nodeId: task.NodeID as string, message: `node ${task.NodeID} is not ready` };
  }
  if (state === 'running') {
    // The manager wants it gone (the service was removed, or its node was lost and it will not restart).
    if (task.DesiredState !== undefined && task.DesiredState !== 'running') {
      return { kind: 'ended', state: `running, desired ${task.DesiredState}`, message: why(task) };
    }
    return { kind: 'running', nodeId: task.NodeID };
  }
  if (state === 'rejected') return { kind: 'rejected', message: why(task) };
  if (ENDED.has(state)) {
    const exitCode = task.Status?.ContainerStatus?.ExitCode;
    return {
      kind: 'ended',
      state,
      message: why(task),
      ...(typeof exitCode === 'number' ? { exitCode } : {}),
    };
  }
  if (IN_TRANSIT.has(state)) return { kind: 'transit', state, message: why(task) };
  return { kind: 'transit', state, message: `unexpected task state ${state}` };
}

/** A rejection that means the node does not hold the image (it is never pulled for an image id). */
export function isMissingImage(message: string): boolean {
  return /No such image|pull access denied|manifest unknown|not found/i.test(message);
}
