import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { singleUserEnv } from './env.ts';

const base = {
  token: 't'.repeat(64),
  hubApiUrl: 'http://hub:8081/hub/api',
  publicUrl: 'https://jupyter.example.org',
  port: 8888,
  image: 'berth/singleuser:lab',
  defaultUrl: '/lab',
  adminEnv: {},
};

describe('the single-user environment contract (PROTOCOL.md)', () => {
  it('gives the default server every variable JupyterHub 3 to 6 servers read', () => {
    const env = singleUserEnv({ ...base, user: 'alice', serverName: '' });
    assert.equal(env.JUPYTERHUB_API_TOKEN, base.token);
    assert.equal(env.JPY_API_TOKEN, base.token);
    assert.equal(env.JUPYTERHUB_CLIENT_ID, 'jupyterhub-user-alice');
    assert.equal(env.JUPYTERHUB_API_URL, 'http://hub:8081/hub/api');
    assert.equal(env.JUPYTERHUB_ACTIVITY_URL, 'http://hub:8081/hub/api/users/alice/activity');
    assert.equal(env.JUPYTERHUB_BASE_URL, '/');
    assert.equal(env.JUPYTERHUB_SERVICE_PREFIX, '/user/alice/');
    assert.equal(env.JUPYTERHUB_SERVICE_URL, 'http://0.0.0.0:8888/user/alice/');
    assert.equal(env.JUPYTERHUB_OAUTH_CALLBACK_URL, '/user/alice/oauth_callback');
    assert.deepEqual(JSON.parse(env.JUPYTERHUB_OAUTH_ACCESS_SCOPES as string), [
      'access:servers!server=alice/',
      'access:servers!user=alice',
    ]);
    assert.equal(env.JUPYTERHUB_OAUTH_SCOPES, env.JUPYTERHUB_OAUTH_ACCESS_SCOPES);
    assert.equal(env.JUPYTERHUB_USER, 'alice');
    assert.equal(env.JUPYTERHUB_SERVER_NAME, '');
    assert.equal(env.JUPYTERHUB_PUBLIC_HUB_URL, 'https://jupyter.example.org/hub/');
    assert.equal(env.JUPYTERHUB_DISABLE_USER_CONFIG, '1');
    assert.equal(env.JUPYTERHUB_ALLOW_TOKEN_IN_URL, '0');
    assert.equal(env.JUPYTERHUB_DEFAULT_URL, '/lab');
    assert.equal(env.JUPYTER_IMAGE_SPEC, 'berth/singleuser:lab');
  });

  it('names a named server in prefix, client id and scopes', () => {
    const env = singleUserEnv({ ...base, user: 'alice', serverName: 'gpu' });
    assert.equal(env.JUPYTERHUB_SERVICE_PREFIX, '/user/alice/gpu/');
    assert.equal(env.JUPYTERHUB_CLIENT_ID, 'jupyterhub-user-alice-gpu');
    assert.match(env.JUPYTERHUB_OAUTH_ACCESS_SCOPES as string, /access:servers!server=alice\/gpu/);
  });

  it('applies admin environment last', () => {
    const env = singleUserEnv({
      ...base,
      user: 'alice',
      serverName: '',
      adminEnv: { TZ: 'UTC', JUPYTERHUB_DEFAULT_URL: '/tree' },
    });
    assert.equal(env.TZ, 'UTC');
    assert.equal(env.JUPYTERHUB_DEFAULT_URL, '/tree');
  });
});
