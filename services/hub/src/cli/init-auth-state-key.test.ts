import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildSealer } from '../auth/build.ts';
import { initSecrets } from './init-secrets.ts';

describe('init creates the auth-state key, so BERTH_AUTH_STATE_KEY_FILE works out of the box', () => {
  it('makes a 0600 key the hub accepts, and keeps it at the next start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-init-'));
    const me = `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`;
    const env = {
      BERTH_SECRETS_DIR: dir,
      BERTH_HUB_OWNER: me,
      BERTH_PROXY_OWNER: me,
      BERTH_POSTGRES_OWNER: me,
    };
    const first = initSecrets(env);
    const file = join(dir, 'hub', 'auth_state_key');
    assert.ok(first.includes(`created ${file}`), first.join('\n'));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const key = readFileSync(file, 'utf8');
    const sealer = buildSealer({ authStateKeyFile: file } as Parameters<typeof buildSealer>[0]);
    assert.ok(sealer, 'the hub reads it as BERTH_AUTH_STATE_KEY_FILE');
    assert.deepEqual(sealer.open(sealer.seal({ refresh_token: 'x' })), { refresh_token: 'x' });

    const second = initSecrets(env);
    assert.ok(second.includes(`kept ${file}`));
    assert.equal(readFileSync(file, 'utf8'), key, 'never replaced: that would lose every stored auth state');
  });
});
