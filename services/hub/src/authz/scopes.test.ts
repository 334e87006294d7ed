import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandScopes, hasScope, intersectWithOwner, ownerScopes, parseScope } from './scopes.ts';

const alice = { name: 'alice', admin: false };
const root = { name: 'root', admin: true };

describe('scopes', () => {
  it('parses filters and refuses garbage', () => {
    assert.deepEqual(parseScope('read:users!user=alice'), {
      name: 'read:users',
      filter: { kind: 'user', value: 'alice' },
    });
    assert.deepEqual(parseScope('access:servers!server=alice/'), {
      name: 'access:servers',
      filter: { kind: 'server', value: 'alice/' },
    });
    for (const bad of ['', 'READ', 'read:users!', 'read:users!host=x', 'read users', 'a!user=']) {
      assert.equal(parseScope(bad), undefined, bad);
    }
  });

  it('expands self to the owner, filtered to the owner', () => {
    const s = expandScopes(ownerScopes(alice), alice);
    assert.ok(s.includes('access:servers!user=alice'));
    assert.ok(s.includes('read:users:name!user=alice'));
    assert.ok(s.includes('servers!user=alice'));
    assert.ok(
      s.every((x) => x.endsWith('!user=alice')),
      'a plain user holds nothing unfiltered',
    );
  });

  it('a user filter grants that user and their servers, nobody else', () => {
    const s = expandScopes(['access:servers!user=alice'], alice);
    assert.ok(hasScope(s, 'access:servers', { user: 'alice', server: 'alice/' }));
    assert.ok(hasScope(s, 'access:servers', { user: 'alice', server: 'alice/named' }));
    assert.ok(!hasScope(s, 'access:servers', { user: 'bob', server: 'bob/' }));
    assert.ok(!hasScope(s, 'access:servers', {}), 'a filtered scope never grants an unfiltered action');
  });

  it('a server filter grants that server only', () => {
    const s = expandScopes(['access:servers!server=alice/'], alice);
    assert.ok(hasScope(s, 'access:servers', { user: 'alice', server: 'alice/' }));
    assert.ok(!hasScope(s, 'access:servers', { user: 'alice', server: 'alice/other' }));
    assert.ok(!hasScope(s, 'read:users', { user: 'alice' }));
  });

  it("implications are JupyterHub's: admin:users implies users implies read:users and list:users", () => {
    const s = expandScopes(['admin:users'], root);
    for (const n of [
      'users',
      'read:users',
      'list:users',
      'read:users:name',
      'delete:users',
      'admin:auth_state',
    ]) {
      assert.ok(s.includes(n), n);
    }
    // As in JupyterHub, servers and tokens are separate powers of the admin role.
    for (const n of ['servers', 'tokens', 'access:servers']) assert.ok(!s.includes(n), n);
    const g = expandScopes(['admin:groups'], root);
    for (const n of ['groups', 'read:groups', 'list:groups', 'delete:groups', 'read:groups:name']) {
      assert.ok(g.includes(n), n);
    }
    assert.ok(!expandScopes(['groups'], root).includes('delete:groups'));
    const a = expandScopes(ownerScopes(root), root);
    for (const n of [
      'admin:users',
      'admin:servers',
      'tokens',
      'admin:groups',
      'proxy',
      'shutdown',
      'read:metrics',
    ]) {
      assert.ok(a.includes(n), n);
    }
  });

  it('a group filter grants on that group; custom role scopes add to the owner', () => {
    const s = expandScopes(['groups!group=physics'], root);
    assert.ok(hasScope(s, 'read:groups', { group: 'physics' }));
    assert.ok(!hasScope(s, 'read:groups', { group: 'chem' }));
    assert.ok(!hasScope(s, 'read:groups', {}));
    const teacher = { name: 'tess', admin: false, extra: ['read:users!group=physics'] };
    assert.deepEqual(intersectWithOwner(['read:users!group=physics'], teacher).refused, []);
    assert.deepEqual(intersectWithOwner(['read:users!group=chem', 'read:users'], teacher).refused, [
      'read:users!group=chem',
      'read:users',
    ]);
  });

  it('a token never exceeds its owner', () => {
    assert.deepEqual(intersectWithOwner(['read:users!user=alice', 'inherit'], alice).refused, []);
    const { refused } = intersectWithOwner(
      ['admin:users', 'read:users!user=bob', 'access:servers!server=bob/', 'shutdown', 'nonsense!x'],
      alice,
    );
    assert.equal(refused.length, 5);
    assert.deepEqual(intersectWithOwner(['admin:users', 'read:users!user=bob'], root).refused, []);
  });
});
