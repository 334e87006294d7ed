import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { StateSealer } from './state-crypto.ts';

const key = () => randomBytes(32).toString('hex');

describe('auth state at rest', () => {
  it('round-trips and hides the plaintext', () => {
    const s = new StateSealer(key());
    const sealed = s.seal({ refresh_token: 'rt-secret-value' });
    assert.ok(!sealed.includes('rt-secret-value'));
    assert.deepEqual(s.open(sealed), { refresh_token: 'rt-secret-value' });
  });

  it('rotates: a new first key encrypts, the old one still decrypts until removed', () => {
    const [oldKey, newKey] = [key(), key()];
    const before = new StateSealer(oldKey).seal({ a: 1 });
    const rotated = new StateSealer(`${newKey}\n${oldKey}\n`);
    assert.deepEqual(rotated.open(before), { a: 1 });
    const after = rotated.seal({ a: 2 });
    assert.deepEqual(new StateSealer(newKey).open(after), { a: 2 });
    assert.equal(new StateSealer(newKey).open(before), undefined);
  });

  it('refuses tampering and bad keys', () => {
    const s = new StateSealer(key());
    const sealed = s.seal({ a: 1 });
    assert.equal(s.open(`${sealed.slice(0, -2)}AA`), undefined);
    assert.throws(() => new StateSealer('short'), /64 hex/);
    assert.throws(() => new StateSealer('\n# only a comment\n'), /no key/);
  });
});
