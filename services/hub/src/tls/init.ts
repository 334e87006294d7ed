/**
 * The init step's part of internal TLS: create the authorities once, and (re-)issue the hub's and the proxy's
 * certificates, each file 0600 and owned by the service that reads it.
 */
import { join } from 'node:path';
import { bundle, ensureLeaf, ensurePki, hubLeaf, type Owner, retireAuthorities, writeBundle } from './pki.ts';
import { AUTHORITY_NAMES, type AuthorityName } from './trust-graph.ts';

export interface InitTlsOptions {
  /** Root of the secrets volumes: `<dir>/hub/tls` and `<dir>/proxy/tls`. */
  readonly secretsDir: string;
  readonly hubOwner?: Owner;
  readonly proxyOwner?: Owner;
  readonly caDays: number;
  readonly serviceCertDays: number;
  /** DNS names the hub is reached by (servers' JUPYTERHUB_API_URL host, the proxy's default target). */
  readonly hubNames: readonly string[];
  /** DNS names of the proxy's REST API. */
  readonly proxyNames: readonly string[];
  /** Authorities to replace with new ones first (docs/security.md#rotating-the-authorities). */
  readonly rotate?: readonly AuthorityName[];
}

/** `BERTH_INTERNAL_TLS_ROTATE`: `all`, or a comma-separated list of authority names. */
export function parseRotate(raw: string | undefined): AuthorityName[] {
  const items = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.includes('all')) return [...AUTHORITY_NAMES];
  for (const i of items) {
    if (!(AUTHORITY_NAMES as readonly string[]).includes(i)) {
      throw new TypeError(
        `BERTH_INTERNAL_TLS_ROTATE: unknown authority ${JSON.stringify(i)} (${AUTHORITY_NAMES.join(', ')}, or all)`,
      );
    }
  }
  return items as AuthorityName[];
}

/** Returns `created …` / `kept …` lines for the init log (never key material). */
export async function initInternalTls(o: InitTlsOptions): Promise<string[]> {
  const hubDir = join(o.secretsDir, 'hub', 'tls');
  const proxyDir = join(o.secretsDir, 'proxy', 'tls');
  const hubFiles = o.hubOwner ? { owner: o.hubOwner } : {};
  const proxyFiles = o.proxyOwner ? { owner: o.proxyOwner } : {};
  const lines: string[] = [];
  for (const name of retireAuthorities(hubDir, o.rotate ?? [], hubFiles)) {
    lines.push(`retired ${join(hubDir, name)}.crt (a new one follows)`);
  }
  const { pki, created } = await ensurePki(hubDir, o.caDays, hubFiles);
  for (const name of created) lines.push(`created ${join(hubDir, name)}.crt`);
  const said = (issued: boolean, path: string) => lines.push(`${issued ? 'issued' : 'kept'} ${path}`);
  const a = pki.authorities;
  said(
    await ensureLeaf(hubDir, 'hub', a['hub-ca'], hubLeaf(o.hubNames, o.serviceCertDays), hubFiles),
    join(hubDir, 'hub.crt'),
  );
  said(
    await ensureLeaf(
      proxyDir,
      'api',
      a['proxy-api-ca'],
      {
        commonName: 'proxy-api',
        altNames: [...o.proxyNames, 'localhost', '127.0.0.1'],
        usage: 'server',
        validityDays: o.serviceCertDays,
      },
      proxyFiles,
    ),
    join(proxyDir, 'api.crt'),
  );
  said(
    await ensureLeaf(
      proxyDir,
      'client',
      a['proxy-client-ca'],
      { commonName: 'proxy-client', usage: 'client', validityDays: o.serviceCertDays },
      proxyFiles,
    ),
    join(proxyDir, 'client.crt'),
  );
  said(
    writeBundle(join(proxyDir, 'targets-ca.pem'), bundle(pki, 'proxyTargets'), proxyFiles),
    join(proxyDir, 'targets-ca.pem'),
  );
  said(
    writeBundle(join(proxyDir, 'api-clients-ca.pem'), bundle(pki, 'proxyApiClients'), proxyFiles),
    join(proxyDir, 'api-clients-ca.pem'),
  );
  return lines;
}
