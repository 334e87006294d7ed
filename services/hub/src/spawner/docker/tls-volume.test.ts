/** How a server's TLS files are packed and mounted: pure parts, no engine. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extract } from 'tar-stream';
import type { DockerClient } from './client.ts';
import {
  fillTlsVolume,
  helperOptions,
  LABEL_TLS,
  SERVER_TLS_DIR,
  SERVER_TLS_FILES,
  tlsArchive,
  tlsEnv,
  withTlsMount,
} from './tls-volume.ts';

const files = { keyPem: 'KEY\n', certPem: 'CERT\n', clientCaPem: 'CA\n' };

async function entries(tar: Buffer) {
  const out: { name: string; mode: number; uid: number; gid: number; body: string }[] = [];
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      let body = '';
      stream.on('data', (c: unknown) => {
        body += String(c);
      });
      stream.on('end', () => {
        out.push({ name: h.name, mode: h.mode ?? 0, uid: h.uid ?? -1, gid: h.gid ?? -1, body });
        next();
      });
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(tar);
  await done;
  return out;
}

describe('tls-volume', () => {
  it('packs the key 0400 and the rest 0444, owned by the server user', async () => {
    const got = await entries(await tlsArchive(files, 1000, 100));
    assert.deepEqual(got, [
      { name: 'server.key', mode: 0o400, uid: 1000, gid: 100, body: 'KEY\n' },
      { name: 'server.crt', mode: 0o444, uid: 1000, gid: 100, body: 'CERT\n' },
      { name: 'client-ca.pem', mode: 0o444, uid: 1000, gid: 100, body: 'CA\n' },
    ]);
  });

  it('points JUPYTERHUB_SSL_* at the files and makes the service URL https', () => {
    const env = tlsEnv({ JUPYTERHUB_SERVICE_URL: 'http://0.0.0.0:8888/user/alice/', OTHER: 'x' });
    assert.deepEqual(env, {
      JUPYTERHUB_SERVICE_URL: 'https://0.0.0.0:8888/user/alice/',
      OTHER: 'x',
      JUPYTERHUB_SSL_KEYFILE: SERVER_TLS_FILES.key,
      JUPYTERHUB_SSL_CERTFILE: SERVER_TLS_FILES.cert,
      JUPYTERHUB_SSL_CLIENT_CA: SERVER_TLS_FILES.clientCa,
    });
  });

  it('mounts the volume read-only and keeps every other mount and setting', () => {
    const base = {
      Image: 'sha256:x',
      Labels: { a: 'b' },
      HostConfig: {
        ReadonlyRootfs: true,
        Mounts: [{ Type: 'volume' as const, Source: 'home', Target: '/home/jovyan', ReadOnly: false }],
      },
    };
    const o = withTlsMount(base, 'berth-tls-alice');
    assert.deepEqual(o.HostConfig?.Mounts, [
      base.HostConfig.Mounts[0],
      { Type: 'volume', Source: 'berth-tls-alice', Target: SERVER_TLS_DIR, ReadOnly: true },
    ]);
    assert.equal(o.HostConfig?.ReadonlyRootfs, true);
    assert.deepEqual(o.Labels, { a: 'b', [LABEL_TLS]: 'true' });
    assert.equal(base.HostConfig.Mounts.length, 1, 'the input is not changed');
  });

  it('makes a helper with no network, no capabilities and nothing but the volume', () => {
    const h = helperOptions({
      volumeName: 'berth-tls-alice',
      helperName: 'berth-alice-tls',
      imageId: 'sha256:abc',
      user: '1000:100',
      labels: { 'org.berth.managed': 'true' },
      deploymentId: 'berth',
      files,
    });
    assert.equal(h.NetworkDisabled, true);
    assert.equal(h.HostConfig?.NetworkMode, 'none');
    assert.deepEqual(h.HostConfig?.CapDrop, ['ALL']);
    assert.equal(h.HostConfig?.ReadonlyRootfs, true);
    assert.equal(h.HostConfig?.Privileged, false);
    assert.deepEqual(h.HostConfig?.Binds, []);
    assert.deepEqual(h.HostConfig?.Mounts, [
      { Type: 'volume', Source: 'berth-tls-alice', Target: '/tls', ReadOnly: false },
    ]);
    assert.equal(h.User, '1000:100');
    assert.equal(h.Cmd, undefined, 'never started, so no command');
  });

  /** An engine (or guard) that drops the connection of the first `drops` archive writes, like a stale keep-alive. */
  function droppingEngine(drops: number, code = 'EPIPE') {
    const calls = { put: 0, removed: 0 };
    const docker = {
      getVolume: () => ({
        inspect: async () => ({
          Name: 'v',
          Labels: { 'org.berth.managed': 'true', 'org.berth.deployment': 'd' },
        }),
      }),
      getContainer: () => ({
        inspect: async () => Promise.reject(Object.assign(new Error('no'), { statusCode: 404 })),
      }),
      createContainer: async () => ({
        putArchive: async () => {
          calls.put++;
          if (calls.put <= drops) throw Object.assign(new Error(`write ${code}`), { code });
        },
        remove: async () => {
          calls.removed++;
        },
      }),
    } as unknown as DockerClient;
    return { docker, calls };
  }
  const fill = (docker: DockerClient) =>
    fillTlsVolume(docker, {
      volumeName: 'v',
      helperName: 'h',
      imageId: 'sha256:x',
      user: '1000:100',
      labels: {},
      deploymentId: 'd',
      files,
    });

  it('retries the archive write once when the connection was dropped, and always removes the helper', async () => {
    const once = droppingEngine(1);
    await fill(once.docker);
    assert.deepEqual(once.calls, { put: 2, removed: 1 });
    const twice = droppingEngine(2, 'ECONNRESET');
    await assert.rejects(fill(twice.docker), /ECONNRESET/);
    assert.deepEqual(twice.calls, { put: 2, removed: 1 });
    const refused = droppingEngine(1, 'EACCES');
    await assert.rejects(fill(refused.docker), /EACCES/);
    assert.deepEqual(refused.calls, { put: 1, removed: 1 }, 'other errors are not retried');
  });
});
