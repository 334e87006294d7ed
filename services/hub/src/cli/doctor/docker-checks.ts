import { hostname } from 'node:os';
import type Dockerode from 'dockerode';
import tar from 'tar-stream';
import { type Finding, fail, pass, warn } from './report.ts';

type Inspect = Dockerode.ContainerInspectInfo;

export interface DeploymentView {
  /** The hub's own container, when the doctor runs inside it. */
  readonly self: Inspect | undefined;
  /** Containers of the same compose project, by service name. */
  readonly services: ReadonlyMap<string, Inspect>;
  /** Running user servers of this deployment. */
  readonly userServers: readonly Inspect[];
  readonly networks: ReadonlyMap<string, Dockerode.NetworkInspectInfo>;
}

/** What the doctor sees of the deployment through the Docker API; undefined parts when it cannot ask. */
export async function viewDeployment(docker: Dockerode, deploymentId: string): Promise<DeploymentView> {
  const self = await docker
    .getContainer(hostname())
    .inspect()
    .catch(() => undefined);
  const project = self?.Config.Labels?.['com.docker.compose.project'];
  const services = new Map<string, Inspect>();
  if (project) {
    const list = await docker.listContainers({
      filters: { label: [`com.docker.compose.project=${project}`] },
    });
    for (const c of list) {
      const info = await docker.getContainer(c.Id).inspect();
      const svc = info.Config.Labels?.['com.docker.compose.service'];
      if (svc) services.set(svc, info);
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

/** TLS at the edge, the HTTP→HTTPS redirect and HSTS, from the TLS proxy's container and its Caddyfile. */
export async function edgeChecks(
  docker: Dockerode,
  v: DeploymentView,
  publicUrl: string,
): Promise<Finding[]> {
  const out: Finding[] = [];
  const https = publicUrl.startsWith('https://');
  out.push(
    https
      ? pass('edge.public-url', `public URL ${publicUrl} is https`)
      : fail('edge.public-url', `public URL ${publicUrl} is not https`),
  );
  const caddy = v.services.get('caddy');
  if (!caddy) {
    const why = v.self ? 'no caddy service in this compose project' : 'not running in the compose deployment';
    out.push(warn('edge.tls', `${why}: check that a TLS proxy terminates HTTPS in front of the proxy`));
    out.push(warn('edge.hsts', `${why}: check that it sends Strict-Transport-Security`));
    return out;
  }
  const ports = published(caddy);
  let file = '';
  try {
    file = await readContainerFile(docker, caddy.Id, '/etc/caddy/Caddyfile');
  } catch (e) {
    out.push(warn('edge.tls', `cannot read caddy's Caddyfile: ${(e as Error).message}`));
    return out;
  }
  const noAuto = /auto_https\s+(off|disable_redirects)/.test(file);
  const protocols = /protocols\s+tls1\.([23])/.exec(file);
  const running = caddy.State.Running;
  if (!running) out.push(fail('edge.tls', 'the caddy container is not running'));
  else if (!ports.includes('443/tcp')) out.push(fail('edge.tls', 'caddy publishes no port 443'));
  else if (protocols && Number(protocols[1]) < 2) out.push(fail('edge.tls', 'TLS older than 1.2 is allowed'));
  else
    out.push(
      pass('edge.tls', `caddy terminates TLS on ${ports.join(', ')}, TLS 1.2+ (Mozilla intermediate)`),
    );
  if (noAuto)
    out.push(fail('edge.http-redirect', 'auto_https is off: plain HTTP is not redirected to HTTPS'));
  else if (ports.includes('80/tcp')) out.push(pass('edge.http-redirect', 'port 80 only redirects to HTTPS'));
  else out.push(pass('edge.http-redirect', 'no plain-HTTP port is published'));
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
      warn('network.published-ports', 'not running in the compose deployment: cannot see its containers'),
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
  for (const u of v.userServers) {
    const nets = Object.keys(u.NetworkSettings.Networks ?? {});
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
        `${v.userServers.length} running server(s), each on its own internal network`,
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

/** How the hub reaches Docker: the most dangerous privilege in the system. */
export function dockerAccessCheck(v: DeploymentView, dockerHost: string | undefined): Finding {
  if (dockerHost && /^(tcp|https?):/.test(dockerHost)) {
    return pass('docker.access', `the hub reaches Docker through ${dockerHost} (a filtering socket proxy)`);
  }
  const sock = (v.self?.Mounts ?? []).find((m) => m.Destination === '/var/run/docker.sock');
  if (sock) {
    return warn(
      'docker.access',
      'the hub holds the raw Docker socket: full control of the engine (docs/security.md lists what it uses; a filtering socket proxy would narrow it)',
    );
  }
  return pass('docker.access', 'no Docker socket is mounted into the hub container');
}

/** The hub's own environment carries no secret values (they come from files). */
export function hubEnvCheck(v: DeploymentView): Finding {
  if (!v.self) return warn('secrets.hub-env', 'not running in a container: cannot see the hub environment');
  const env = v.self.Config.Env ?? [];
  const direct = env
    .map((e) => e.slice(0, e.indexOf('=')))
    .filter((k) =>
      [
        'CONFIGPROXY_AUTH_TOKEN',
        'BERTH_DB_PASSWORD',
        'BERTH_COOKIE_SECRET',
        'BERTH_OIDC_CLIENT_SECRET',
      ].includes(k),
    );
  const url = env.find((e) => e.startsWith('BERTH_DATABASE_URL='));
  if (url && /:\/\/[^/:@]+:[^/@]+@/.test(url)) direct.push('BERTH_DATABASE_URL (with a password)');
  return direct.length > 0
    ? warn('secrets.hub-env', `secrets passed as environment variables: ${direct.join(', ')}; use *_FILE`)
    : pass('secrets.hub-env', 'no secret is passed in the hub container environment (all from files)');
}
