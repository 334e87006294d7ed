/** Entry point of the Docker API guard (docs/security.md#the-docker-api-guard). */
import { hostname } from 'node:os';
import { GuardConfigError, loadGuardConfig } from './config.ts';
import { createLogger } from './log.ts';
import { findComposeProject, startGuard } from './server.ts';
import { Upstream } from './upstream.ts';

async function main(): Promise<void> {
  const config = loadGuardConfig();
  const log = createLogger(config.logLevel);
  const composeProject = await findComposeProject(config, new Upstream(config.dockerSocket), hostname());
  const guard = await startGuard(config, log, { composeProject });
  const shutdown = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    await guard.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  const known = err instanceof GuardConfigError;
  process.stderr.write(
    `berth-docker-guard: ${known ? (err as Error).message : String((err as Error)?.stack ?? err)}\n`,
  );
  process.exit(1);
});
