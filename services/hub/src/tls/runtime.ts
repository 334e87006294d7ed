/**
 * The hub's internal TLS at run time: its listener's options, its client identities toward user servers and
 * the proxy's REST API, and the issuer of per-server certificates.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SecureContextOptions } from 'node:tls';
import { Agent, fetch as undiciFetch } from 'undici';
import { type ReadyOutcome, type WaitOptions, waitForServer } from '../servers/wait-ready.ts';
import { issueCertificate, type KeyPairPem } from './ca.ts';
import { KeyPool } from './key-pool.ts';
import { bundle, ensureLeaf, ensurePki, hubLeaf, loadPki, type Pki, PkiError } from './pki.ts';

export interface ServerTlsFiles {
  readonly keyPem: string;
  readonly certPem: string;
  /** JUPYTERHUB_SSL_CLIENT_CA: the clients the server accepts, and how it verifies the hub. */
  readonly clientCaPem: string;
}

/** What a spawner needs to give a server its identity: a certificate for the names it is reached by. */
export interface ServerCertIssuer {
  issue(req: { user: string; serverName: string; hostnames: readonly string[] }): Promise<ServerTlsFiles>;
}

export interface InternalTls extends ServerCertIssuer {
  readonly pki: Pki;
  /** The hub's own certificate (hub-ca): its listener's, and its client identity. */
  readonly hub: KeyPairPem;
  /** https server options for the hub's listener: TLS 1.2+, client certificates required. */
  readonly listener: SecureContextOptions & { requestCert: true; rejectUnauthorized: true };
  /** For readiness checks: verifies servers against notebooks-ca, presents the hub's certificate. */
  readonly toServers: Agent;
  /** For the proxy's REST API: verifies it against proxy-api-ca, presents the hub's certificate. */
  readonly toProxyApi: Agent;
  /** The readiness check, through `toServers`. */
  waitReady(o: WaitOptions): Promise<ReadyOutcome>;
  /** A fetch through `toServers`, for the idle culler's probe. */
  readonly serverFetch: typeof fetch;
  close(): Promise<void>;
}

export interface InternalTlsOptions {
  readonly dir: string;
  readonly enforceFileModes: boolean;
  readonly serverCertDays: number;
  /** Used only when the hub creates the PKI itself (no init step): CA and hub certificate lifetimes. */
  readonly caDays: number;
  readonly serviceCertDays: number;
  readonly hubNames: readonly string[];
}

/** CN `user-<name>`, cut to X.509's 64 characters; the SANs are what peers verify. */
export function serverCommonName(user: string): string {
  return `user-${user}`.slice(0, 64);
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch (err) {
    // A directory that does not exist yet is created when its parent is writable.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return false;
    try {
      accessSync(join(dir, '..'), constants.W_OK);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * Load the PKI and the hub's certificate from `dir` (the init step made them). A hub run without the init step
 * on a writable directory creates them on first start and reuses them afterwards.
 */
export async function loadInternalTls(o: InternalTlsOptions): Promise<InternalTls> {
  let pki: Pki;
  if (writable(o.dir)) {
    ({ pki } = await ensurePki(o.dir, o.caDays));
    await ensureLeaf(o.dir, 'hub', pki.authorities['hub-ca'], hubLeaf(o.hubNames, o.serviceCertDays));
  }
  pki = loadPki(o.dir, o.enforceFileModes);
  let hub: KeyPairPem;
  try {
    hub = {
      certPem: readFileSync(join(o.dir, 'hub.crt'), 'utf8'),
      keyPem: readFileSync(join(o.dir, 'hub.key'), 'utf8'),
    };
  } catch (err) {
    throw new PkiError(
      `internal TLS: cannot read the hub's certificate in ${o.dir}: ${(err as NodeJS.ErrnoException).code}`,
    );
  }
  const identity = { cert: hub.certPem, key: hub.keyPem, minVersion: 'TLSv1.2' as const };
  const toServers = new Agent({ connect: { ...identity, ca: bundle(pki, 'hubToServers') } });
  const toProxyApi = new Agent({ connect: { ...identity, ca: bundle(pki, 'hubToProxyApi') } });
  const notebooks = pki.authorities['notebooks-ca'];
  // Server keys are made ahead, so a start does not wait for its key (key-pool.ts).
  const serverKeys = new KeyPool();
  const clientCaPem = bundle(pki, 'userServer');
  return {
    pki,
    hub,
    listener: {
      ...identity,
      ca: bundle(pki, 'hubListener'),
      requestCert: true,
      rejectUnauthorized: true,
    },
    toServers,
    toProxyApi,
    waitReady: (w) => waitForServer({ ...w, dispatcher: toServers }),
    serverFetch: ((url: string | URL, init?: RequestInit) =>
      undiciFetch(url, { ...(init as object), dispatcher: toServers })) as unknown as typeof fetch,
    async issue({ user, hostnames }) {
      const leaf = await issueCertificate(
        notebooks,
        {
          commonName: serverCommonName(user),
          altNames: [...hostnames, 'localhost', '127.0.0.1'],
          // Server for the proxy and the hub; client toward the hub's API (jupyterhub-singleuser presents it).
          usage: 'server+client',
          validityDays: o.serverCertDays,
        },
        undefined,
        () => serverKeys.take(),
      );
      return { ...leaf, clientCaPem };
    },
    async close() {
      await Promise.all([toServers.close(), toProxyApi.close()]);
    },
  };
}
