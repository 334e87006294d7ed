/** Wait for a condition instead of sleeping a fixed time. */
import { setTimeout as sleep } from 'node:timers/promises';

export async function waitFor(condition: () => Promise<boolean> | boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** Resolves after the wall clock has moved on, so a new timestamp differs from the previous one. */
export async function tick(): Promise<void> {
  const start = Date.now();
  while (Date.now() <= start + 1) await sleep(2);
}

/** Reject if `promise` has not settled within `timeoutMs`, so a hang fails the test instead of stalling it. */
export function within<T>(promise: Promise<T>, timeoutMs = 5_000, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
