import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { GenericContainer, type StartedTestContainer, Wait } from 'testcontainers';

/** The image from images/openldap (npm run images:offline -- openldap). */
export const OPENLDAP_IMAGE = process.env.BERTH_TEST_OPENLDAP_IMAGE ?? 'berth/openldap:2.5';
export const BASE_DN = 'dc=example,dc=org';
export const PEOPLE = `ou=people,${BASE_DN}`;
export const GROUPS = `ou=groups,${BASE_DN}`;
export const SERVICE_DN = `cn=berth,ou=services,${BASE_DN}`;
export const SERVICE_PASSWORD = 'berth-service-password';
const ADMIN_DN = `cn=admin,${BASE_DN}`;
const ADMIN_PASSWORD = 'admin-password';

export interface OpenLdap {
  /** ldap://127.0.0.1:<port> (plain and StartTLS). */
  readonly url: string;
  /** ldaps://127.0.0.1:<port>. */
  readonly ldapsUrl: string;
  /** The test CA that signed the server's certificate (PEM), and a file holding it. */
  readonly ca: string;
  readonly caFile: string;
  /** Create a group (groupOfNames) under ou=groups whose members are these DNs, as the directory's admin. */
  addGroup(cn: string, memberDns: readonly string[]): Promise<void>;
  /** Add or remove a user (by uid) from a group (by cn), as the directory's admin. */
  setMember(uid: string, group: string, member: boolean): Promise<void>;
  stop(): Promise<void>;
}

/** A real slapd seeded with alice, bob and carol. Ready once an anonymous base search answers. */
export async function startOpenLdap(): Promise<OpenLdap> {
  const c: StartedTestContainer = await new GenericContainer(OPENLDAP_IMAGE)
    .withExposedPorts(389, 636)
    .withWaitStrategy(
      Wait.forSuccessfulCommand('ldapsearch -x -H ldap://127.0.0.1 -s base -b "" namingContexts'),
    )
    .withStartupTimeout(30_000)
    .start();
  const ca = (await c.exec(['cat', '/etc/ldap/tls/ca.crt'])).output;
  const caFile = join(mkdtempSync(join(tmpdir(), 'berth-ldap-')), 'ca.crt');
  writeFileSync(caFile, ca);
  const url = `ldap://127.0.0.1:${c.getMappedPort(389)}`;
  return {
    url,
    ldapsUrl: `ldaps://127.0.0.1:${c.getMappedPort(636)}`,
    ca,
    caFile,
    async setMember(uid, group, member) {
      const client = new Client({ url, timeout: 5000 });
      try {
        await client.bind(ADMIN_DN, ADMIN_PASSWORD);
        await client.modify(
          `cn=${group},${GROUPS}`,
          new Change({
            operation: member ? 'add' : 'delete',
            modification: new Attribute({ type: 'member', values: [`uid=${uid},${PEOPLE}`] }),
          }),
        );
      } finally {
        await client.unbind();
      }
    },
    async addGroup(cn, memberDns) {
      const client = new Client({ url, timeout: 5000 });
      try {
        await client.bind(ADMIN_DN, ADMIN_PASSWORD);
        await client.add(`cn=${cn},${GROUPS}`, { objectClass: 'groupOfNames', cn, member: [...memberDns] });
      } finally {
        await client.unbind();
      }
    },
    async stop() {
      await c.stop();
    },
  };
}
