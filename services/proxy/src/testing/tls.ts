/** Throwaway CAs and certificates for TLS tests, made with the `openssl` CLI in a temporary directory. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  readonly cert: string;
  readonly key: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export interface TestPki {
  readonly dir: string;
  readonly ca: Pem;
  /** A second CA: its certificates must be refused wherever `ca` is expected. */
  readonly otherCa: Pem;
  /** Signed by `ca`, for 127.0.0.1 and localhost. */
  issue(name: string, signer?: Pem): Pem;
  cleanup(): void;
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'berth-proxy-tls-'));
  const read = (name: string): Pem => ({
    cert: readFileSync(join(dir, `${name}.crt`), 'utf8'),
    key: readFileSync(join(dir, `${name}.key`), 'utf8'),
    certFile: join(dir, `${name}.crt`),
    keyFile: join(dir, `${name}.key`),
  });
  const makeCa = (name: string): Pem => {
    openssl(
      [
        'req',
        '-x509',
        ...EC,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.crt`,
        '-subj',
        `/CN=${name}`,
        '-days',
        '2',
      ],
      dir,
    );
    return read(name);
  };
  const ca = makeCa('test-ca');
  const otherCa = makeCa('other-ca');
  writeFileSync(
    join(dir, 'leaf.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n',
  );
  return {
    dir,
    ca,
    otherCa,
    issue(name, signer = ca) {
      openssl(['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
      openssl(
        [
          'x509',
          '-req',
          '-in',
          `${name}.csr`,
          '-CA',
          signer.certFile,
          '-CAkey',
          signer.keyFile,
          '-CAcreateserial',
          '-out',
          `${name}.crt`,
          '-days',
          '2',
          '-extfile',
          'leaf.ext',
        ],
        dir,
      );
      return read(name);
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
