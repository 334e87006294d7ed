/**
 * A certificate authority and the certificates it issues. Keys come from Node's native, asynchronous
 * `crypto.generateKeyPair` (never forge's pure-JS keygen, which is slow and blocks the event loop); node-forge
 * builds the X.509 structures, and Node's native RSA signs them (forge's pure-JS signature took about 50 ms of
 * the event loop per certificate, on the critical path of every spawn).
 */
import {
  createPrivateKey,
  generateKeyPair,
  type KeyObject,
  randomBytes,
  sign as signNative,
  X509Certificate,
} from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import type forge from 'node-forge';

const generateKeyPairAsync = promisify(generateKeyPair);
const DAY_MS = 86_400_000;
/** Backdate notBefore so a peer whose clock is slightly behind still accepts a fresh certificate. */
const CLOCK_SKEW_MS = 5 * 60_000;

export interface KeyPairPem {
  readonly keyPem: string;
  readonly certPem: string;
}

/** A CA: its self-signed certificate and its private key (PEM). */
export interface Authority extends KeyPairPem {
  readonly name: string;
}

/** What a leaf certificate may be used for (its extended key usage). */
export type Usage = 'server' | 'client' | 'server+client';

export interface LeafRequest {
  readonly commonName: string;
  /** DNS names and IP addresses for the subjectAltName; a server certificate needs at least one. */
  readonly altNames?: readonly string[];
  readonly usage: Usage;
  readonly validityDays: number;
}

export class CertificateError extends Error {
  override readonly name = 'CertificateError';
  readonly code: 'INVALID_REQUEST' | 'INVALID_AUTHORITY';
  constructor(code: CertificateError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

export interface RsaKeyPem {
  readonly privatePem: string;
  readonly publicPem: string;
}

/** Where a leaf's fresh key comes from: generated now, or taken from a pool of keys made ahead (key-pool.ts). */
export type KeySource = () => Promise<RsaKeyPem>;

/** RSA 2048: node-forge builds only RSA certificates; generated natively, off the event loop. */
export async function generateRsaKey(bits = 2048): Promise<RsaKeyPem> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privatePem: privateKey, publicPem: publicKey };
}

/** A positive 128-bit serial number (RFC 5280: at most 20 octets, non-negative). */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

/** node-forge (about 14 MB resident) loads only when a certificate is minted, not with every hub. */
const loadForge = async (): Promise<typeof forge> => (await import('node-forge')).default;

function validity(cert: forge.pki.Certificate, days: number, now: number): void {
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    throw new CertificateError('INVALID_REQUEST', `validity must be 1 to 3650 days, got ${days}`);
  }
  cert.validity.notBefore = new Date(now - CLOCK_SKEW_MS);
  cert.validity.notAfter = new Date(now + days * DAY_MS);
}

/** A new self-signed CA, allowed to sign end-entity certificates only (pathLenConstraint 0). */
export async function createAuthority(
  name: string,
  validityDays: number,
  now = Date.now(),
): Promise<Authority> {
  const lib = await loadForge();
  const { privatePem, publicPem } = await generateRsaKey(3072);
  const cert = lib.pki.createCertificate();
  cert.publicKey = lib.pki.publicKeyFromPem(publicPem);
  cert.serialNumber = serial();
  validity(cert, validityDays, now);
  const subject = [
    { shortName: 'O', value: 'Berth internal' },
    { shortName: 'CN', value: name },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  signCertificate(lib, cert, createPrivateKey(privatePem));
  return { name, keyPem: privatePem, certPem: lib.pki.certificateToPem(cert) };
}

function altName(v: string): { type: number; value?: string; ip?: string } {
  if (isIP(v)) return { type: 7, ip: v };
  if (!/^(?=.{1,253}$)[a-z0-9*]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(v)) {
    throw new CertificateError('INVALID_REQUEST', `not a DNS name or IP address: ${JSON.stringify(v)}`);
  }
  return { type: 2, value: v.toLowerCase() };
}

/** Issue a leaf certificate signed by `ca`, with a fresh key. */
export async function issueCertificate(
  ca: Authority,
  req: LeafRequest,
  now = Date.now(),
  newKey: KeySource = () => generateRsaKey(2048),
): Promise<KeyPairPem> {
  if (!/^[\x20-\x7e]{1,64}$/.test(req.commonName)) {
    throw new CertificateError('INVALID_REQUEST', 'common name must be 1-64 printable ASCII characters');
  }
  const names = [...new Set(req.altNames ?? [])].map(altName);
  if (req.usage !== 'client' && names.length === 0) {
    throw new CertificateError('INVALID_REQUEST', 'a server certificate needs at least one subjectAltName');
  }
  const lib = await loadForge();
  const { cert: caCert, key: caKey } = readAuthority(lib, ca);
  const { privatePem, publicPem } = await newKey();
  const cert = lib.pki.createCertificate();
  cert.publicKey = lib.pki.publicKeyFromPem(publicPem);
  cert.serialNumber = serial();
  validity(cert, req.validityDays, now);
  // Never outlive the CA: a chain with an expired CA fails anyway, and this keeps the failure visible here.
  if (cert.validity.notAfter > caCert.validity.notAfter) cert.validity.notAfter = caCert.validity.notAfter;
  cert.setSubject([
    { shortName: 'O', value: 'Berth internal' },
    { shortName: 'CN', value: req.commonName },
  ]);
  cert.setIssuer(caCert.subject.attributes);
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    {
      name: 'extKeyUsage',
      serverAuth: req.usage !== 'client',
      clientAuth: req.usage !== 'server',
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ];
  if (names.length > 0) extensions.push({ name: 'subjectAltName', altNames: names });
  cert.setExtensions(extensions);
  signCertificate(lib, cert, caKey);
  return { keyPem: privatePem, certPem: lib.pki.certificateToPem(cert) };
}

/** An authority's parsed certificate and key, kept per authority object: parsing both took longer than signing. */
const parsedAuthorities = new WeakMap<Authority, { cert: forge.pki.Certificate; key: KeyObject }>();

function readAuthority(lib: typeof forge, ca: Authority): { cert: forge.pki.Certificate; key: KeyObject } {
  let parsed = parsedAuthorities.get(ca);
  if (parsed === undefined) {
    try {
      parsed = { cert: lib.pki.certificateFromPem(ca.certPem), key: createPrivateKey(ca.keyPem) };
    } catch (err) {
      throw new CertificateError(
        'INVALID_AUTHORITY',
        `authority ${ca.name} is unreadable: ${(err as Error).message}`,
      );
    }
    if (parsed.key.asymmetricKeyType !== 'rsa') {
      throw new CertificateError('INVALID_AUTHORITY', `authority ${ca.name} does not have an RSA key`);
    }
    parsedAuthorities.set(ca, parsed);
  }
  return parsed;
}

/**
 * Sign `cert` with sha256WithRSAEncryption, as forge's cert.sign does (the same algorithm identifiers and
 * to-be-signed structure), with the signature made by Node's native RSA.
 */
function signCertificate(lib: typeof forge, cert: forge.pki.Certificate, key: KeyObject): void {
  const oid = lib.pki.oids.sha256WithRSAEncryption as string;
  cert.signatureOid = oid;
  cert.siginfo.algorithmOid = oid;
  // getTBSCertificate is forge's (x509.js) but missing from its type definitions.
  const pki = lib.pki as typeof lib.pki & { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 };
  const tbs = pki.getTBSCertificate(cert);
  (cert as unknown as { tbsCertificate: unknown }).tbsCertificate = tbs;
  const der = Buffer.from(lib.asn1.toDer(tbs).getBytes(), 'binary');
  cert.signature = signNative('sha256', der, key).toString('binary');
}

/** When a PEM certificate expires (ms since the epoch); throws on anything but one certificate. */
export function notAfter(certPem: string): number {
  return Date.parse(new X509Certificate(certPem).validTo);
}
