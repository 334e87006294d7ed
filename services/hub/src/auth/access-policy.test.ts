import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AccessSets, isAllowed, isBlocked, nextAdmin, type Subject } from './access-policy.ts';

const sets = (s: Partial<AccessSets> = {}): AccessSets => ({
  allowedUsers: [],
  blockedUsers: [],
  allowedGroups: [],
  adminUsers: [],
  adminGroups: [],
  allowAll: false,
  ...s,
});
const who = (name: string, groups: string[] = [], local = false): Subject => ({ name, groups, local });

describe('access policy', () => {
  it('blocks before anything else, admins included', () => {
    const s = sets({ blockedUsers: ['eve'], adminUsers: ['eve'], allowAll: true });
    assert.equal(isBlocked(s, who('eve')), true);
    assert.equal(isAllowed(s, who('eve')), false);
  });

  it('without allowed sets lets local accounts in, and external ones only with allowAll', () => {
    assert.equal(isAllowed(sets(), who('alice', [], true)), true);
    assert.equal(isAllowed(sets(), who('alice')), false);
    assert.equal(isAllowed(sets({ allowAll: true }), who('alice')), true);
  });

  it('with allowed sets admits by name, by group, and admins by configuration', () => {
    const s = sets({ allowedUsers: ['bob'], allowedGroups: ['staff'], adminGroups: ['ops'] });
    assert.equal(isAllowed(s, who('bob')), true);
    assert.equal(isAllowed(s, who('carol', ['staff'])), true);
    assert.equal(isAllowed(s, who('dave', ['ops'])), true);
    assert.equal(isAllowed(s, who('erin', ['other'], true)), false, 'local accounts too');
  });

  it('grants admin by configuration and takes back only what the configuration gave', () => {
    const s = sets({ adminUsers: ['root'], adminGroups: ['ops'] });
    assert.deepEqual(nextAdmin({ admin: false, byConfig: false }, s, who('root')), {
      admin: true,
      byConfig: true,
    });
    assert.deepEqual(nextAdmin({ admin: false, byConfig: false }, s, who('x', ['ops'])), {
      admin: true,
      byConfig: true,
    });
    assert.deepEqual(nextAdmin({ admin: true, byConfig: true }, s, who('x', [])), {
      admin: false,
      byConfig: false,
    });
    assert.deepEqual(nextAdmin({ admin: true, byConfig: false }, s, who('manual')), {
      admin: true,
      byConfig: false,
    });
  });
});
