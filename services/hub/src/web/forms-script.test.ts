import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import vm from 'node:vm';
import { FORMS_JS } from './forms-script.ts';

interface FakeElement {
  hidden: boolean;
  textContent: string;
  disabled: boolean;
  attrs: Record<string, string>;
  getAttribute(k: string): string | null;
}

function element(attrs: Record<string, string> = {}): FakeElement {
  return {
    hidden: true,
    textContent: '',
    disabled: false,
    attrs,
    getAttribute: (k) => attrs[k] ?? null,
  };
}

/**
 * Runs berth-forms.js on a stand-in for the tokens page's "New API token" form (`data-result="new-token"`) and
 * answers its call with `response`; returns the form's button, error box and the result box's fields.
 */
async function submitWithResult(response: Record<string, unknown>) {
  let submit: ((e: unknown) => void) | undefined;
  const button = element();
  const error = element();
  const fields = {
    token: element({ 'data-field': 'token' }),
    expires_at: element({ 'data-field': 'expires_at', 'data-format': 'when' }),
    scopes: element({ 'data-field': 'scopes' }),
  };
  const box = { hidden: true, querySelectorAll: () => Object.values(fields), querySelector: () => null };
  const attrs: Record<string, string> = {
    'data-api': '/hub/api/users/alice/tokens',
    'data-result': 'new-token',
  };
  let reset = 0;
  const form = {
    elements: Object.assign([{ name: '_xsrf', type: 'hidden', value: 'x', disabled: false }], {
      namedItem: () => null,
    }),
    hasAttribute: (k: string) => k in attrs,
    getAttribute: (k: string) => attrs[k] ?? null,
    querySelector: (sel: string) => (sel === '.form-error' ? error : null),
    querySelectorAll: (sel: string) => (sel === 'button' ? [button] : []),
    reset: () => {
      reset++;
    },
  };
  let answered: Promise<unknown> = Promise.resolve();
  const fetch = () => {
    answered = Promise.resolve({ ok: true, status: 201, json: () => Promise.resolve(response) });
    return answered;
  };
  const document = {
    addEventListener: (type: string, fn: (e: unknown) => void) => {
      if (type === 'submit') submit = fn;
    },
    getElementById: (id: string) => (id === 'new-token' ? box : null),
  };
  const window = { location: { reload: () => assert.fail('a result form does not reload the page') } };
  vm.runInNewContext(FORMS_JS, { document, fetch, window, URLSearchParams });
  assert.ok(submit);
  error.hidden = false; // an earlier failure's message
  submit({ target: form, preventDefault() {} });
  assert.equal(button.disabled, true, 'the button is disabled while the call runs');
  for (let i = 0; i < 10; i++) await answered.then(() => Promise.resolve());
  await new Promise((r) => setImmediate(r));
  return { button, error, box, fields, reset };
}

describe('berth-forms.js: a form that shows its result in the page', () => {
  it('shows the result, then lets the user use the form again (a second token)', async () => {
    const r = await submitWithResult({
      token: 'abc123',
      expires_at: '2026-12-23T16:47:09.123Z',
      scopes: ['read:users!user=alice', 'servers!user=alice'],
    });
    assert.equal(r.box.hidden, false);
    assert.equal(r.fields.token.textContent, 'abc123');
    assert.equal(r.button.disabled, false, '"Create token" works again after a token is shown');
    assert.equal(r.error.hidden, true, 'an earlier error is cleared');
    assert.equal(r.reset, 1);
    assert.equal(r.fields.scopes.textContent, 'read:users!user=alice servers!user=alice');
  });

  it('formats an expiry as the pages format dates, and a token that never expires as "never"', async () => {
    const r = await submitWithResult({ token: 't', expires_at: '2026-12-23T16:47:09.123Z', scopes: [] });
    assert.equal(r.fields.expires_at.textContent, '2026-12-23 16:47 UTC');
    const never = await submitWithResult({ token: 't', expires_at: null, scopes: [] });
    assert.equal(never.fields.expires_at.textContent, 'never');
  });
});
