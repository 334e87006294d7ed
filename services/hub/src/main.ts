import Dockerode from 'dockerode';
import { createHub } from './app.ts';
import { ConfigError, loadConfig } from './config/load.ts';
import { ChpRouteTable } from './proxy/client.ts';
import { RouteSync } from './proxy/sync.ts';
import { readSecretFile, SecretFileError } from './secrets.ts';
import { composePeers } from './spawner/docker/compose-peers.ts';
import { DockerImages } from './spawner/docker/docker-images.ts';
import { DockerSpawner } from './spawner/docker/docker-spawner.ts';
import type { Spawner } from './spawner/spawner.ts';
import { swarmClient } from './spawner/swarm/client.ts';
import { SwarmSpawner } from './spawner/swarm/swarm-spawner.ts';
import { PkiError } from './tls/pki.ts';
import { type InternalTls, loadInternalTls } from './tls/runtime.ts';

/** Entry point. User servers are never stopped when the hub stops: they are found again at the next start. */
async function main(): Promise<void> {
  const config = loadConfig();
  const cookieSecret = readSecretFile(config.secrets.cookieSecretFile, config.secrets.enforceFileModes);
  // DOCKER_HOST points at the Docker API guard under Compose (docs/security.md#the-docker-api-guard).
  const docker = new Dockerode();
  // Internal TLS: the authorities and the hub's certificate come from the init step (docs/security.md).
  let tls: InternalTls | undefined;
  if (config.internalTls.enabled) {
    tls = await loadInternalTls({
      ...config.internalTls,
      enforceFileModes: config.secrets.enforceFileModes,
      hubNames: [...new Set([new URL(config.hubApiUrlForServers).hostname, 'hub'])],
    });
  }
  const dockerSpawner = new DockerSpawner({
    docker,
    network: config.spawner.network,
    deploymentId: config.spawner.deploymentId,
    prefix: config.spawner.prefix,
    // Archiving a deleted user's home volume uses never-started helpers of an image already on the engine.
    helperImage: config.spawner.image,
    pullTimeoutMs: config.spawner.pullTimeoutMs,
    defaultLimits: {
      memoryBytes: config.spawner.memoryBytes,
      nanoCpus: config.spawner.nanoCpus,
      pids: config.spawner.pids,
    },
    ...(config.spawner.isolation === 'per-server'
      ? {
          serverNetworks: {
            subnetPool: config.spawner.subnetPool,
            peers: composePeers(docker, {
              hubAliases: [new URL(config.hubApiUrlForServers).hostname],
              services: config.spawner.networkPeers,
            }),
          },
        }
      : {}),
    ...(tls ? { internalTls: tls } : {}),
    // Profiles with `egress` also join the egress network, whose range the firewall service filters.
    egress: { subnetPool: config.spawner.egressSubnetPool },
  });
  // BERTH_SPAWNER=swarm: one Swarm service per server, through the same guard on a manager (docs/swarm.md).
  const spawner: Spawner =
    config.spawner.backend === 'swarm'
      ? new SwarmSpawner({
          swarm: swarmClient(docker),
          network: config.spawner.network,
          deploymentId: config.spawner.deploymentId,
          prefix: config.spawner.prefix,
          defaultLimits: {
            memoryBytes: config.spawner.memoryBytes,
            nanoCpus: config.spawner.nanoCpus,
            pids: config.spawner.pids,
          },
          constraints: config.spawner.swarmConstraints,
          ...(tls ? { internalTls: tls } : {}),
        })
      : dockerSpawner;
  // Profiles: tags in BERTH_SINGLEUSER_IMAGE are pinned at start, new images probed (docs/profiles.md).
  const images = new DockerImages({
    docker,
    deploymentId: config.spawner.deploymentId,
    prefix: config.spawner.prefix,
  });
  const hub = await createHub(config, { spawner, cookieSecret, images, ...(tls ? { tls } : {}) });
  // A probe a crashed hub left running would otherwise stay forever.
  const leftover = await images.removeLeftoverProbes().catch((err: unknown) => {
    hub.ctx.log.warn({ err: String(err) }, 'could not look for leftover image probes');
    return 0;
  });
  if (leftover > 0)
    hub.ctx.log.info({ removed: leftover }, 'removed image probe containers a previous hub left behind');
  // Reattach before serving: running servers stay, dead ones are cleaned up, interrupted spawns are finished.
  const sweep = () =>
    hub.ctx.lifecycle.sweep().catch((err) => hub.ctx.log.warn({ err: String(err) }, 'server sweep failed'));
  await sweep();
  const poller = setInterval(sweep, config.spawner.pollIntervalMs);
  // Idle culling on its own timer (BERTH_CULL_*); off when the idle timeout and max age are 0.
  hub.ctx.culler.start();
  await hub.app.listen({ host: config.bind.host, port: config.bind.port });
  // Routes: reconciled now, every 5 s, and within a second of the proxy restarting (a new epoch).
  const probe = new ChpRouteTable({
    ...config.proxy,
    timeoutMs: 1_000,
    ...(tls ? { dispatcher: tls.toProxyApi } : {}),
  });
  const routeSync = new RouteSync({
    probe: () => probe.epoch(),
    reconcile: () =>
      hub.ctx.metrics.time(hub.ctx.metrics.checkRoutesDuration, () => hub.ctx.lifecycle.reconcileRoutes()),
    log: hub.ctx.log,
  });
  await routeSync.tick();
  routeSync.start();
  const shutdown = async (signal: string) => {
    hub.ctx.log.info({ signal }, 'shutting down; user servers keep running');
    await routeSync.stop();
    clearInterval(poller);
    await hub.close();
    await tls?.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  // POST /hub/api/shutdown: the same clean exit (servers keep running).
  hub.ctx.shutdown.onRequest((by) => void shutdown(`api (${by})`));
}

main().catch((err: unknown) => {
  const known = err instanceof ConfigError || err instanceof SecretFileError || err instanceof PkiError;
  process.stderr.write(
    `berth-hub: ${known ? (err as Error).message : String((err as Error)?.stack ?? err)}\n`,
  );
  process.exit(1);
});
