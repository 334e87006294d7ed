import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type Harness, startHarness } from '../testing/hub-harness.ts';
import { ROUTE_DOCS } from './route-docs.ts';
import { issueApiToken } from './tokens.ts';

const DOC_FILE = new URL('../../../../docs/openapi.json', import.meta.url);
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

type Operation = {
  security?: unknown[];
  parameters?: { in: string; name: string }[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
};
type Doc = { paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>> };

/** Sample values for path parameters, so that requests reach the route (not a 404 for the path). */
const SAMPLE: Record<string, string> = { name: 'alice', server: 'named', id: 'a1', version: '1' };

describe('the OpenAPI document (real Postgres)', () => {
  let h: Harness;
  let doc: Doc;
  let admin: string;

  before(async () => {
    h = await startHarness();
    await h.addUser('root', 'root-password', true);
    await h.addUser('alice', 'alice-password');
    const root = await h.hub.ctx.users.byName('root');
    assert.ok(root);
    admin = (await issueApiToken(h.hub.ctx, root, {})).token;
    const res = await fetch(`${h.base}/hub/api/openapi.json`);
    assert.equal(res.status, 200);
    doc = (await res.json()) as Doc;
  });
  after(() => h?.close());

  it('is served by the hub and checked in as docs/openapi.json (BERTH_UPDATE_OPENAPI=1 rewrites it)', () => {
    if (process.env.BERTH_UPDATE_OPENAPI === '1') {
      writeFileSync(DOC_FILE, `${JSON.stringify(doc, null, 2)}\n`);
      // Formatted as the linter wants it (one run; the file is then stable).
      execFileSync('npx', ['biome', 'format', '--write', DOC_FILE.pathname], { stdio: 'ignore' });
    }
    assert.deepEqual(
      JSON.parse(readFileSync(DOC_FILE, 'utf8')),
      doc,
      'docs/openapi.json is stale: run BERTH_UPDATE_OPENAPI=1 npx node --test services/hub/src/api/openapi.test.ts',
    );
  });

  it('documents every route of the table, and nothing the hub does not serve', () => {
    for (const key of Object.keys(ROUTE_DOCS)) {
      const [method, url] = key.split(' ') as [string, string];
      const path = url.replace(/:(\w+)/g, '{$1}');
      assert.ok(doc.paths[path]?.[method.toLowerCase() as 'get'], `${key} is in the document`);
    }
  });

  it('every operation names its security, a success and the errors it can answer, and its path parameters', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const m of METHODS) {
        const op = item[m];
        if (!op) continue;
        const label = `${m.toUpperCase()} ${path}`;
        assert.ok(Array.isArray(op.security), `${label}: security`);
        const codes = Object.keys(op.responses);
        assert.ok(
          codes.some((c) => c.startsWith('2')),
          `${label}: a 2xx`,
        );
        assert.ok(codes.includes('400'), `${label}: 400`);
        if ((op.security ?? []).length > 0) assert.ok(codes.includes('403'), `${label}: 403`);
        for (const p of path.match(/\{(\w+)\}/g) ?? []) {
          const name = p.slice(1, -1);
          assert.ok(
            op.parameters?.some((x) => x.in === 'path' && x.name === name),
            `${label}: path parameter ${name}`,
          );
        }
      }
    }
  });

  it('bad input on every documented operation gets a documented 4xx with {status, message}, never a 500', async () => {
    const huge = `{"x": "${'a'.repeat(1_100_000)}"}`;
    const cases: {
      what: string;
      token?: string;
      query?: string;
      type?: string;
      body?: string | Blob;
      onlySecured?: boolean;
      onlyBody?: boolean;
    }[] = [
      { what: 'no token', onlySecured: true },
      { what: 'a bad token', token: 'f'.repeat(64), onlySecured: true },
      { what: 'a token in the URL', token: admin, query: `token=${admin}`, onlySecured: true },
      {
        what: 'invalid UTF-8 JSON',
        token: admin,
        type: 'application/json',
        body: new Blob([new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])]),
      },
      { what: 'malformed JSON', token: admin, type: 'application/json', body: '{"users": [' },
      { what: 'text/plain', token: admin, type: 'text/plain', body: '{"users": ["alice"]}' },
      {
        what: 'a form body',
        token: admin,
        type: 'application/x-www-form-urlencoded',
        body: 'users=alice&admin=true',
      },
      {
        what: '__proto__',
        token: admin,
        type: 'application/json',
        body: '{"__proto__": {"admin": true}}',
        onlyBody: true,
      },
      {
        what: 'constructor.prototype',
        token: admin,
        type: 'application/json',
        body: '{"constructor": {"prototype": {"admin": true}}}',
        onlyBody: true,
      },
      { what: 'a huge body', token: admin, type: 'application/json', body: huge },
      {
        what: 'a wrong type',
        token: admin,
        type: 'application/json',
        body: '[1, "two", null]',
        onlyBody: true,
      },
      {
        what: 'an unknown field',
        token: admin,
        type: 'application/json',
        body: '{"no_such_field": 1, "users": ["alice"], "usernames": ["alice"], "groups": ["g"]}',
        onlyBody: true,
      },
    ];
    const failures: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const m of METHODS) {
        const op = item[m];
        if (!op) continue;
        const url = path.replace(/\{(\w+)\}/g, (_s, n: string) => SAMPLE[n] ?? 'x');
        const secured = (op.security ?? []).length > 0;
        for (const c of cases) {
          if (c.onlySecured && !secured) continue;
          // A well-formed JSON body of the wrong shape only goes where a body schema will refuse it.
          if (c.onlyBody && !op.requestBody) continue;
          if (c.body !== undefined && m === 'get') continue;
          const headers: Record<string, string> = {};
          if (c.token) headers.authorization = `token ${c.token}`;
          if (c.type) headers['content-type'] = c.type;
          const res = await fetch(`${h.base}${url}${c.query ? `?${c.query}` : ''}`, {
            method: m.toUpperCase(),
            headers,
            ...(c.body !== undefined ? { body: c.body } : {}),
          });
          const text = await res.text();
          const label = `${m.toUpperCase()} ${path} with ${c.what}: ${res.status} ${text.slice(0, 120)}`;
          if (res.status < 400 || res.status >= 500) {
            failures.push(label);
            continue;
          }
          if (!(String(res.status) in op.responses)) failures.push(`${label} (status not documented)`);
          try {
            const j = JSON.parse(text) as { status?: unknown; message?: unknown };
            if (j.status !== res.status || typeof j.message !== 'string')
              failures.push(`${label} (body shape)`);
          } catch {
            failures.push(`${label} (not JSON)`);
          }
        }
      }
    }
    assert.deepEqual(failures, []);
    assert.equal((await h.hub.ctx.users.byName('alice'))?.admin, false, 'nothing got through');
    assert.equal(({} as Record<string, unknown>).admin, undefined, 'no prototype was polluted');
  });
});
