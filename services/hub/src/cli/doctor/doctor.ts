import { readFileSync } from 'node:fs';
import Dockerode from 'dockerode';
import { loadConfig } from '../../config/load.ts';
import { createDatabase } from '../../db/database.ts';
import {
  containerChecks,
  type DeploymentView,
  dockerAccessCheck,
  edgeChecks,
  egressCheck,
  hubEnvCheck,
  networkChecks,
  viewDeployment,
} from './docker-checks.ts';
import { secretFile } from './file-checks.ts';
import { configChecks, databaseChecks, liveChecks } from './hub-checks.ts';
import { type Finding, fail, warn } from './report.ts';

/** Where the compose deployment mounts its Caddyfile into the hub too (./config, read-only). */
const CADDYFILES = ['/etc/berth/config/Caddyfile'];

const readSecret = (path: string | undefined): string | undefined => {
  try {
    return path ? readFileSync(path, 'utf8').trim() : undefined;
  } catch {
    return undefined;
  }
};

/**
 * `berth doctor`: every item of SECURITY-MODEL.md as it stands in the running deployment, from inside the hub
 * container (its files, its database, the Docker API it already holds, and the hub itself).
 */
export async function runDoctor(env: NodeJS.ProcessEnv = process.env): Promise<Finding[]> {
  const out: Finding[] = [];
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(env);
  } catch (e) {
    return [fail('config', `the hub's configuration does not load: ${(e as Error).message}`)];
  }
  const docker = new Dockerode();
  let view: DeploymentView | undefined;
  try {
    view = await viewDeployment(docker, config.spawner.deploymentId);
  } catch (e) {
    out.push(warn('docker.view', `cannot inspect the deployment through Docker: ${(e as Error).message}`));
  }
  if (view) out.push(...(await edgeChecks(docker, view, config.publicUrl, CADDYFILES)));
  out.push(
    secretFile('secrets.cookie-secret', config.secrets.cookieSecretFile, 'cookie secret', /^[0-9a-f]{64}$/),
    secretFile('secrets.proxy-token', env.CONFIGPROXY_AUTH_TOKEN_FILE, 'proxy API token'),
    secretFile('secrets.db-password', env.BERTH_DB_PASSWORD_FILE, 'database password'),
  );
  out.push(hubEnvCheck(env));
  const db = createDatabase(config.database.url, 1);
  try {
    out.push(...(await databaseChecks(db)));
  } catch (e) {
    out.push(fail('database', `cannot read the database: ${(e as Error).message}`));
  } finally {
    await db.destroy();
  }
  const running = (view?.userServers ?? []).map((u) => ({ image: u.Config.Image }));
  out.push(...configChecks(config, running));
  if (view) {
    out.push(...networkChecks(view, config.spawner.isolation));
    const secrets = [
      readSecret(config.secrets.cookieSecretFile),
      config.proxy.authToken,
      readSecret(env.BERTH_DB_PASSWORD_FILE),
    ].filter((s): s is string => Boolean(s));
    out.push(...containerChecks(view, secrets));
  }
  out.push(await dockerAccessCheck(docker, env.DOCKER_HOST));
  out.push(await egressCheck());
  const tls = (config as { internalTls?: { enabled?: boolean; dir?: string } }).internalTls;
  const scheme = tls?.enabled ? 'https' : 'http';
  out.push(
    ...(await liveChecks(`${scheme}://127.0.0.1:${config.bind.port}`, tls?.enabled ? tls.dir : undefined)),
  );
  return out;
}
