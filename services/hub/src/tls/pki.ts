/**
 * The internal PKI on disk: the authorities (in the hub's secrets), the hub's certificate, and the proxy's.
 *
 * Everything is 0600 in 0700 directories. Authorities are created once and reused; the hub's and the proxy's
 * certificates are re-issued when missing, when they expire within a third of their validity, or when they no
 * longer chain to the current authority (after a rotation).
 */
import { X509Certificate } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  type Authority,
  createAuthority,
  issueCertificate,
  type KeyPairPem,
  type LeafRequest,
} from './ca.ts';
import { AUTHORITY_NAMES, type AuthorityName, type Endpoint, TRUST } from './trust-graph.ts';

const DAY_MS = 86_400_000;

export class PkiError extends Error {
  override readonly name = 'PkiError';
}

/** The loaded authorities; bundles are PEM concatenations of their certificates. */
export interface Pki {
  readonly authorities: Readonly<Record<AuthorityName, Authority>>;
}

export function bundle(pki: Pki, endpoint: Endpoint): string {
  return TRUST[endpoint]
    .map((n) => pki.authorities[n].certPem.trim())
    .join('\n')
    .concat('\n');
}

export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

export interface FileOptions {
  /** chown every written file and directory (the init step runs as root). */
  readonly owner?: Owner;
}

function ensureDir(dir: string, o: FileOptions): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  if (o.owner) chownSync(dir, o.owner.uid, o.owner.gid);
}

/** Write via a temporary file and rename, so a reader never sees half a key. */
function writeSecret(path: string, text: string, o: FileOptions): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  if (o.owner) chownSync(tmp, o.owner.uid, o.owner.gid);
  renameSync(tmp, path);
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PkiError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code}`);
  }
}

/** Refuse key files that group or others can read, like the cookie secret. */
function checkMode(path: string, enforce: boolean): void {
  if (!enforce) return;
  const mode = statSync(path).mode;
  if ((mode & 0o077) !== 0) {
    throw new PkiError(`${path} has mode ${(mode & 0o777).toString(8)}; keys must be 0600`);
  }
}

function readAuthority(dir: string, name: AuthorityName, enforceModes: boolean): Authority | undefined {
  const certPem = readIfExists(join(dir, `${name}.crt`));
  const keyPem = readIfExists(join(dir, `${name}.key`));
  if (certPem === undefined && keyPem === undefined) return undefined;
  if (certPem === undefined || keyPem === undefined) {
    throw new PkiError(`${dir}: ${name}.crt and ${name}.key go together; one is missing`);
  }
  checkMode(join(dir, `${name}.key`), enforceModes);
  return { name, certPem, keyPem };
}

/** Load every authority from `dir`; throws PkiError naming what is missing. */
export function loadPki(dir: string, enforceModes = true): Pki {
  const authorities = {} as Record<AuthorityName, Authority>;
  for (const name of AUTHORITY_NAMES) {
    const a = readAuthority(dir, name, enforceModes);
    if (!a) {
      throw new PkiError(
        `internal TLS: ${join(dir, `${name}.crt`)} is missing; the init step (berth init-secrets) creates the authorities`,
      );
    }
    authorities[name] = a;
  }
  return { authorities };
}

/** Load the authorities in `dir`, creating the missing ones. Returns which were created. */
export async function ensurePki(
  dir: string,
  caDays: number,
  o: FileOptions = {},
): Promise<{ pki: Pki; created: AuthorityName[] }> {
  ensureDir(dir, o);
  const authorities = {} as Record<AuthorityName, Authority>;
  const created: AuthorityName[] = [];
  for (const name of AUTHORITY_NAMES) {
    let a = readAuthority(dir, name, false);
    if (!a) {
      a = await createAuthority(name, caDays);
      writeSecret(join(dir, `${name}.key`), a.keyPem, o);
      writeSecret(join(dir, `${name}.crt`), a.certPem, o);
      created.push(name);
    }
    authorities[name] = a;
  }
  return { pki: { authorities }, created };
}

/**
 * Rotation: retire authorities so that the next {@link ensurePki} creates new ones. The old certificate is kept
 * under `retired/` (for the record); the old key is deleted, since the point of a rotation is to stop trusting
 * anything it could sign. Returns the names retired.
 */
export function retireAuthorities(
  dir: string,
  names: readonly AuthorityName[],
  o: FileOptions = {},
  now = new Date(),
): AuthorityName[] {
  const retired: AuthorityName[] = [];
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  for (const name of names) {
    const cert = join(dir, `${name}.crt`);
    if (!existsSync(cert)) continue;
    ensureDir(join(dir, 'retired'), o);
    renameSync(cert, join(dir, 'retired', `${name}-${stamp}.crt`));
    rmSync(join(dir, `${name}.key`), { force: true });
    retired.push(name);
  }
  return retired;
}

/** True when `certPem` chains to `ca` and is valid for more than a third of `days` from `now`. */
export function isFresh(certPem: string, ca: Authority, days: number, now = Date.now()): boolean {
  try {
    const cert = new X509Certificate(certPem);
    if (!cert.checkIssued(new X509Certificate(ca.certPem))) return false;
    if (!cert.verify(new X509Certificate(ca.certPem).publicKey)) return false;
    return Date.parse(cert.validTo) - now > (days * DAY_MS) / 3;
  } catch {
    return false;
  }
}

/** A leaf certificate kept as `<base>.crt` / `<base>.key`, re-issued when stale. Returns true when issued. */
export async function ensureLeaf(
  dir: string,
  base: string,
  ca: Authority,
  req: LeafRequest,
  o: FileOptions = {},
): Promise<boolean> {
  ensureDir(dir, o);
  const certPem = readIfExists(join(dir, `${base}.crt`));
  const keyPem = readIfExists(join(dir, `${base}.key`));
  if (certPem && keyPem && isFresh(certPem, ca, req.validityDays) && sameNames(certPem, req)) return false;
  const leaf: KeyPairPem = await issueCertificate(ca, req);
  writeSecret(join(dir, `${base}.key`), leaf.keyPem, o);
  writeSecret(join(dir, `${base}.crt`), leaf.certPem, o);
  return true;
}

/** A changed list of names (e.g. a new alias) re-issues the certificate. */
function sameNames(certPem: string, req: LeafRequest): boolean {
  const want = new Set(req.altNames ?? []);
  const have = new Set(
    (new X509Certificate(certPem).subjectAltName ?? '')
      .split(', ')
      .filter(Boolean)
      .map((s) => s.replace(/^(DNS|IP Address):/, '')),
  );
  return want.size === have.size && [...want].every((n) => have.has(n));
}

/** Write a PEM bundle file, replacing it only when its content changed. */
export function writeBundle(path: string, pem: string, o: FileOptions = {}): boolean {
  if (readIfExists(path) === pem) return false;
  writeSecret(path, pem, o);
  return true;
}

/** The hub's certificate: server for its listener, client toward user servers and the proxy API. */
export function hubLeaf(names: readonly string[], days: number): LeafRequest {
  return {
    commonName: 'hub',
    altNames: [...names, 'localhost', '127.0.0.1'],
    usage: 'server+client',
    validityDays: days,
  };
}
