import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dnFromTemplate, escapeDnValue, firstRdnValue } from './dn.ts';

describe('RFC 4514 DN values', () => {
  it('escapes every character that could end or add an RDN', () => {
    assert.equal(escapeDnValue('a,b+c"d\\e<f>g;h=i'), 'a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h\\=i');
    assert.equal(escapeDnValue('#lead'), '\\#lead');
    assert.equal(escapeDnValue(' both '), '\\ both\\ ');
    assert.equal(escapeDnValue('nul\0x'), 'nul\\00x');
  });

  it('fills a template so injected RDNs stay inside the value', () => {
    const dn = dnFromTemplate('uid={username},ou=people,dc=example,dc=org', 'alice,ou=admins');
    assert.equal(dn, 'uid=alice\\,ou\\=admins,ou=people,dc=example,dc=org');
    assert.equal(firstRdnValue(dn), 'alice,ou=admins');
  });

  it('reads the first RDN value of a group DN', () => {
    assert.equal(firstRdnValue('cn=hub-admins,ou=groups,dc=example,dc=org'), 'hub-admins');
    assert.equal(firstRdnValue('CN=Domain Users,CN=Users,DC=corp'), 'Domain Users');
    assert.equal(firstRdnValue('cn=caf\\c3\\a9,dc=x'), 'café');
    assert.equal(firstRdnValue('garbage'), undefined);
  });
});
