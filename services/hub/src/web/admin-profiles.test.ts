import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImageProbe } from '../db/profiles-repo.ts';
import { assertEscaped, XSS } from '../testing/xss.ts';
import { probeCell } from './admin-profiles.ts';

function probe(p: Partial<ImageProbe>): ImageProbe {
  return {
    image: 'quay.io/jupyter/base-notebook@sha256:00',
    status: 'compatible',
    jupyterhubVersion: '5.3.0',
    imageId: 'sha256:00',
    detail: 'jupyterhub 5.3.0',
    probedAt: new Date('2026-11-23T16:47:00Z'),
    ...p,
  };
}

const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;

describe('admin profiles page: the compatibility probe cell', () => {
  it('says the JupyterHub version of a compatible image once', () => {
    const cell = String(probeCell(probe({})));
    assert.match(cell, /compatible/);
    assert.equal(count(cell, /5\.3\.0/g), 1, cell);
    assert.match(cell, /2026-11-23 16:47 UTC/);
  });

  it('says why an incompatible image or a failed probe is refused, once, escaped', () => {
    const old = String(
      probeCell(
        probe({
          status: 'incompatible',
          jupyterhubVersion: '3.1.1',
          detail: 'jupyterhub 3.1.1 is older than 4, whose single-user protocol Berth needs',
        }),
      ),
    );
    assert.match(old, /older than 4/);
    assert.equal(count(old, /3\.1\.1/g), 1, old);
    const failed = String(probeCell(probe({ status: 'failed', jupyterhubVersion: null, detail: XSS })));
    assert.match(failed, /probe failed/);
    assertEscaped(failed, XSS);
  });
});
