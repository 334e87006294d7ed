import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acceptablePassword, loggable, normalizeUsername } from './normalize.ts';

describe('input normalization', () => {
  it('folds case, width and surrounding space', () => {
    assert.equal(normalizeUsername('  Alice '), 'alice');
    assert.equal(normalizeUsername('ＡＬＩＣＥ'), 'alice');
  });

  it('refuses what can never be a user name before any authenticator sees it', () => {
    for (const bad of [
      '*',
      '*)(uid=*',
      'admin)(|(uid=*',
      'alice,ou=admins',
      'a\0b',
      '',
      ' ',
      'x'.repeat(257),
    ]) {
      assert.equal(normalizeUsername(bad), undefined, JSON.stringify(bad.slice(0, 20)));
    }
    assert.equal(normalizeUsername('x'.repeat(1024 * 1024)), undefined);
    assert.equal(normalizeUsername(42), undefined);
  });

  it('refuses empty, blank, over-long and NUL passwords', () => {
    for (const bad of ['', '   ', '\t', 'a\0b', 'x'.repeat(1025), undefined, 7]) {
      assert.equal(acceptablePassword(bad), false);
    }
    assert.equal(acceptablePassword(' pass word '), true);
  });

  it('logs at most 64 printable characters of what was typed', () => {
    assert.equal(loggable('x'.repeat(1000)).length, 64);
    assert.equal(loggable('a\nb'), 'a\\nb');
  });
});
