import swagger from '@fastify/swagger';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { BERTH_VERSION } from '../version.ts';
import { errorModel } from './openapi-models.ts';
import { ROUTE_DOCS } from './route-docs.ts';

/** Paths in the document: the REST API and the hub's machine endpoints; pages and OAuth forms are not. */
export const isDocumented = (url: string) =>
  url === '/hub/api' || url.startsWith('/hub/api/') || url === '/hub/metrics' || url === '/hub/health';

/** The document itself, and OAuth 2's browser and form endpoints (RFC 6749 describes those, not this API). */
const hidden = (url: string) => url === '/hub/api/openapi.json' || url.startsWith('/hub/api/oauth2/');
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const err = (description: string) => ({ ...errorModel, description });

/** The routes the table documents, keyed as ROUTE_DOCS is. */
export const routeKey = (method: string, url: string) => `${method} ${url}`;

/**
 * The error statuses every documented route can answer, from what it takes: a token (403), path parameters
 * (404), a body (400 malformed or invalid, 413 too large, 415 not JSON), and always 400 (a token in the URL,
 * a bad query). Routes add their own (409, 429, 503…) in ROUTE_DOCS.
 */
function commonErrors(method: string, url: string, authenticated: boolean, hasBody: boolean) {
  const out: Record<number, object> = {
    400: err('bad request: invalid input, or a token in the URL'),
  };
  if (authenticated) out[403] = err('missing or invalid token, or a scope the caller does not hold');
  if (url.includes(':')) out[404] = err('no such user, server, group, service or token');
  // Any method that may carry a body can meet a body too large or of the wrong type, schema or not.
  if (hasBody || BODY_METHODS.has(method)) {
    out[413] = err('body too large');
    out[415] = err('body is not application/json');
  }
  return out;
}

type Schema = Record<string, unknown>;

/**
 * The OpenAPI document, generated from the route schemas by @fastify/swagger. Register before any route:
 * each /hub/api route gets its ROUTE_DOCS entry merged into its schema (body schemas stay the route's own).
 * Responses are written with JSON.stringify, so response schemas document and never filter.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const doc = methods.map((m) => ROUTE_DOCS[routeKey(m, route.url ?? '')]).find(Boolean);
    if (!doc) return;
    const own = (route.schema ?? {}) as Schema;
    route.schema = {
      ...own,
      summary: doc.summary,
      description: [
        doc.scopes.length
          ? `Scopes (any of): ${doc.scopes.map((x) => `\`${x}\``).join(', ')}.`
          : 'No authentication.',
        doc.description ?? '',
      ]
        .join(' ')
        .trim(),
      tags: [...doc.tags],
      ...(doc.params
        ? { params: { type: 'object', required: Object.keys(doc.params), properties: doc.params } }
        : {}),
      ...(doc.querystring ? { querystring: { type: 'object', properties: doc.querystring } } : {}),
      response: doc.responses,
      ...(doc.scopes.length ? { security: [{ token: [] }] } : { security: [] }),
    } as Schema;
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Berth hub REST API',
        description:
          "JupyterHub's REST API (same paths, shapes, scopes and `{status, message}` errors) as Berth serves it. See docs/api.md for the differences.",
        version: BERTH_VERSION,
      },
      components: {
        securitySchemes: {
          token: {
            type: 'apiKey',
            in: 'header',
            name: 'Authorization',
            description: '`token <api token>` (or `Bearer <token>`). Tokens in the URL are refused.',
          },
        },
      },
    },
    transform: ({ schema, url, route }) => {
      const own = (schema ?? {}) as Schema;
      if (!isDocumented(url) || hidden(url)) return { schema: { ...own, hide: true }, url };
      const method = Array.isArray(route.method) ? (route.method[0] as string) : route.method;
      // A body the route checks itself (RouteDoc.body) is documented here, where fastify does not validate it.
      const documentedBody = ROUTE_DOCS[routeKey(method, url)]?.body;
      const s = own.body === undefined && documentedBody ? { ...own, body: documentedBody } : own;
      const authenticated = !Array.isArray(s.security) || s.security.length > 0;
      const hasBody = s.body !== undefined || (BODY_METHODS.has(method) && method !== 'DELETE');
      // A route without response schemas answers 200 with a body this document does not describe.
      const documented = (s.response as Schema | undefined) ?? {
        200: { description: 'Default Response', content: { '*/*': { schema: {} } } },
      };
      const response = { ...commonErrors(method, url, authenticated, hasBody), ...documented };
      const security = Array.isArray(s.security) ? s.security : [{ token: [] }];
      return { schema: { ...s, response, security }, url };
    },
  });
  app.get('/hub/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
