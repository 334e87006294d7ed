import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import {
  mergeOverride,
  parseSize,
  type SecretFile,
  StackFileError,
  secretKey,
  stackFile,
} from './stack-file.ts';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const read = (f: string) =>
  parse(readFileSync(`${ROOT}${f}`, 'utf8'), { merge: true }) as Record<string, unknown>;
const compose = read('docker-compose.yml');
const override = read('docker-stack.yml');

type Dict = Record<string, unknown>;
/** `${NAME…}` as the files write it, kept for `docker stack deploy` to fill. */
const ref = (inner: string) => `$${'{'}${inner}}`;

/** What init-secrets writes into <secrets>/<dir>, with a hash per content. */
const INIT_FILES: Record<string, string[]> = {
  hub: ['auth_state_key', 'cookie_secret', 'db_password', 'tls/hub-ca.crt', 'tls/hub-ca.key', 'tls/hub.key'],
  proxy: ['auth_token', 'tls/api.crt', 'tls/api.key'],
  db: ['password'],
};
function secretFiles(version = 'a') {
  return (dir: string): SecretFile[] =>
    (INIT_FILES[dir] ?? []).map((rel) => ({
      rel,
      path: `./stack-secrets/${dir}/${rel}`,
      sha256: `${version}${rel.length.toString(16).padStart(3, '0')}`.padEnd(64, '0'),
    }));
}
const build = (o: Partial<Parameters<typeof stackFile>[0]> = {}) =>
  stackFile({ compose, override, secretFiles: secretFiles(), hashFile: () => 'c'.repeat(64), ...o });

const svc = (stack: Dict, name: string) => (stack.services as Record<string, Dict>)[name] as Dict;

describe('stackFile: docker-compose.yml + docker-stack.yml → a Swarm stack', () => {
  it('keeps the long-running services, leaves out the one-shots and the demos, and says why', () => {
    const { stack, notes } = build();
    assert.equal(stack.version, '3.8');
    assert.deepEqual(Object.keys(stack.services as Dict).sort(), [
      'caddy',
      'docker-guard',
      'hub',
      'postgres',
      'proxy',
    ]);
    for (const gone of ['init', 'firewall', 'openldap', 'oidc-demo'])
      assert.ok(
        notes.some((n) => n.startsWith(`${gone}: left out`)),
        `${gone} is named in the notes`,
      );
    assert.ok(notes.some((n) => n.startsWith('hub: ') && n.includes('depends_on (Swarm starts services')));
  });

  it('drops what a stack cannot use, and keeps the hardening it can', () => {
    const { stack } = build();
    for (const [name, s] of Object.entries(stack.services as Record<string, Dict>)) {
      for (const k of [
        'build',
        'restart',
        'depends_on',
        'network_mode',
        'security_opt',
        'group_add',
        'tmpfs',
        'shm_size',
        'profiles',
      ])
        assert.equal(s[k], undefined, `${name}.${k}`);
    }
    const hub = svc(stack, 'hub');
    assert.equal(hub.read_only, true);
    assert.deepEqual(hub.cap_drop, ['ALL']);
    assert.equal(hub.init, true);
    assert.deepEqual(hub.logging, { driver: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } });
    assert.ok(Array.isArray((hub.healthcheck as Dict).test), 'the health check carries over');
  });

  it("turns init's volumes into one Swarm secret per file, at the same path, owned by the service", () => {
    const { stack } = build();
    const secrets = stack.secrets as Record<string, Dict>;
    const hub = svc(stack, 'hub');
    const refs = hub.secrets as Dict[];
    const cookie = refs.find((r) => r.target === '/run/berth/hub/cookie_secret');
    assert.ok(cookie, 'the cookie secret is where BERTH_COOKIE_SECRET_FILE says');
    assert.deepEqual(
      { uid: cookie.uid, gid: cookie.gid, mode: cookie.mode },
      { uid: '1000', gid: '1000', mode: 0o400 },
    );
    assert.deepEqual(secrets[cookie.source as string], { file: './stack-secrets/hub/cookie_secret' });
    assert.ok(
      refs.some((r) => r.target === '/run/berth/hub/tls/hub-ca.key'),
      'nested files too',
    );
    assert.ok(
      refs.some((r) => r.target === '/run/berth/proxy/auth_token'),
      "the proxy's token, as in compose",
    );
    assert.deepEqual(hub.volumes, ['docker-guard:/run/berth/docker-guard:ro'], 'no secrets volume, no bind');

    const pg = (svc(stack, 'postgres').secrets as Dict[])[0] as Dict;
    assert.deepEqual(
      { target: pg.target, uid: pg.uid, gid: pg.gid },
      { target: '/run/berth/db/password', uid: '999', gid: '999' },
    );
    // The proxy's token is one secret for both services that read it.
    const proxyToken = (svc(stack, 'proxy').secrets as Dict[]).find(
      (r) => r.target === '/run/berth/proxy/auth_token',
    );
    assert.equal(proxyToken?.source, refs.find((r) => r.target === '/run/berth/proxy/auth_token')?.source);
    const vols = Object.keys(stack.volumes as Dict).sort();
    assert.deepEqual(vols, ['caddy-config', 'caddy-data', 'docker-guard', 'pgdata'], 'only volumes in use');
  });

  it('names secrets and configs by content: a re-issued file is a new secret, an unchanged one the same', () => {
    const a = build().stack;
    const again = build().stack;
    const b = build({ secretFiles: secretFiles('b') }).stack;
    assert.deepEqual(again, a, 'the same files give the same stack (a second deploy changes nothing)');
    const keysA = Object.keys(a.secrets as Dict);
    const keysB = Object.keys(b.secrets as Dict);
    assert.equal(keysA.length, keysB.length);
    assert.equal(keysA.filter((k) => keysB.includes(k)).length, 0, 'every changed file gets a new name');
    for (const k of keysA) assert.match(k, /^[a-zA-Z0-9._-]+$/, 'a key the 3.x schema takes');
    const caddy = svc(a, 'caddy');
    assert.deepEqual(caddy.configs, [
      { source: `caddyfile_${'c'.repeat(12)}`, target: '/etc/caddy/Caddyfile' },
    ]);
    assert.deepEqual(Object.keys(a.configs as Dict), [`caddyfile_${'c'.repeat(12)}`]);
  });

  it('turns tmpfs and shm_size into tmpfs mounts of the same size', () => {
    const { stack } = build();
    assert.deepEqual(svc(stack, 'proxy').volumes, [
      { type: 'tmpfs', target: '/tmp', tmpfs: { size: 64 * 1024 ** 2 } },
    ]);
    assert.ok(
      (svc(stack, 'postgres').volumes as unknown[]).some(
        (v) =>
          JSON.stringify(v) ===
          JSON.stringify({ type: 'tmpfs', target: '/dev/shm', tmpfs: { size: 128 * 1024 ** 2 } }),
      ),
    );
  });

  it('makes every network an overlay network, keeping internal and the users network name', () => {
    const { stack } = build();
    const nets = stack.networks as Record<string, Dict>;
    for (const n of Object.values(nets)) assert.equal(n.driver, 'overlay');
    assert.equal(nets.backend?.internal, true);
    assert.equal(nets.users?.internal, true);
    assert.equal(nets.users?.name, ref('BERTH_USERS_NETWORK:-berth-users'));
    // Compose's guard has no network at all; on a swarm it gets an internal one of its own.
    assert.deepEqual(nets.guard, { driver: 'overlay', internal: true });
    assert.deepEqual(svc(stack, 'docker-guard').networks, ['guard']);
    for (const [name, s] of Object.entries(stack.services as Record<string, Dict>)) {
      if (name === 'docker-guard') continue;
      const on = Array.isArray(s.networks) ? s.networks : Object.keys((s.networks as Dict) ?? {});
      assert.ok(!on.includes('guard'), `${name} is not on the guard's network`);
    }
  });

  it('applies the override: Swarm spawner, placement, the guard on every manager, host-mode ports', () => {
    const { stack } = build();
    const hub = svc(stack, 'hub');
    const env = hub.environment as Dict;
    assert.equal(env.BERTH_SPAWNER, 'swarm');
    assert.equal(env.BERTH_DB_HOST, 'postgres', "compose's environment is kept, key by key");
    assert.deepEqual((hub.deploy as Dict).placement, { constraints: ['node.role == manager'] });
    assert.equal(hub['x-secrets-owner'], undefined, 'x- keys of the override are consumed');
    const guard = svc(stack, 'docker-guard');
    assert.equal((guard.deploy as Dict).mode, 'global');
    assert.equal(guard.user, `1000:${ref('DOCKER_GID:-0')}`);
    for (const p of svc(stack, 'caddy').ports as Dict[]) assert.equal(p.mode, 'host');
    assert.equal(svc(stack, 'proxy').healthcheck, undefined, 'null removes (the proxy binds its own alias)');
    for (const [name, s] of Object.entries(stack.services as Record<string, Dict>))
      assert.equal((s.deploy as Dict).endpoint_mode, 'dnsrr', `${name}: no virtual IP`);
  });

  it('refuses what would deploy wrong, naming it', () => {
    const bad = (o: Dict) => () => build({ override: mergeOverride(override, o) });
    assert.throws(bad({ services: { hubb: { image: 'x' } } }), /names service hubb/);
    assert.throws(
      bad({ services: { hub: { 'x-secrets-owner': null } } }),
      /hub mounts secrets.*x-secrets-owner/,
    );
    assert.throws(
      bad({ services: { hub: { volumes: ['./config:/etc/berth/config:ro'] } } }),
      /hub binds \.\/config of this machine/,
    );
    assert.throws(
      bad({ configs: { caddyfile: { file: `./config/${ref('BERTH_CADDYFILE')}` } } }),
      /plain path/,
    );
    assert.throws(
      () => build({ secretFiles: () => [] }),
      (e: unknown) => {
        assert.ok(e instanceof StackFileError);
        assert.match(e.message, /secrets of .* are missing: run the init step first/);
        return true;
      },
    );
  });

  it('keeps secret names within what Swarm takes, the hash intact', () => {
    const long = secretKey('hub', 'tls/retired/proxy-client-ca-2026-11-23T21-53-00-000Z.crt', 'f'.repeat(64));
    assert.ok(long.length <= 50, long);
    assert.match(long, /^hub_tls_retired_.*_f{12}$/);
  });

  it('reads sizes as Compose writes them', () => {
    assert.equal(parseSize('64m'), 64 * 1024 ** 2);
    assert.equal(parseSize('1g'), 1024 ** 3);
    assert.equal(parseSize('512k'), 512 * 1024);
    assert.equal(parseSize(4096), 4096);
    assert.throws(() => parseSize('lots'), StackFileError);
  });
});
