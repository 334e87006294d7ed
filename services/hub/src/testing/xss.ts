import assert from 'node:assert/strict';

/** A payload that runs script if any page writes it unescaped (in text, an attribute or a URL). */
export const XSS = `<img src=x onerror="alert('xss')"><script>alert(1)</script>`;

/** The payload may appear only escaped: no raw copy, no script or img tag built from it. */
export function assertEscaped(body: string, payload = XSS): void {
  assert.ok(!body.includes(payload), 'the raw payload is in the page');
  assert.ok(!/<script>alert/i.test(body), 'a script tag from the payload is in the page');
  assert.ok(!/<img src=x/i.test(body), 'an img tag from the payload is in the page');
}
