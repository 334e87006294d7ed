import { type Dispatcher, request as undiciRequest } from 'undici';

/**
 * A minimal browser-like HTTP client: a cookie jar (path-aware), manual redirects, and helpers to read the
 * XSRF token from a form. Used by hub tests and the end-to-end suite.
 */
export interface ClientResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
  readonly url: string;
  /** Every URL visited, the last one first to last. */
  readonly hops: readonly string[];
}

interface StoredCookie {
  value: string;
  path: string;
}

export class BrowserClient {
  readonly #base: string;
  readonly #jar = new Map<string, StoredCookie>();
  readonly #dispatcher: Dispatcher | undefined;

  /** `dispatcher` carries TLS trust (e.g. an undici Agent with the deployment's CA). */
  constructor(base: string, dispatcher?: Dispatcher) {
    this.#base = base.replace(/\/$/, '');
    this.#dispatcher = dispatcher;
  }

  cookieNames(): string[] {
    return [...this.#jar.keys()];
  }

  cookie(name: string): string | undefined {
    return this.#jar.get(name)?.value;
  }

  setCookie(name: string, value: string, path = '/'): void {
    this.#jar.set(name, { value, path });
  }

  #cookieHeader(path: string): string {
    return [...this.#jar.entries()]
      .filter(([, c]) => path.startsWith(c.path) || `${path}/` === c.path)
      .map(([k, c]) => `${k}=${c.value}`)
      .join('; ');
  }

  #store(setCookie: readonly string[]): void {
    for (const line of setCookie) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const pathAttr = attrs.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith('path='));
      const expired = attrs.some(
        (a) => /^max-age=0$/i.test(a.trim()) || /^expires=thu, 01 jan 1970/i.test(a.trim()),
      );
      if (expired || value === '') this.#jar.delete(name);
      else this.#jar.set(name, { value, path: pathAttr ? pathAttr.slice(5) : '/' });
    }
  }

  /** One request, no redirect following. */
  async request(
    method: string,
    pathOrUrl: string,
    init: { body?: string; headers?: Record<string, string> } = {},
  ): Promise<ClientResponse> {
    const url = new URL(pathOrUrl, this.#base);
    // A browser marks page loads and form posts as navigations; script calls pass their own mode.
    const headers: Record<string, string> = { 'sec-fetch-mode': 'navigate', ...init.headers };
    const cookie = this.#cookieHeader(url.pathname);
    if (cookie) headers.cookie = cookie;
    // undici.request, not fetch: fetch forces `Sec-Fetch-Mode: cors`, which no browser navigation sends.
    const res = await undiciRequest(url, {
      method: method as Dispatcher.HttpMethod,
      headers,
      body: init.body ?? null,
      ...(this.#dispatcher ? { dispatcher: this.#dispatcher } : {}),
    });
    const out = new Headers();
    const setCookie: string[] = [];
    for (const [k, v] of Object.entries(res.headers)) {
      for (const one of Array.isArray(v) ? v : [v ?? '']) {
        if (k === 'set-cookie') setCookie.push(one);
        out.append(k, one);
      }
    }
    this.#store(setCookie);
    const body = await res.body.text();
    return { status: res.statusCode, headers: out, body, url: url.toString(), hops: [url.toString()] };
  }

  /** Follow redirects like a browser (303 and 302 after POST become GET). */
  async follow(
    method: string,
    path: string,
    init: { body?: string; headers?: Record<string, string> } = {},
    max = 15,
  ): Promise<ClientResponse> {
    let res = await this.request(method, path, init);
    const hops = [...res.hops];
    for (let i = 0; i < max && res.status >= 300 && res.status < 400; i++) {
      const loc = res.headers.get('location');
      if (!loc) break;
      res = await this.request('GET', new URL(loc, res.url).toString());
      hops.push(res.url);
    }
    return { ...res, hops };
  }

  get(path: string, headers?: Record<string, string>) {
    return this.follow('GET', path, headers ? { headers } : {});
  }

  /** Submit a form-encoded POST. */
  postForm(path: string, fields: Record<string, string>, follow = true) {
    const init = {
      body: new URLSearchParams(fields).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    };
    return follow ? this.follow('POST', path, init) : this.request('POST', path, init);
  }
}

/** The value of the `_xsrf` hidden field in a page. */
export function xsrfFrom(html: string): string {
  const m = /name="_xsrf" value="([^"]+)"/.exec(html);
  if (!m?.[1]) throw new Error('no _xsrf field in page');
  return m[1];
}

/** Log in through the hub's form, as a browser does. Returns the final response. */
export async function login(client: BrowserClient, username: string, password: string, next?: string) {
  const page = await client.get(`/hub/login${next ? `?next=${encodeURIComponent(next)}` : ''}`);
  const fields: Record<string, string> = { _xsrf: xsrfFrom(page.body), username, password };
  if (next) fields.next = next;
  return client.postForm('/hub/login', fields);
}
