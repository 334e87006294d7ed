import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  assertValidPrefix,
  containerName,
  escapeName,
  parseContainerName,
  parseVolumeName,
  unescapeName,
  volumeName,
} from './names.ts';

/** Docker's rule for container and volume names. */
const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** A small seeded PRNG (mulberry32), so a failing case can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pieces chosen to hit the escaping's edges: separators, escapes that look like hex, case, multibyte. */
const PIECES = [
  'a',
  'z',
  '0',
  '9',
  '-',
  '--',
  '.',
  '_',
  'A',
  'Z',
  '2d',
  '-2d',
  'x',
  ' ',
  '/',
  'é',
  '日',
  '😀',
  '\u0000',
];

function randomName(rand: () => number, maxPieces: number): string {
  const n = Math.floor(rand() * (maxPieces + 1));
  let s = '';
  for (let i = 0; i < n; i++) {
    if (rand() < 0.15) {
      const cp = 1 + Math.floor(rand() * 0x10fffe);
      s += String.fromCodePoint(cp >= 0xd800 && cp <= 0xdfff ? 0xfffd : cp);
    } else s += PIECES[Math.floor(rand() * PIECES.length)];
  }
  return s;
}

describe('escapeName', () => {
  test('keeps lowercase letters and digits', () => {
    assert.equal(escapeName('alice42'), 'alice42');
  });

  test('escapes every other byte as -xx, lowercase hex of UTF-8', () => {
    assert.equal(escapeName('Alice'), '-41lice');
    assert.equal(escapeName('alice-x'), 'alice-2dx');
    assert.equal(escapeName('a.b_c'), 'a-2eb-5fc');
    assert.equal(escapeName('é'), '-c3-a9');
    assert.equal(escapeName('日'), '-e6-97-a5');
    assert.equal(escapeName('😀'), '-f0-9f-98-80');
    assert.equal(escapeName(''), '');
  });

  test('refuses lone surrogates, which UTF-8 cannot encode injectively', () => {
    assert.throws(() => escapeName('a\ud800'), TypeError);
    assert.throws(() => escapeName('\udc00'), TypeError);
  });

  test('never produces "--" and never ends with "-"', () => {
    const rand = prng(1);
    for (let i = 0; i < 2000; i++) {
      const e = escapeName(randomName(rand, 8));
      assert.ok(!e.includes('--') && !e.endsWith('-'), e);
    }
  });
});

describe('unescapeName', () => {
  test('round-trips random names (seeded property loop)', () => {
    const rand = prng(2);
    for (let i = 0; i < 5000; i++) {
      const name = randomName(rand, 10);
      assert.equal(unescapeName(escapeName(name)), name, JSON.stringify(name));
    }
  });

  test('accepts only canonical escapes', () => {
    for (const bad of ['-', '-6', '-61', '-2D', '-g0', 'A', '_', '.', 'a-', '-ff', '-c3', '-2d-']) {
      assert.throws(() => unescapeName(bad), TypeError, bad);
    }
  });
});

describe('container and volume names', () => {
  test('follow the documented scheme', () => {
    assert.equal(containerName('berth', 'alice', ''), 'berth-alice');
    assert.equal(containerName('berth', 'alice', 'x'), 'berth-alice--x');
    assert.equal(containerName('berth', 'alice-x', ''), 'berth-alice-2dx');
    assert.equal(containerName('berth', 'Bob.Smith', 'gpu_1'), 'berth--42ob-2e-53mith--gpu-5f1');
    assert.equal(volumeName('berth', 'alice', ''), 'berth-home-alice');
    assert.equal(volumeName('berth', 'alice', 'x'), 'berth-home-alice--x');
  });

  test('user "alice-x" never collides with user "alice" + server "x"', () => {
    assert.notEqual(containerName('berth', 'alice-x', ''), containerName('berth', 'alice', 'x'));
    assert.notEqual(volumeName('berth', 'alice-x', ''), volumeName('berth', 'alice', 'x'));
    assert.notEqual(containerName('berth', 'alice--x', ''), containerName('berth', 'alice', 'x'));
    assert.notEqual(containerName('berth', 'alice', '-x'), containerName('berth', 'alice-', 'x'));
  });

  test('refuses an empty user and a bad prefix', () => {
    assert.throws(() => containerName('berth', '', ''), TypeError);
    for (const p of ['', 'Berth', 'berth-', '-berth', 'a--b', 'a_b', 'a.b', 'x'.repeat(33)]) {
      assert.throws(() => assertValidPrefix(p), TypeError, p);
      assert.throws(() => containerName(p, 'alice', ''), TypeError, p);
    }
    assert.doesNotThrow(() => assertValidPrefix('berth-test-42'));
  });

  test('are valid Docker names and parse back (seeded property loop)', () => {
    const rand = prng(3);
    for (let i = 0; i < 3000; i++) {
      const user = randomName(rand, 6) || 'u';
      const serverName = rand() < 0.4 ? '' : randomName(rand, 4);
      const c = containerName('berth', user, serverName);
      const v = volumeName('berth', user, serverName);
      assert.match(c, DOCKER_NAME);
      assert.match(v, DOCKER_NAME);
      assert.deepEqual(parseContainerName('berth', c), { user, serverName });
      assert.deepEqual(parseVolumeName('berth', v), { user, serverName });
    }
  });

  test('are injective over random (user, server) pairs (seeded property loop)', () => {
    const rand = prng(4);
    const seen = new Map<string, string>();
    for (let i = 0; i < 20000; i++) {
      const user = randomName(rand, 4) || 'u';
      const serverName = rand() < 0.3 ? '' : randomName(rand, 3);
      const key = JSON.stringify([user, serverName]);
      for (const name of [containerName('p', user, serverName), `v:${volumeName('p', user, serverName)}`]) {
        const prev = seen.get(name);
        assert.ok(prev === undefined || prev === key, `${name}: ${prev} vs ${key}`);
        seen.set(name, key);
      }
    }
  });

  test('are injective over every (user, server) pair built from adversarial pieces', () => {
    const pieces = ['', 'a', 'x', '-', '2d', '.', 'é'];
    const words = new Set<string>();
    for (const a of pieces) for (const b of pieces) for (const c of pieces) words.add(a + b + c);
    const seen = new Map<string, string>();
    for (const user of words) {
      if (user === '') continue;
      for (const serverName of words) {
        const name = containerName('berth', user, serverName);
        const key = JSON.stringify([user, serverName]);
        const prev = seen.get(name);
        assert.ok(prev === undefined, `${name}: ${prev} vs ${key}`);
        seen.set(name, key);
      }
    }
    assert.ok(seen.size > 10000);
  });

  test('parse refuses names that are not ours', () => {
    for (const n of [
      'other-alice',
      'berth-',
      'berth-alice--',
      'berth---x',
      'berth-a--b--c',
      'berth-A',
      'berth-a-61',
    ]) {
      assert.equal(parseContainerName('berth', n), undefined, n);
    }
    assert.equal(parseVolumeName('berth', 'berth-alice'), undefined);
  });
});
