import type { ConnectionOptions } from 'node:tls';
import {
  AndFilter,
  Client,
  EqualityFilter,
  type Filter,
  FilterParser,
  InvalidCredentialsError,
  InvalidDNSyntaxError,
  NoSuchObjectError,
  OrFilter,
  ResultCodeError,
} from 'ldapts';
import type { Authenticator, AuthInput, AuthOutcome } from '../authenticator.ts';
import { refused } from '../authenticator.ts';
import { acceptablePassword, MAX_RAW_USERNAME } from '../normalize.ts';
import { dnFromTemplate, firstRdnValue } from './dn.ts';

export interface LdapOptions {
  readonly url: string;
  readonly startTls: boolean;
  /** PEM CA certificate(s); the server certificate is always verified. */
  readonly ca?: string;
  readonly bindDnTemplate?: string;
  readonly searchBase?: string;
  readonly bindDn?: string;
  readonly bindPassword?: string;
  readonly usernameAttribute: string;
  readonly userFilter?: string;
  readonly groups: {
    readonly from: 'memberOf' | 'search' | 'none';
    readonly searchBase?: string;
    readonly memberAttribute: string;
    readonly nameAttribute: string;
    /** Also the groups those groups are members of, found by group searches under searchBase. */
    readonly nested?: boolean;
  };
  readonly connectTimeoutMs: number;
  readonly timeoutMs: number;
  /** Attributes of the user's entry kept in auth state (`attributes`), each as a list of strings. */
  readonly authStateAttributes?: readonly string[];
}

/** Thrown at construction for options that can never work; the message names the setting. */
export class LdapConfigError extends Error {
  override readonly name = 'LdapConfigError';
}

/** How many levels of nested groups are followed at most. */
const MAX_GROUP_DEPTH = 8;

const first = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
const many = (v: unknown): string[] =>
  typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

/**
 * LDAP login: direct bind through a DN template, or search-then-bind with a service account. Every input is
 * escaped (filters through ldapts' filter objects, DNs with RFC 4514), empty passwords never reach a bind, and
 * a server that is down or slow answers `unavailable` within the configured timeouts.
 */
export class LdapAuthenticator implements Authenticator {
  readonly kind = 'ldap';
  readonly accepts = 'password';
  readonly #o: LdapOptions;
  readonly #userFilter: Filter | undefined;
  readonly #tls: ConnectionOptions;

  constructor(options: LdapOptions) {
    this.#o = options;
    try {
      this.#userFilter = options.userFilter ? FilterParser.parseString(options.userFilter) : undefined;
    } catch {
      throw new LdapConfigError('BERTH_LDAP_USER_FILTER: not a valid LDAP filter');
    }
    this.#tls = {
      minVersion: 'TLSv1.2',
      rejectUnauthorized: true,
      ...(options.ca ? { ca: options.ca } : {}),
    };
  }

  async authenticate(input: AuthInput): Promise<AuthOutcome> {
    if (input.kind !== 'password') return refused('invalid');
    const { username, password } = input;
    // Defense in depth: the pipeline already refuses these before any authenticator runs.
    if (!username || username.length > MAX_RAW_USERNAME || username.includes('\0')) return refused('invalid');
    if (!acceptablePassword(password)) return refused('invalid');
    let client: Client;
    try {
      client = await this.#connect();
    } catch (err) {
      return refused('unavailable', describe(err));
    }
    try {
      const dn = await this.#findDn(client, username);
      if (!dn) return refused('invalid');
      try {
        await client.bind(dn, password);
      } catch (err) {
        if (err instanceof InvalidCredentialsError || err instanceof InvalidDNSyntaxError)
          return refused('invalid');
        throw err;
      }
      const entry = await this.#readEntry(client, dn);
      if (!entry) return refused('invalid');
      const name = first(entry[this.#o.usernameAttribute]);
      if (!name) return refused('invalid', `entry has no ${this.#o.usernameAttribute}`);
      const groups = await this.#groups(client, dn, entry);
      const kept = this.#o.authStateAttributes ?? [];
      const attributes = Object.fromEntries(kept.map((a) => [a, many(entry[a]).map(String)]));
      return { ok: true, username: name, groups, authState: { dn, ...(kept.length ? { attributes } : {}) } };
    } catch (err) {
      return refused('unavailable', describe(err));
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  async #connect(): Promise<Client> {
    const client = new Client({
      url: this.#o.url,
      timeout: this.#o.timeoutMs,
      connectTimeout: this.#o.connectTimeoutMs,
      // TLS options go to the constructor only for ldaps://; for StartTLS they go to startTLS().
      ...(this.#o.url.startsWith('ldaps:') ? { tlsOptions: this.#tls } : {}),
    });
    try {
      if (this.#o.startTls) await client.startTLS(this.#tls);
      return client;
    } catch (err) {
      await client.unbind().catch(() => undefined);
      throw err;
    }
  }

  /** The user's DN: from the template, or one search (exactly one match, else invalid). */
  async #findDn(client: Client, username: string): Promise<string | undefined> {
    if (this.#o.bindDnTemplate) return dnFromTemplate(this.#o.bindDnTemplate, username);
    if (this.#o.bindDn && this.#o.bindPassword) await client.bind(this.#o.bindDn, this.#o.bindPassword);
    const byName = new EqualityFilter({ attribute: this.#o.usernameAttribute, value: username });
    const filter = this.#userFilter ? new AndFilter({ filters: [byName, this.#userFilter] }) : byName;
    const { searchEntries } = await client.search(this.#o.searchBase ?? '', {
      scope: 'sub',
      filter,
      attributes: ['1.1'],
      sizeLimit: 2,
    });
    return searchEntries.length === 1 ? searchEntries[0]?.dn : undefined;
  }

  async #readEntry(client: Client, dn: string): Promise<Record<string, unknown> | undefined> {
    try {
      const { searchEntries } = await client.search(dn, {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: [this.#o.usernameAttribute, 'memberOf', ...(this.#o.authStateAttributes ?? [])],
      });
      return searchEntries[0];
    } catch (err) {
      if (err instanceof NoSuchObjectError) return undefined;
      throw err;
    }
  }

  async #groups(client: Client, dn: string, entry: Record<string, unknown>): Promise<string[]> {
    const g = this.#o.groups;
    if (g.from === 'none') return [];
    let direct: { dn: string; name: string | undefined }[];
    if (g.from === 'memberOf') {
      direct = many(entry.memberOf).map((d) => ({ dn: String(d), name: firstRdnValue(String(d)) }));
    } else {
      if (this.#o.bindDn && this.#o.bindPassword) await client.bind(this.#o.bindDn, this.#o.bindPassword);
      direct = await this.#groupsWithMember(client, [dn]);
    }
    const names = new Set(direct.map((x) => x.name).filter((x): x is string => !!x));
    if (!g.nested) return [...names];
    // Nested: the groups whose members include a group found so far, level by level (cycles stop).
    if (g.from === 'memberOf' && this.#o.bindDn && this.#o.bindPassword) {
      await client.bind(this.#o.bindDn, this.#o.bindPassword);
    }
    const seen = new Set(direct.map((x) => x.dn.toLowerCase()));
    let frontier = direct.map((x) => x.dn);
    for (let depth = 0; depth < MAX_GROUP_DEPTH && frontier.length > 0; depth++) {
      const parents = await this.#groupsWithMember(client, frontier);
      frontier = [];
      for (const p of parents) {
        if (seen.has(p.dn.toLowerCase())) continue;
        seen.add(p.dn.toLowerCase());
        frontier.push(p.dn);
        if (p.name) names.add(p.name);
      }
    }
    return [...names];
  }

  /** Groups under the group search base with any of `members` in their member attribute. */
  async #groupsWithMember(client: Client, members: readonly string[]) {
    const g = this.#o.groups;
    const each = members.map((m) => new EqualityFilter({ attribute: g.memberAttribute, value: m }));
    const filter = each.length === 1 && each[0] ? each[0] : new OrFilter({ filters: each });
    const { searchEntries } = await client.search(g.searchBase ?? '', {
      scope: 'sub',
      filter,
      attributes: [g.nameAttribute],
    });
    return searchEntries.map((e) => ({ dn: e.dn, name: first(e[g.nameAttribute]) }));
  }
}

/** A short, secret-free description of a failure for logs. */
function describe(err: unknown): string {
  if (err instanceof ResultCodeError) return `${err.name} (${err.code})`;
  const e = err as Error & { code?: unknown };
  return `${e?.name ?? 'Error'}${e?.code ? ` ${String(e.code)}` : ''}: ${String(e?.message ?? '').slice(0, 200)}`;
}
