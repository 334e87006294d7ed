import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './compose.ts';
import { run } from './exec.ts';
import { PYTOOLS_IMAGE } from './pytools.ts';

export const OPENAPI_PATH = process.env.BERTH_OPENAPI_PATH ?? join(REPO_ROOT, 'docs/openapi.json');

export interface FuzzResult {
  /** Requests schemathesis sent, counted from its HAR report. */
  readonly requests: number;
  /** Every response with a 5xx status: method, URL and status. */
  readonly serverErrors: readonly { method: string; url: string; status: number }[];
  /** How many responses had each status: a run whose caller lost its powers shows up as a wall of 403s. */
  readonly byStatus: Readonly<Record<number, number>>;
  readonly exitCode: number;
  readonly output: string;
}

interface Har {
  log: { entries: { request: { method: string; url: string }; response: { status: number } }[] };
}

/**
 * schemathesis (PyPI, in berth/pytools) against a hub listening on this host, generating requests from
 * docs/openapi.json with the `not_a_server_error` check. `POST /shutdown` is left out: it would end the run.
 */
export async function fuzzApi(opts: {
  readonly origin: string;
  readonly token: string;
  readonly maxExamples: number;
  readonly seed?: number;
  readonly workers?: number;
  readonly phases?: string;
  /** The document to generate from; default docs/openapi.json. */
  readonly specPath?: string;
}): Promise<FuzzResult> {
  const specPath = opts.specPath ?? OPENAPI_PATH;
  const spec = JSON.parse(readFileSync(specPath, 'utf8')) as { paths?: Record<string, unknown> };
  const paths = Object.keys(spec.paths ?? {});
  // The document's paths are either full (/hub/api/users) or relative to its server URL (/users).
  const url = paths.every((p) => p.startsWith('/hub/')) ? opts.origin : `${opts.origin}/hub/api`;
  const out = mkdtempSync(join(tmpdir(), 'berth-fuzz-'));
  chmodSync(out, 0o777);
  try {
    const args = [
      'run',
      '--rm',
      '--network',
      'host',
      '-v',
      `${specPath}:/spec/openapi.json:ro`,
      '-v',
      `${out}:/out`,
      PYTOOLS_IMAGE,
      'st',
      'run',
      '/spec/openapi.json',
      '--url',
      url,
      '-H',
      `Authorization: token ${opts.token}`,
      '--checks',
      'not_a_server_error',
      '--max-examples',
      String(opts.maxExamples),
      '--workers',
      // One worker: hypothesis's lambda-source parsing is not thread-safe on Python 3.11 (a runtime error with 2).
      String(opts.workers ?? 1),
      '--exclude-path-regex',
      'shutdown$',
      '--no-shrink',
      '--report',
      'har',
      '--report-har-path',
      '/out/run.har',
      '--output-sanitize',
      'true',
      ...(opts.seed !== undefined ? ['--seed', String(opts.seed)] : []),
      ...(opts.phases ? ['--phases', opts.phases] : []),
    ];
    const r = await run('docker', args, { timeoutMs: 3 * 3600_000 });
    const harFile = join(out, 'run.har');
    const har: Har = existsSync(harFile)
      ? (JSON.parse(readFileSync(harFile, 'utf8')) as Har)
      : { log: { entries: [] } };
    const entries = har.log.entries;
    const byStatus: Record<number, number> = {};
    for (const e of entries) byStatus[e.response.status] = (byStatus[e.response.status] ?? 0) + 1;
    return {
      byStatus,
      requests: entries.length,
      serverErrors: entries
        .filter((e) => e.response.status >= 500)
        .map((e) => ({ method: e.request.method, url: e.request.url, status: e.response.status })),
      exitCode: r.code,
      output: r.stdout + r.stderr,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
