/**
 * Internal TLS on the real engine with the stock image (berth/singleuser:lab, jupyterhub-singleuser 5/6): the
 * spawner mints alice's certificate, delivers it read-only through a never-started helper, and the server serves
 * https with it, requiring a client certificate the graph allows. Skipped, with the reason, only when the engine
 * or the image is missing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { TLSSocket } from 'node:tls';
import Dockerode from 'dockerode';
import { singleUserEnv } from '../../servers/env.ts';
import { initInternalTls } from '../../tls/init.ts';
import { type InternalTls, loadInternalTls, type ServerTlsFiles } from '../../tls/runtime.ts';
import { tlsVolumeName } from '../names.ts';
import type { SpawnerState } from '../spawner.ts';
import { cleanup, createNetwork, dockerUnavailable, testNamespace } from '../testing/docker-test-env.ts';
import { DockerSpawner } from './docker-spawner.ts';
import { SERVER_TLS_DIR } from './tls-volume.ts';

const LAB = 'berth/singleuser:lab';
const docker = new Dockerode();
const skip =
  (await dockerUnavailable(docker)) ||
  (await docker
    .getImage(LAB)
    .inspect()
    .then(
      () => false as const,
      () => `${LAB} is not built (npm run images:offline)`,
    ));
const ns = testNamespace();
const timeout = 180_000;

/**
 * A stand-in for the hub's API on the server's network (alias `hub`): TLS with the hub's certificate and the
 * hub's listener options (client certificates required, from the authorities the hub trusts). It answers
 * `/hub/api/` like the hub and logs the CN of every client, so the test sees the server present its own.
 */
const HUB_SCRIPT = `
const https = require('https');
const o = JSON.parse(process.env.HUB_TLS);
https.createServer({ ...o, requestCert: true, rejectUnauthorized: true }, (req, res) => {
  const cn = req.socket.getPeerCertificate().subject.CN;
  console.log('client ' + cn + ' ' + req.method + ' ' + req.url);
  res.writeHead(200, { 'content-type': 'application/json', 'x-jupyterhub-version': '5.3.0' });
  res.end(JSON.stringify({ version: '5.3.0' }));
}).on('tlsClientError', (e) => console.log('refused ' + e.code)).listen(8081);
`;

async function startFakeHub(tls: InternalTls): Promise<Dockerode.Container> {
  const { cert, key, ca, minVersion } = tls.listener;
  const c = await docker.createContainer({
    name: `${ns.prefix}-fakehub`,
    Image: 'berth/node:22',
    Cmd: ['node', '-e', HUB_SCRIPT],
    Env: [`HUB_TLS=${JSON.stringify({ cert, key, ca, minVersion })}`],
    Labels: { 'org.berth.test': ns.run },
    HostConfig: { ReadonlyRootfs: true, CapDrop: ['ALL'], NetworkMode: ns.network },
    NetworkingConfig: { EndpointsConfig: { [ns.network]: { Aliases: ['hub'] } } },
  });
  await c.start();
  return c;
}

interface Peer {
  readonly cert?: string;
  readonly key?: string;
}

/** GET over TLS to the container's address, verifying its certificate for `servername`. */
function get(
  ip: string,
  servername: string,
  ca: string,
  peer: Peer,
  path: string,
): Promise<{ status: number; cn: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: ip,
      port: 8888,
      path,
      servername,
      ca,
      agent: false,
      ...(peer.cert ? { cert: peer.cert, key: peer.key } : {}),
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.on('response', (res) => {
      const cn = String((res.socket as TLSSocket).getPeerCertificate().subject?.CN ?? '');
      res.resume();
      res.on('close', () => resolve({ status: res.statusCode ?? 0, cn }));
    });
    req.on('close', () => reject(new Error('closed without a response')));
    req.end();
  });
}

describe('internal TLS with a stock jupyterhub-singleuser', { skip, timeout }, () => {
  let dir: string;
  let tls: InternalTls;
  let spawner: DockerSpawner;
  let state: SpawnerState;
  let url: string;
  let ip: string;
  let name: string;
  let bob: ServerTlsFiles;
  let fakeHub: Dockerode.Container;
  const ca = () => tls.pki.authorities['notebooks-ca'].certPem;

  before(async () => {
    if (skip) return;
    dir = mkdtempSync(join(tmpdir(), 'berth-tls-docker-'));
    await initInternalTls({
      secretsDir: dir,
      caDays: 30,
      serviceCertDays: 30,
      hubNames: ['hub'],
      proxyNames: ['proxy'],
    });
    tls = await loadInternalTls({
      dir: join(dir, 'hub', 'tls'),
      enforceFileModes: true,
      serverCertDays: 2,
      caDays: 30,
      serviceCertDays: 30,
      hubNames: ['hub'],
    });
    await createNetwork(docker, ns);
    fakeHub = await startFakeHub(tls);
    spawner = new DockerSpawner({
      docker,
      network: ns.network,
      deploymentId: ns.deploymentId,
      prefix: ns.prefix,
      defaultLimits: { memoryBytes: 512 * 1024 ** 2, nanoCpus: 1e9, pids: 256 },
      internalTls: tls,
    });
    const image = (await docker.getImage(LAB).inspect()).Id;
    const env = singleUserEnv({
      user: 'alice',
      serverName: '',
      token: 'a'.repeat(43),
      hubApiUrl: 'https://hub:8081/hub/api',
      publicUrl: 'https://localhost',
      port: 8888,
      image,
      defaultUrl: '/lab',
      adminEnv: {},
    });
    const started = await spawner.start({ user: 'alice', serverName: '', image, env, port: 8888 });
    state = started.state;
    url = started.url;
    name = String(state.containerName);
    const info = await docker.getContainer(name).inspect();
    ip = info.NetworkSettings.Networks[ns.network]?.IPAddress ?? '';
    bob = await tls.issue({ user: 'bob', serverName: '', hostnames: [`${ns.prefix}-bob`] });
  });

  after(async () => {
    if (skip) return;
    await tls.close();
    await cleanup(docker, ns);
    rmSync(dir, { recursive: true, force: true });
  });

  test('the server is reached over https, its files mounted read-only from its own volume', async () => {
    assert.equal(url, `https://${name}:8888`);
    const info = await docker.getContainer(name).inspect();
    const env = info.Config.Env ?? [];
    assert.ok(env.includes(`JUPYTERHUB_SSL_KEYFILE=${SERVER_TLS_DIR}/server.key`));
    assert.ok(env.includes(`JUPYTERHUB_SSL_CERTFILE=${SERVER_TLS_DIR}/server.crt`));
    assert.ok(env.includes(`JUPYTERHUB_SSL_CLIENT_CA=${SERVER_TLS_DIR}/client-ca.pem`));
    assert.ok(env.some((e) => e.startsWith('JUPYTERHUB_SERVICE_URL=https://')));
    assert.ok(!env.some((e) => e.includes('PRIVATE KEY')), 'no key material in the environment');
    const mount = info.Mounts.find((m) => m.Destination === SERVER_TLS_DIR);
    assert.equal(mount?.Type, 'volume');
    assert.equal(mount?.Name, tlsVolumeName(ns.prefix, 'alice', ''));
    assert.equal(mount?.RW, false);
    assert.ok(!info.Mounts.some((m) => m.Type === 'bind'), 'nothing of the host is mounted');
    assert.deepEqual(info.HostConfig.Binds ?? [], []);
    const helpers = await docker.listContainers({
      all: true,
      filters: JSON.stringify({ name: [`${name}-tls`] }),
    });
    assert.deepEqual(helpers, [], 'the helper container is gone');
  });

  test('it serves https with its minted certificate to a client the graph allows', async () => {
    const hub = { cert: tls.hub.certPem, key: tls.hub.keyPem };
    const deadline = Date.now() + 90_000;
    let last: unknown;
    for (;;) {
      try {
        const res = await get(ip, name, ca(), hub, '/user/alice/api');
        assert.equal(res.status, 200);
        assert.equal(res.cn, 'user-alice');
        break;
      } catch (err) {
        last = err;
        if (Date.now() > deadline)
          assert.fail(`never answered over https: ${String(last)}\n${await spawner.logs(state, 30)}`);
        await delay(500);
      }
    }
    // The hub's own readiness check verifies names: the container's address is not one of its certificate's
    // names, so the hub refuses it, though the certificate is valid and from notebooks-ca.
    const byAddress = `https://${ip}:8888/user/alice/api`;
    const ready = await tls.waitReady({
      url: byAddress,
      startTimeoutMs: 3_000,
      httpTimeoutMs: 2_000,
      sleep: (ms) => delay(ms), // a timer that keeps the test's event loop alive (the default one is unref'd)
    });
    assert.equal(ready.ok, false);
  });

  test("it calls the hub's API over mTLS, presenting its own certificate and verifying the hub's", async () => {
    const logs = (await fakeHub.logs({ stdout: true, stderr: true })).toString('utf8');
    assert.match(logs, /client user-alice GET \/hub\/api/, logs);
  });

  test('it refuses a client without a certificate, bob\u2019s server certificate, and plain HTTP', async () => {
    await assert.rejects(get(ip, name, ca(), {}, '/user/alice/api'));
    await assert.rejects(get(ip, name, ca(), { cert: bob.certPem, key: bob.keyPem }, '/user/alice/api'));
    const plain = await new Promise<number | string>((resolve) => {
      const req = http.get({ host: ip, port: 8888, path: '/user/alice/api', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? 'error'));
      req.setTimeout(5_000, () => req.destroy(new Error('timeout')));
    });
    assert.notEqual(plain, 200);
  });

  test('stop removes the certificate volume with the container', async () => {
    await spawner.stop(state);
    await assert.rejects(docker.getVolume(tlsVolumeName(ns.prefix, 'alice', '')).inspect(), {
      statusCode: 404,
    });
  });
});
