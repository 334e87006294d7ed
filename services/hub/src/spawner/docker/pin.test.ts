import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkPin, normalizeRepository } from './pin.ts';

const id = `sha256:${'a'.repeat(64)}`;
const other = `sha256:${'b'.repeat(64)}`;

test('an id pin matches only that id', () => {
  assert.deepEqual(checkPin(id, { Id: id }), { ok: true });
  assert.equal(checkPin(other, { Id: id }).ok, false);
});

test('a digest pin matches the repository and digest among RepoDigests', () => {
  const image = { Id: id, RepoDigests: [`quay.io/jupyter/base-notebook@${other}`, `debian@${id}`] };
  assert.deepEqual(checkPin(`quay.io/jupyter/base-notebook@${other}`, image), { ok: true });
  assert.deepEqual(checkPin(`docker.io/library/debian@${id}`, image), { ok: true });
  assert.equal(checkPin(`quay.io/jupyter/base-notebook@${id}`, image).ok, false, 'another digest');
  assert.equal(checkPin(`quay.io/evil/base-notebook@${other}`, image).ok, false, 'another repository');
  assert.equal(checkPin(`quay.io/jupyter/base-notebook@${other}`, { Id: id }).ok, false, 'no digests');
});

test('tags are never a pin', () => {
  for (const ref of [
    'berth/singleuser:lab',
    'berth/singleuser:latest',
    'berth/singleuser',
    `x:latest@${id}`,
  ]) {
    assert.equal(checkPin(ref, { Id: id, RepoDigests: [`berth/singleuser@${id}`] }).ok, false, ref);
  }
});

test('normalizeRepository follows Docker Hub shortening only', () => {
  assert.equal(normalizeRepository('docker.io/library/debian'), 'debian');
  assert.equal(normalizeRepository('docker.io/jupyter/x'), 'jupyter/x');
  assert.equal(normalizeRepository('quay.io/library/x'), 'quay.io/library/x');
});
