import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { KeyPool } from './key-pool.ts';

describe('KeyPool', () => {
  it('hands out every key once: more takes than the pool holds are all distinct, valid RSA keys', async () => {
    const pool = new KeyPool(2, 1024);
    const keys = await Promise.all(Array.from({ length: 5 }, () => pool.take()));
    assert.equal(new Set(keys.map((k) => k.privatePem)).size, 5);
    for (const k of keys) {
      const key = createPrivateKey(k.privatePem);
      assert.equal(key.asymmetricKeyType, 'rsa');
      assert.equal(key.asymmetricKeyDetails?.modulusLength, 1024);
    }
  });

  it('with no keys kept ready, generates one per take', async () => {
    const pool = new KeyPool(0, 1024);
    const [a, b] = await Promise.all([pool.take(), pool.take()]);
    assert.notEqual(a?.privatePem, b?.privatePem);
  });
});
