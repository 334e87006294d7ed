import assert from 'node:assert/strict';
import {
  type BrowserClient,
  type ClientResponse,
  xsrfFrom,
} from '../../services/hub/src/testing/browser-client.ts';

/** A call JupyterLab would make: CORS-mode fetch with the server's XSRF cookie echoed in a header. */
export function jupyterApi(c: BrowserClient, method: string, path: string, body?: unknown) {
  const xsrf = decodeURIComponent(c.cookie('_xsrf') ?? '');
  return c.request(method, path, {
    headers: {
      'sec-fetch-mode': 'cors',
      'x-xsrftoken': xsrf,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}

/** Press "Start my server" on the home page and follow the pending page until JupyterLab opens. */
export async function startServer(c: BrowserClient, user: string, tries = 120): Promise<ClientResponse> {
  const home = await c.get('/hub/home');
  assert.equal(home.status, 200, `home: ${home.status} at ${home.url}`);
  let last = home.body.includes('/hub/spawn"')
    ? await c.postForm('/hub/spawn', { _xsrf: xsrfFrom(home.body) })
    : home;
  const atLab = (r: ClientResponse) =>
    r.hops.some((u) => new URL(u).pathname.startsWith(`/user/${user}/lab`));
  for (let i = 0; i < tries && !atLab(last); i++) {
    await new Promise((r) => setTimeout(r, 1000));
    last = await c.get(`/hub/spawn-pending/${user}`);
  }
  return last;
}

/** Write a text file into the user's home through the Jupyter contents API. */
export async function writeFile(
  c: BrowserClient,
  user: string,
  name: string,
  content: string,
): Promise<void> {
  await c.get(`/user/${user}/lab`);
  const put = await jupyterApi(c, 'PUT', `/user/${user}/api/contents/${name}`, {
    type: 'file',
    format: 'text',
    content,
  });
  assert.ok(put.status === 201 || put.status === 200, `PUT ${put.status} ${put.body.slice(0, 200)}`);
}

/** Read a text file from the user's home; undefined if the server answers anything but 200. */
export async function readFile(c: BrowserClient, user: string, name: string): Promise<string | undefined> {
  const r = await jupyterApi(c, 'GET', `/user/${user}/api/contents/${name}?content=1&format=text&type=file`);
  if (r.status !== 200) return undefined;
  return (JSON.parse(r.body) as { content: string }).content;
}
