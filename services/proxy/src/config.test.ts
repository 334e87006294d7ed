import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { ConfigError, loadConfig } from './config.ts';

const TOKEN = 'config-test-token-7f3a9c';
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('expected a ConfigError');
}

describe('loadConfig', () => {
  it('refuses to load without a token, naming both variables', () => {
    for (const env of [{}, { CONFIGPROXY_AUTH_TOKEN: '' }, { CONFIGPROXY_AUTH_TOKEN: '   ' }]) {
      const err = configError(() => loadConfig(env));
      assert.equal(err.variable, 'CONFIGPROXY_AUTH_TOKEN');
      assert.match(err.message, /CONFIGPROXY_AUTH_TOKEN/);
      assert.match(err.message, /BERTH_PROXY_AUTH_TOKEN_FILE/);
    }
  });

  it('has secure, documented defaults', () => {
    const { config, warnings } = loadConfig({ CONFIGPROXY_AUTH_TOKEN: TOKEN });
    assert.equal(config.authToken.reveal(), TOKEN);
    assert.equal(config.port, 8000);
    assert.equal(config.apiPort, 8001);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.apiHost, '0.0.0.0');
    assert.equal(config.defaultTarget, undefined);
    assert.equal(config.hostRouting, false);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.workers, 1);
    assert.deepEqual(warnings, []);
    assert.ok(Object.isFrozen(config));
  });

  it('reads the token from a file, trimmed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-proxy-'));
    try {
      const file = join(dir, 'token');
      await writeFile(file, `\n  ${TOKEN}\n`);
      const { config } = loadConfig({ BERTH_PROXY_AUTH_TOKEN_FILE: file });
      assert.equal(config.authToken.reveal(), TOKEN);
      await writeFile(file, '\n\n');
      assert.equal(
        configError(() => loadConfig({ BERTH_PROXY_AUTH_TOKEN_FILE: file })).variable,
        'BERTH_PROXY_AUTH_TOKEN_FILE',
      );
      const missing = configError(() => loadConfig({ BERTH_PROXY_AUTH_TOKEN_FILE: join(dir, 'nope') }));
      assert.match(missing.message, /BERTH_PROXY_AUTH_TOKEN_FILE: cannot read .*ENOENT/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses two token sources and tokens with whitespace, without echoing the token', () => {
    const both = configError(() =>
      loadConfig({ CONFIGPROXY_AUTH_TOKEN: TOKEN, BERTH_PROXY_AUTH_TOKEN_FILE: '/run/secrets/t' }),
    );
    assert.match(both.message, /only one/);
    const spaced = configError(() => loadConfig({ CONFIGPROXY_AUTH_TOKEN: `${TOKEN} ${TOKEN}` }));
    assert.doesNotMatch(spaced.message, new RegExp(TOKEN));
  });

  it('validates every knob and names the variable', () => {
    const cases: Record<string, string> = {
      BERTH_PROXY_PORT: '80a',
      BERTH_PROXY_API_PORT: '70000',
      BERTH_PROXY_HOST: 'bad host',
      BERTH_PROXY_DEFAULT_TARGET: 'ftp://hub:21',
      BERTH_PROXY_ERROR_TARGET: 'http://user:pw@hub:8081/hub/error',
      BERTH_PROXY_METRICS_PORT: '65536',
      BERTH_PROXY_HOST_ROUTING: 'maybe',
      BERTH_PROXY_LOG_LEVEL: 'loud',
      BERTH_PROXY_CONNECT_TIMEOUT_MS: '0',
      BERTH_PROXY_HEADERS_TIMEOUT_MS: '999999999',
      BERTH_PROXY_KEEP_ALIVE_TIMEOUT_MS: '-1',
      BERTH_PROXY_WORKERS: '0',
    };
    for (const [variable, value] of Object.entries(cases)) {
      const err = configError(() => loadConfig({ CONFIGPROXY_AUTH_TOKEN: TOKEN, [variable]: value }));
      assert.equal(err.variable, variable);
      assert.ok(err.message.startsWith(`${variable}: `), err.message);
      assert.doesNotMatch(err.message, new RegExp(TOKEN));
    }
  });

  it('parses valid values', () => {
    const { config } = loadConfig({
      CONFIGPROXY_AUTH_TOKEN: TOKEN,
      BERTH_PROXY_PORT: '0',
      BERTH_PROXY_API_HOST: '127.0.0.1',
      BERTH_PROXY_DEFAULT_TARGET: 'http://hub:8081',
      BERTH_PROXY_ERROR_TARGET: 'http://hub:8081/hub/error',
      BERTH_PROXY_METRICS_PORT: '9102',
      BERTH_PROXY_HOST_ROUTING: 'TRUE',
      BERTH_PROXY_LOG_LEVEL: 'DEBUG',
      BERTH_PROXY_WORKERS: '4',
    });
    assert.equal(config.workers, 4);
    assert.equal(config.port, 0);
    assert.equal(config.apiHost, '127.0.0.1');
    assert.equal(config.defaultTarget, 'http://hub:8081');
    assert.equal(config.errorTarget, 'http://hub:8081/hub/error');
    assert.equal(config.metricsPort, 9102);
    assert.equal(config.metricsHost, '0.0.0.0');
    assert.equal(config.hostRouting, true);
    assert.equal(config.logLevel, 'debug');
  });

  it('warns about unknown BERTH_PROXY_ variables (likely typos)', () => {
    const { warnings } = loadConfig({ CONFIGPROXY_AUTH_TOKEN: TOKEN, BERTH_PROXY_PROT: '1', OTHER: 'x' });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /BERTH_PROXY_PROT/);
  });

  it('never shows the token when the config is printed or serialized', () => {
    const { config } = loadConfig({ CONFIGPROXY_AUTH_TOKEN: TOKEN });
    assert.doesNotMatch(inspect(config, { depth: 5 }), new RegExp(TOKEN));
    assert.doesNotMatch(JSON.stringify(config), new RegExp(TOKEN));
    assert.doesNotMatch(`${config.authToken}`, new RegExp(TOKEN));
  });
});

describe('main', () => {
  it('exits non-zero with a clear message when no token is configured', async () => {
    const child = spawn(process.execPath, [MAIN], { env: {}, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.notEqual(code, 0);
    assert.notEqual(code, null);
    assert.match(stderr, /refuses to start without/);
    assert.match(stderr, /CONFIGPROXY_AUTH_TOKEN/);
  });

  it('starts, never logs the token, and exits 0 on SIGTERM', async () => {
    const env = {
      CONFIGPROXY_AUTH_TOKEN: TOKEN,
      BERTH_PROXY_PORT: '0',
      BERTH_PROXY_API_PORT: '0',
      BERTH_PROXY_HOST: '127.0.0.1',
      BERTH_PROXY_API_HOST: '127.0.0.1',
      BERTH_PROXY_LOG_LEVEL: 'trace',
    };
    const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const listening = new Promise<{ apiPort: number }>((resolve) => {
      const collect = (chunk: Buffer) => {
        output += chunk.toString();
        const line = output.split('\n').find((l) => l.includes('berth-proxy listening'));
        if (line !== undefined) resolve(JSON.parse(line) as { apiPort: number });
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
    });
    const { apiPort } = await listening;
    // A refused API call is logged; the presented credential must not be.
    const res = await fetch(`http://127.0.0.1:${apiPort}/api/routes`, {
      headers: { authorization: `token ${TOKEN}x` },
    });
    assert.equal(res.status, 403);
    const ok = await fetch(`http://127.0.0.1:${apiPort}/api/routes`, {
      headers: { authorization: `token ${TOKEN}` },
    });
    assert.equal(ok.status, 200);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0);
    assert.match(output, /"msg":"stopped"/);
    assert.doesNotMatch(output, new RegExp(TOKEN));
  });
});
