/** Named fakes for the spawner's failure modes, for hub-logic tests. Not part of the production build. */
export { ExitsEarlySpawner } from './exits-early-spawner.ts';
export { FailingSpawner } from './failing-spawner.ts';
export { type InMemoryBackend, type InMemoryServer, InMemorySpawner } from './in-memory-spawner.ts';
export { SlowSpawner } from './slow-spawner.ts';
export { UnknownStatusSpawner } from './unknown-status-spawner.ts';
