/**
 * Who joins each per-server network when Berth runs under Compose: the hub itself (under the host name servers
 * use for its API) and the proxy. Found by Compose's labels, afresh at every call, since a recreated service
 * gets a new container.
 */
import { hostname } from 'node:os';
import type { DockerClient } from './client.ts';
import type { NetworkPeer } from './server-network.ts';

const PROJECT = 'com.docker.compose.project';
const SERVICE = 'com.docker.compose.service';

export interface ComposePeersOptions {
  /** DNS names servers use for the hub, e.g. `hub` from JUPYTERHUB_API_URL. */
  readonly hubAliases: readonly string[];
  /** Other Compose services of the hub's project to connect, e.g. `proxy`. */
  readonly services: readonly string[];
  /** The hub's own container; Compose makes the host name its short id. */
  readonly self?: string;
}

export function composePeers(docker: DockerClient, o: ComposePeersOptions): () => Promise<NetworkPeer[]> {
  return async () => {
    const me = await docker.getContainer(o.self ?? hostname()).inspect();
    const project = me.Config.Labels?.[PROJECT];
    if (!project) throw new Error('per-server networks need the hub to run as a Compose service');
    const peers: NetworkPeer[] = [
      {
        container: me.Id,
        aliases: [...o.hubAliases],
        networks: Object.keys(me.NetworkSettings?.Networks ?? {}),
      },
    ];
    for (const service of o.services) {
      const found = await docker.listContainers({
        all: false,
        filters: JSON.stringify({ label: [`${PROJECT}=${project}`, `${SERVICE}=${service}`] }),
      });
      if (found.length === 0) throw new Error(`compose service ${service} is not running`);
      for (const c of found) {
        peers.push({
          container: c.Id,
          aliases: [service],
          networks: Object.keys(c.NetworkSettings?.Networks ?? {}),
        });
      }
    }
    return peers;
  };
}
