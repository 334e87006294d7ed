/**
 * The hub side of the spawn benchmark as deployed: the whole compose stack (Caddy, proxy, hub, Postgres, the
 * Docker API guard), with its defaults: internal TLS (a certificate per server, delivered by a never-started
 * helper), a network per server, the hardened container. A start is the REST call through Caddy, then the user
 * model polled every 50 ms until the server is ready; a stop is the REST call, then polled until it is gone.
 */
import { createServer, type Server } from 'node:http';
import Dockerode from 'dockerode';
import { singleUserEnv } from '../../services/hub/src/servers/env.ts';
import { ComposeStack } from '../../test/support/compose.ts';
import type { Outcome, Side } from './run.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function composeSide(readyTimeoutMs: number): Promise<Side> {
  const stack = await ComposeStack.create({ BERTH_START_TIMEOUT_SECONDS: String(readyTimeoutMs / 1000) });
  const docker = new Dockerode();
  const rawNetwork = `${stack.project}-bench-raw`;
  let hubStandIn: Server | undefined;
  try {
    await stack.up();
    const admin = await stack.berth(['user', 'add', 'bench-admin', '--admin']);
    if (admin.code !== 0) throw new Error(`berth user add: ${admin.stderr}`);
    const tok = await stack.berth(['token', 'create', 'bench-admin', '--note', 'spawn bench']);
    if (tok.code !== 0) throw new Error(`berth token create: ${tok.stderr}`);
    const token = tok.stdout.trim();
    const api = (path: string, init: RequestInit = {}) =>
      stack.fetch(`${stack.base}/hub/api${path}`, {
        ...init,
        headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
      });
    // The server as the user model shows it: absent once stopped. Any answer but 200 is an error, never "absent",
    // so a refused or throttled poll cannot pass for a finished stop.
    const serverOf = async (name: string) => {
      const res = await api(`/users/${name}`);
      if (res.status !== 200) throw new Error(`GET /users/${name}: ${res.status} ${await res.text()}`);
      const model = (await res.json()) as {
        servers?: Record<string, { ready: boolean; pending: string | null }>;
      };
      return model.servers?.[''];
    };
    await docker.createNetwork({ Name: rawNetwork, Labels: { 'org.berth.bench': 'raw' } });
    // jupyterhub-singleuser asks the hub API for its version before it serves. The raw server is not the hub's
    // and cannot reach it, so a stand-in on the raw network's gateway answers that one question.
    const gateway = (await docker.getNetwork(rawNetwork).inspect()).IPAM?.Config?.[0]?.Gateway;
    if (!gateway) throw new Error(`no gateway on ${rawNetwork}`);
    const standIn = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-jupyterhub-version': '5.3.0' });
      res.end('{"version": "5.3.0"}');
    });
    hubStandIn = standIn;
    await new Promise<void>((resolve) => standIn.listen(0, gateway, resolve));
    const standInUrl = `http://${gateway}:${(standIn.address() as { port: number }).port}/hub/api`;
    const image = stack.env.BERTH_SINGLEUSER_IMAGE ?? 'berth/singleuser:lab';
    const imageId = (await docker.getImage(image).inspect()).Id;

    return {
      docker,
      async addUsers(names) {
        const res = await api('/users', { method: 'POST', body: JSON.stringify({ usernames: names }) });
        if (res.status !== 201) throw new Error(`creating users: ${res.status} ${await res.text()}`);
      },
      async hubSpawn(name): Promise<Outcome> {
        const wall0 = Date.now();
        const t0 = performance.now();
        const res = await api(`/users/${name}/server`, { method: 'POST', body: '{}' });
        const answer = await res.text();
        if (res.status !== 201 && res.status !== 202) {
          return { ok: false, ms: performance.now() - t0, error: `${res.status} ${answer.slice(0, 200)}` };
        }
        if (res.status === 202) {
          for (;;) {
            const s = await serverOf(name);
            if (s?.ready) break;
            if (!s) return { ok: false, ms: performance.now() - t0, error: 'the start failed' };
            if (performance.now() - t0 > readyTimeoutMs) {
              return { ok: false, ms: performance.now() - t0, error: 'not ready before the timeout' };
            }
            await sleep(50);
          }
        }
        const ms = performance.now() - t0;
        const [c] = await docker.listContainers({
          all: true,
          filters: JSON.stringify({
            label: [`org.berth.deployment=${stack.project}`, `org.berth.user=${name}`],
          }),
        });
        const started = c
          ? Date.parse((await docker.getContainer(c.Id).inspect()).State.StartedAt)
          : Number.NaN;
        return Number.isFinite(started) ? { ok: true, ms, toStartMs: started - wall0 } : { ok: true, ms };
      },
      async hubStop(name) {
        const res = await api(`/users/${name}/server`, { method: 'DELETE' });
        if (res.status !== 202 && res.status !== 204)
          throw new Error(`stopping ${name}: ${res.status} ${await res.text()}`);
        const deadline = Date.now() + 60_000;
        while (await serverOf(name)) {
          if (Date.now() > deadline) throw new Error(`${name}'s server did not stop within 60 s`);
          await sleep(100);
        }
      },
      raw: {
        prefix: `${stack.project}-bench`,
        labels: { 'org.berth.bench': 'raw' },
        network: rawNetwork,
        imageId,
        env: (name) =>
          singleUserEnv({
            user: name,
            serverName: '',
            token: 'raw-run-token-unknown-to-the-hub',
            hubApiUrl: standInUrl,
            publicUrl: stack.base,
            port: 8888,
            image: imageId,
            defaultUrl: '/lab',
            adminEnv: {},
          }),
      },
      async close() {
        standIn.close();
        await docker
          .getNetwork(rawNetwork)
          .remove()
          .catch(() => undefined);
        await stack.down();
      },
    };
  } catch (err) {
    hubStandIn?.close();
    await docker
      .getNetwork(rawNetwork)
      .remove()
      .catch(() => undefined);
    await stack.down().catch(() => undefined);
    throw err;
  }
}
