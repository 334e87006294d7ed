import assert from 'node:assert/strict';
import { BlockList } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { BrowserClient, login, xsrfFrom } from '../../services/hub/src/testing/browser-client.ts';
import { ComposeStack } from '../support/compose.ts';
import { runOk } from '../support/exec.ts';
import { jupyterApi, startServer } from '../support/jupyter.ts';

/**
 * The walking skeleton's path, logged in through a real directory: the compose stack with the `ldap-demo`
 * profile (slapd over StartTLS with its own CA), configured only through the variables docs/authentication.md
 * lists.
 */
describe('LDAP login in the compose stack (ldap-demo profile)', { timeout: 900_000 }, () => {
  let stack: ComposeStack;

  before(async () => {
    stack = await ComposeStack.create({
      COMPOSE_PROFILES: 'ldap-demo',
      BERTH_AUTHENTICATORS: 'ldap,local',
      BERTH_ALLOWED_GROUPS: 'researchers',
      BERTH_ADMIN_GROUPS: 'hub-admins',
      BERTH_LDAP_URL: 'ldap://openldap',
      BERTH_LDAP_START_TLS: '1',
      BERTH_LDAP_CA_FILE: '/run/berth/ldap-demo/ca.crt',
      BERTH_LDAP_BIND_DN_TEMPLATE: 'uid={username},ou=people,dc=example,dc=org',
    });
    await stack.up();
  });

  after(async () => {
    if (stack && process.env.BERTH_E2E_KEEP !== '1') await stack.down();
  });

  it('logs alice in with her directory password, makes her admin through her group, and starts her server', async () => {
    const alice = new BrowserClient(stack.base, stack.dispatcher);
    const res = await login(alice, 'alice', 'alice-password');
    assert.equal(new URL(res.url).pathname, '/hub/home', `ended at ${res.url} (${res.status})`);
    const home = await alice.get('/hub/home');
    const me = await alice.request('GET', '/hub/api/user', {
      headers: { 'x-xsrftoken': xsrfFrom(home.body) },
    });
    assert.equal(me.status, 200, me.body.slice(0, 200));
    const model = JSON.parse(me.body) as { name: string; admin: boolean };
    assert.equal(model.name, 'alice');
    assert.equal(model.admin, true, 'hub-admins grants admin');
    const lab = await startServer(alice, 'alice');
    assert.equal(lab.status, 200, `landed at ${lab.url}`);
    const status = await jupyterApi(alice, 'GET', '/user/alice/api/status');
    assert.equal(status.status, 200);
  });

  it("records the client's own address, forwarded by Caddy and the proxy, not theirs", async () => {
    const addresses = async (service: string) => {
      const r = await runOk('docker', [
        'inspect',
        '-f',
        '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}',
        await stack.containerId(service),
      ]);
      return r.stdout.trim().split(/\s+/);
    };
    const middle = [...(await addresses('caddy')), ...(await addresses('proxy'))];
    const rows = await stack.composeOk([
      ...['exec', '-T', 'postgres', 'psql', '-U', 'berth', '-d', 'berth', '-tAc'],
      "SELECT ip FROM audit_log WHERE action = 'login' AND actor = 'alice'",
    ]);
    const ips = rows.stdout.split('\n').filter(Boolean);
    assert.ok(ips.length > 0, 'the login was audited');
    // This test's client reaches Caddy from the host, through the edge network's gateway.
    const net = await runOk('docker', [
      ...['network', 'inspect', `${stack.project}_edge`, '-f'],
      '{{range .IPAM.Config}}{{.Subnet}} {{end}}',
    ]);
    const edge = new BlockList();
    for (const cidr of net.stdout.trim().split(/\s+/)) {
      const [a = '', bits = ''] = cidr.split('/');
      if (a.includes('.')) edge.addSubnet(a, Number(bits), 'ipv4');
    }
    for (const ip of ips) {
      assert.ok(!middle.includes(ip), `${ip} is Caddy's or the proxy's address (${middle.join(', ')})`);
      assert.ok(edge.check(ip, 'ipv4'), `${ip} is the client as Caddy saw it (edge: ${net.stdout.trim()})`);
    }
  });

  it('refuses a wrong directory password and a user outside the allowed groups alike', async () => {
    for (const [user, pw] of [
      ['alice', 'not-her-password'],
      ['carol', 'carol-password'],
      ['nobody', 'whatever-password'],
    ] as const) {
      const c = new BrowserClient(stack.base, stack.dispatcher);
      const res = await login(c, user, pw);
      assert.equal(res.status, 403, `${user}: ${res.status}`);
      assert.match(res.body, /Invalid username or password/);
    }
  });
});
