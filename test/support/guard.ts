/** A Docker API guard for one test run, on a unix socket in a temporary directory, in front of the real engine. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { createLogger } from '../../services/docker-guard/src/log.ts';
import { type GuardServer, startGuard } from '../../services/docker-guard/src/server.ts';
import type { TestNamespace } from '../../services/hub/src/spawner/testing/docker-test-env.ts';

export interface TestGuard {
  readonly guard: GuardServer;
  /** Dockerode on the guard's socket: what the hub gets. */
  readonly client: Dockerode;
  close(): Promise<void>;
}

export async function startTestGuard(
  ns: TestNamespace,
  pools: { server: string; egress: string },
): Promise<TestGuard> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-guard-'));
  const guard = await startGuard(
    {
      listen: join(dir, 'docker.sock'),
      dockerSocket: '/var/run/docker.sock',
      deploymentId: ns.deploymentId,
      prefix: ns.prefix,
      imageRepositories: ['berth-test/sleeper', 'berth-test/exit3'],
      dataVolumes: [],
      usersNetwork: ns.network,
      serverSubnetPool: pools.server,
      egressSubnetPool: pools.egress,
      // Peers: containers labelled as Compose service `hub` of a project named after the run.
      composeProject: ns.run,
      peerServices: ['hub'],
      socketMode: 0o600,
      logLevel: 'silent',
    },
    createLogger('silent'),
  );
  return {
    guard,
    client: new Dockerode({ socketPath: guard.socketPath }),
    close: async () => {
      await guard.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
