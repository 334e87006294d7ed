/** Entry point: read the configuration once, start, stop gracefully on SIGTERM/SIGINT. */
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { startProxy } from './start.ts';

async function main(): Promise<void> {
  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`berth-proxy: configuration error: ${err.message}\n`);
    process.exitCode = 1;
    return;
  }
  const { config, warnings } = loaded;
  const log = createLogger(config.logLevel);
  for (const warning of warnings) log.warn(warning);

  const running = await startProxy(config, { logger: log });
  log.info(
    {
      host: config.host,
      port: running.port,
      apiHost: config.apiHost,
      apiPort: running.apiPort,
      defaultTarget: config.defaultTarget ?? null,
      hostRouting: config.hostRouting,
      workers: config.workers,
    },
    'berth-proxy listening',
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down');
    running.close().then(
      () => log.info('stopped'),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`berth-proxy: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
