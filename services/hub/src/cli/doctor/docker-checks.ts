import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { hostname } from 'node:os';
import type Dockerode from 'dockerode';
import tar from 'tar-stream';
import { type Finding, fail, pass, warn } from './report.ts';

type Inspect = Dockerode.ContainerInspectInfo;

const ICC = 'com.docker.network.bridge.enable_icc';

export interface DeploymentView {
  /** The hub's own container, when the doctor runs inside it. */
  readonly self: Inspect | undefined;
  /** Containers of the same compose project, by service name. */
  readonly services: ReadonlyMap<string, Inspect>;
  /** Running user servers of this deployment. */
  readonly userServers: readonly Inspect[];
  readonly networks: ReadonlyMap<string, Dockerode.NetworkInspectInfo>;
}

/**
 * What the doctor sees of the deployment through the Docker API. Behind the Docker API guard the hub sees only
 * its user servers and their networks: the compose services stay invisible, and the checks say so.
 */
export async function viewDeployment(docker: Dockerode, deploymentId: string): Promise<DeploymentView> {
  const self = await docker
    .getContainer(hostname())
    .inspect()
    .catch(() => undefined);
  const project = self?.Config.Labels?.['com.docker.compose.project'];
  const services = new Map<string, Inspect>();
  if (project) {
    const list = await docker
      .listContainers({ filters: { label: [`com.docker.compose.project=${project}`] } })
      .catch(() => []);
    for (const c of list) {
      const info = await docker
        .getContainer(c.Id)
        .inspect()
        .catch(() => undefined);
      const svc = info?.Config.Labels?.['com.docker.compose.service'];
      if (info && svc) services.set(svc, info);
    }
  }
  const users = await docker.listContainers({ filters: { label: [`org.berth.deployment=${deploymentId}`] } });
  const userServers = await Promise.all(users.map((c) => docker.getContainer(c.Id).inspect()));
  const networks = new Map<string, Dockerode.NetworkInspectInfo>();
  const names = new Set<string>();
  for (const c of [...services.values(), ...userServers]) {
    for (const n of Object.keys(c.NetworkSettings.Networks ?? {})) names.add(n);
  }
  for (const n of names) {
    const info = await docker
      .getNetwork(n)
      .inspect()
      .catch(() => undefined);
    if (info) networks.set(n, info as Dockerode.NetworkInspectInfo);
  }
  return { self, services, userServers, networks };
}

/** One file out of a container, through the Docker API's archive endpoint. */
export async function readContainerFile(docker: Dockerode, id: string, path: string): Promise<string> {
  const stream = await docker.getContainer(id).getArchive({ path });
  const extract = tar.extract();
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    extract.on('entry', (_h, s, next) => {
      s.on('data', (c: unknown) => {
        chunks.push(c as Buffer);
      });
      s.on('end', next);
      s.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
    stream.pipe(extract);
  });
  return Buffer.concat(chunks).toString('utf8');
}

const published = (c: Inspect): string[] =>
  Object.entries(c.NetworkSettings.Ports ?? {})
    .filter(([, b]) => (b ?? []).some((x) => x.HostPort))
    .map(([p]) => p);

/**
 * TLS at the edge, the HTTP→HTTPS redirect and HSTS: from the caddy container and its Caddyfile when the hub can
 * see it, else from the Caddyfile the deployment also mounts into the hub (`./config`, read-only).
 */
export async function edgeChecks(
  docker: Dockerode,
  v: DeploymentView,
  publicUrl: string,
  caddyfiles: readonly string[],
): Promise<Finding[]> {
  const out: Finding[] = [];
  out.push(
    publicUrl.startsWith('https://')
      ? pass('edge.public-url', `public URL ${publicUrl} is https`)
      : fail('edge.public-url', `public URL ${publicUrl} is not https`),
  );
  const caddy = v.services.get('caddy');
  let file: string | undefined;
  let source = '';
  if (caddy) {
    file = await readContainerFile(docker, caddy.Id, '/etc/caddy/Caddyfile').catch(() => undefined);
    source = "caddy's /etc/caddy/Caddyfile";
  }
  for (const path of caddyfiles) {
    if (file !== undefined) break;
    try {
      file = readFileSync(path, 'utf8');
      source = path;
    } catch {}
  }
  if (file === undefined) {
    out.push(warn('edge.tls', 'no Caddyfile visible from here: check that a TLS proxy terminates HTTPS'));
    out.push(
      warn('edge.http-redirect', 'no Caddyfile visible from here: check that HTTP redirects to HTTPS'),
    );
    out.push(warn('edge.hsts', 'no Caddyfile visible from here: check that the edge sends HSTS'));
    return out;
  }
  const noAuto = /auto_https\s+(off|disable_redirects)/.test(file);
  const protocols = /protocols\s+tls1\.([0-3])/.exec(file);
  const plainSite = /^\s*http:\/\//m.test(file);
  const ports = caddy ? published(caddy) : undefined;
  if (caddy && !caddy.State.Running) out.push(fail('edge.tls', 'the caddy container is not running'));
  else if (ports && !ports.includes('443/tcp')) out.push(fail('edge.tls', 'caddy publishes no port 443'));
  else if (protocols && Number(protocols[1]) < 2) {
    out.push(fail('edge.tls', `TLS older than 1.2 is allowed (${source})`));
  } else if (plainSite) out.push(fail('edge.tls', `a site is served over plain http:// (${source})`));
  else {
    const where = ports ? `on ${ports.join(', ')}` : `(${source}; caddy itself is not visible from here)`;
    out.push(pass('edge.tls', `caddy terminates TLS ${where}, TLS 1.2+ only`));
  }
  if (noAuto) out.push(fail('edge.http-redirect', `auto_https is off: HTTP is not redirected (${source})`));
  else out.push(pass('edge.http-redirect', 'plain HTTP only redirects to HTTPS (Caddy automatic HTTPS)'));
  const hsts = /Strict-Transport-Security\s+"?max-age=(\d+)/i.exec(file);
  if (!hsts) out.push(fail('edge.hsts', 'the Caddyfile sets no Strict-Transport-Security header'));
  else if (Number(hsts[1]) < 15_552_000)
    out.push(warn('edge.hsts', `HSTS max-age=${hsts[1]} is under 180 days`));
  else out.push(pass('edge.hsts', `HSTS max-age=${hsts[1]}`));
  return out;
}

/** The hub's internal ports and the proxy API are never published; backend networks have no egress. */
export function networkChecks(v: DeploymentView, isolation: string): Finding[] {
  const out: Finding[] = [];
  if (v.services.size === 0) {
    out.push(
      warn(
        'network.published-ports',
        'the compose services are not visible from the hub (behind the Docker API guard it sees only user servers): `docker compose ps` on the host lists what is published',
      ),
    );
  } else {
    const exposed = [...v.services.entries()]
      .filter(([name]) => name !== 'caddy' && name !== 'oidc-demo')
      .map(([name, c]) => [name, published(c)] as const)
      .filter(([, p]) => p.length > 0);
    out.push(
      exposed.length === 0
        ? pass(
            'network.published-ports',
            'only the TLS proxy publishes ports (hub, proxy API and Postgres do not)',
          )
        : fail(
            'network.published-ports',
            exposed.map(([n, p]) => `${n} publishes ${p.join(', ')}`).join('; '),
          ),
    );
    const external = (c: Inspect | undefined) =>
      Object.keys(c?.NetworkSettings.Networks ?? {}).filter((n) => v.networks.get(n)?.Internal !== true);
    const bad: string[] = [];
    for (const svc of ['hub', 'postgres']) {
      const ext = external(v.services.get(svc));
      if (ext.length > 0) bad.push(`${svc} is on non-internal network(s) ${ext.join(', ')}`);
    }
    const pgNets = Object.keys(v.services.get('postgres')?.NetworkSettings.Networks ?? {});
    const hubNets = new Set(Object.keys(v.self?.NetworkSettings.Networks ?? {}));
    const shared = pgNets.filter((n) => v.userServers.some((u) => n in (u.NetworkSettings.Networks ?? {})));
    if (shared.length > 0) bad.push(`postgres shares ${shared.join(', ')} with user servers`);
    out.push(
      bad.length === 0
        ? pass(
            'network.internal',
            `hub and postgres sit on internal networks only (${[...hubNets].length} for the hub)`,
          )
        : fail('network.internal', bad.join('; ')),
    );
  }
  const leaky: string[] = [];
  // A profile may allow egress: its servers also join the deployment's egress network, a bridge with a route out
  // on which servers cannot reach each other (ICC off). Any other route out is a leak.
  const egress = (n: string) => {
    const info = v.networks.get(n);
    return info?.Labels?.['org.berth.egress'] !== undefined && info.Options?.[ICC] === 'false';
  };
  let withEgress = 0;
  for (const u of v.userServers) {
    const nets = Object.keys(u.NetworkSettings.Networks ?? {}).filter((n) => !egress(n));
    if (nets.length < Object.keys(u.NetworkSettings.Networks ?? {}).length) withEgress++;
    const ext = nets.filter((n) => v.networks.get(n)?.Internal !== true);
    if (ext.length > 0) leaky.push(`${u.Name.slice(1)} on ${ext.join(', ')}`);
    if (isolation === 'per-server') {
      const others = v.userServers.filter(
        (o) => o.Id !== u.Id && nets.some((n) => n in (o.NetworkSettings.Networks ?? {})),
      );
      if (others.length > 0)
        leaky.push(`${u.Name.slice(1)} shares a network with ${others[0]?.Name.slice(1)}`);
    }
  }
  if (leaky.length > 0) out.push(fail('network.server-isolation', leaky.join('; ')));
  else if (isolation !== 'per-server') {
    out.push(
      warn('network.server-isolation', `BERTH_NETWORK_ISOLATION=${isolation}: user servers share a network`),
    );
  } else {
    out.push(
      pass(
        'network.server-isolation',
        `${v.userServers.length} running server(s), each on its own internal network${withEgress ? ` (${withEgress} with its profile's egress, ICC off)` : ''}`,
      ),
    );
  }
  return out;
}

/** Every running user server is hardened as SECURITY-MODEL.md says, and holds no secret but its own. */
export function containerChecks(v: DeploymentView, secrets: readonly string[]): Finding[] {
  const bad: string[] = [];
  const leaks: string[] = [];
  const protocol: string[] = [];
  for (const u of v.userServers) {
    const h = u.HostConfig;
    const name = u.Name.slice(1);
    const why: string[] = [];
    if (!h.ReadonlyRootfs) why.push('writable root filesystem');
    if (!((h.CapDrop ?? []) as string[]).some((c) => c.toUpperCase() === 'ALL'))
      why.push('capabilities not all dropped');
    if ((h.CapAdd ?? []).length > 0) why.push(`capabilities added: ${h.CapAdd?.join(',')}`);
    if (!((h.SecurityOpt ?? []) as string[]).some((s) => s.startsWith('no-new-privileges')))
      why.push('may gain privileges');
    if (h.Privileged) why.push('privileged');
    if (!h.Memory) why.push('no memory limit');
    if (!h.PidsLimit || h.PidsLimit < 0) why.push('no pids limit');
    if (!h.NanoCpus && !h.CpuQuota) why.push('no CPU limit');
    const user = u.Config.User ?? '';
    if (user === '' || user === 'root' || user === '0' || user.startsWith('0:')) why.push('runs as root');
    const binds = (u.Mounts ?? []).filter((m) => m.Type === 'bind');
    if (binds.length > 0) why.push(`host paths mounted: ${binds.map((m) => m.Source).join(', ')}`);
    if (why.length > 0) bad.push(`${name}: ${why.join(', ')}`);
    const env = u.Config.Env ?? [];
    if (secrets.some((s) => s.length >= 16 && env.some((e) => e.includes(s)))) leaks.push(name);
    const get = (k: string) => env.find((e) => e.startsWith(`${k}=`))?.slice(k.length + 1);
    if (get('JUPYTERHUB_ALLOW_TOKEN_IN_URL') !== '0')
      protocol.push(`${name}: JUPYTERHUB_ALLOW_TOKEN_IN_URL is not 0`);
    if (get('JUPYTERHUB_DISABLE_USER_CONFIG') !== '1')
      protocol.push(`${name}: JUPYTERHUB_DISABLE_USER_CONFIG is not 1`);
  }
  const n = v.userServers.length;
  return [
    bad.length > 0
      ? fail('containers.hardening', bad.join('; '))
      : pass(
          'containers.hardening',
          `${n} running server(s): read-only root, no capabilities, no-new-privileges, non-root, limits, no host mounts`,
        ),
    leaks.length > 0
      ? fail('secrets.user-env', `hub secrets in the environment of ${leaks.join(', ')}`)
      : pass('secrets.user-env', `no hub secret in the environment of ${n} running server(s)`),
    protocol.length > 0
      ? fail('containers.server-config', protocol.join('; '))
      : pass(
          'containers.server-config',
          'tokens in URLs refused and ~/.jupyter ignored on every running server',
        ),
  ];
}

/**
 * How the hub reaches Docker, the most dangerous privilege in the system, tried live: a call the spawner never
 * makes (GET /info) must be refused.
 */
export async function dockerAccessCheck(docker: Dockerode, dockerHost: string | undefined): Promise<Finding> {
  const via = dockerHost ?? 'unix:///var/run/docker.sock';
  try {
    await docker.info();
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 403) {
      return pass(
        'docker.access',
        `the hub reaches Docker only through a guard (${via}): GET /info is refused`,
      );
    }
    return warn('docker.access', `cannot ask Docker through ${via}: ${(e as Error).message}`);
  }
  return warn(
    'docker.access',
    `the hub has the whole Docker API through ${via} (GET /info answered): full control of the engine`,
  );
}

const PUBLIC_PROBES: readonly (readonly [string, number])[] = [
  ['1.1.1.1', 443],
  ['8.8.8.8', 53],
];

/** The hub's own networks reach nothing outside (they are `internal`): tried live. */
export async function egressCheck(targets = PUBLIC_PROBES): Promise<Finding> {
  const reached: string[] = [];
  await Promise.all(
    targets.map(
      ([host, port]) =>
        new Promise<void>((resolve) => {
          const sock = connect({ host, port, timeout: 1500 });
          const done = (ok: boolean) => {
            if (ok) reached.push(`${host}:${port}`);
            sock.destroy();
            resolve();
          };
          sock.once('connect', () => done(true));
          sock.once('timeout', () => done(false));
          sock.once('error', () => done(false));
        }),
    ),
  );
  const tried = targets.map(([h, p]) => `${h}:${p}`).join(', ');
  return reached.length > 0
    ? fail(
        'network.hub-egress',
        `the hub reaches the internet (${reached.join(', ')}): its networks are not internal`,
      )
    : pass('network.hub-egress', `the hub reaches no public address (tried ${tried})`);
}

/** The hub's own environment (the doctor runs with it) carries no secret values: they come from files. */
export function hubEnvCheck(env: NodeJS.ProcessEnv): Finding {
  const direct = [
    'CONFIGPROXY_AUTH_TOKEN',
    'BERTH_DB_PASSWORD',
    'BERTH_COOKIE_SECRET',
    'BERTH_OIDC_CLIENT_SECRET',
  ].filter((k) => env[k]);
  if (env.BERTH_DATABASE_URL && /:\/\/[^/:@]+:[^/@]+@/.test(env.BERTH_DATABASE_URL)) {
    direct.push('BERTH_DATABASE_URL (with a password)');
  }
  return direct.length > 0
    ? warn('secrets.hub-env', `secrets passed as environment variables: ${direct.join(', ')}; use *_FILE`)
    : pass('secrets.hub-env', 'no secret is passed in the hub environment (all from *_FILE files)');
}
