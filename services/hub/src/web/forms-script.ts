/**
 * The pages' one general script, served at /hub/static/berth-forms.js (CSP is `script-src 'self'`, so no
 * inline script). It turns `<form data-api="/hub/api/…" data-method="PATCH">` into a call to the hub's REST API
 * with the session cookie and the form's `_xsrf` token in the `X-XSRFToken` header, so every action goes
 * through the API's own scope checks. Field values become a JSON body:
 *
 * - `data-type="boolean"` (a checkbox's checked state, or the value "true"), `"integer"` or `"number"` (empty
 *   is left out), `"list"` (checked boxes of that name, or a text split on commas/whitespace; an empty list is left out unless
 *   the field has `data-keep-empty`);
 * - `data-body="none"` sends no body;
 * - `data-url-field="name"` appends the field's value (URI-encoded) to the URL and leaves it out of the body;
 * - `data-query-fields="a b"` sends those fields (the checked radio, or the value) as the URL's query string,
 *   e.g. `?volumes=keep` for a deletion, and leaves them out of the body.
 *
 * After success the page reloads, or with `data-result="id"` the response's fields fill `[data-field=…]` in
 * that element, which is shown (a new token, shown once), and the form's buttons work again; a field with
 * `data-format="when"` shows a timestamp as the pages do (`2026-01-02 03:04 UTC`, `never` when null). `data-bulk="selector"` on a button submits every
 * matching form in turn. Errors are written with textContent into the form's `.form-error` (or `#flash`).
 */
export const FORMS_JS = `'use strict';
(function () {
  function errorBox(form) {
    return (form && form.querySelector('.form-error')) || document.getElementById('flash');
  }
  function showError(form, message) {
    var box = errorBox(form);
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
    box.setAttribute('role', 'alert');
    if (box.focus) box.focus();
  }
  function queryFields(form) {
    return (form.getAttribute('data-query-fields') || '').split(/\\s+/).filter(Boolean);
  }
  function queryOf(form) {
    var params = new URLSearchParams();
    queryFields(form).forEach(function (name) {
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name !== name || el.disabled) return;
        if ((el.type === 'radio' || el.type === 'checkbox') && !el.checked) return;
        if (el.value !== '') params.append(name, el.value);
      });
    });
    var q = params.toString();
    return q ? '?' + q : '';
  }
  function bodyOf(form) {
    var body = {};
    var lists = {};
    var keep = {};
    var skip = form.getAttribute('data-url-field');
    var inQuery = queryFields(form);
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === '_xsrf' || el.name === skip || el.disabled) return;
      if (inQuery.indexOf(el.name) >= 0) return;
      var type = el.getAttribute('data-type');
      if (type === 'list') {
        lists[el.name] = lists[el.name] || [];
        if (el.hasAttribute('data-keep-empty')) keep[el.name] = true;
        if (el.type === 'checkbox') {
          if (el.checked) lists[el.name].push(el.value);
        } else {
          String(el.value).split(/[\\s,]+/).forEach(function (v) { if (v) lists[el.name].push(v); });
        }
        return;
      }
      if (type === 'boolean') {
        body[el.name] = el.type === 'checkbox' ? el.checked : el.value === 'true';
        return;
      }
      if (type === 'integer' || type === 'number') {
        if (el.value !== '') body[el.name] = type === 'integer' ? parseInt(el.value, 10) : parseFloat(el.value);
        return;
      }
      if (el.type === 'checkbox' || el.type === 'radio') {
        if (el.checked) body[el.name] = el.value;
        return;
      }
      if (el.value !== '' || el.hasAttribute('data-keep-empty')) body[el.name] = el.value;
    });
    Object.keys(lists).forEach(function (k) { if (lists[k].length || keep[k]) body[k] = lists[k]; });
    return body;
  }
  function call(form) {
    var xsrf = form.querySelector('input[name="_xsrf"]');
    var url = form.getAttribute('data-api');
    var field = form.getAttribute('data-url-field');
    if (field) {
      var input = form.elements.namedItem(field);
      url += encodeURIComponent(input ? input.value : '');
    }
    url += queryOf(form);
    var init = {
      method: form.getAttribute('data-method') || 'POST',
      credentials: 'same-origin',
      headers: { Accept: 'application/json', 'X-XSRFToken': xsrf ? xsrf.value : '' },
    };
    if (form.getAttribute('data-body') !== 'none') {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(bodyOf(form));
    }
    return fetch(url, init).then(function (res) {
      if (res.ok) return res.status === 204 ? {} : res.json().catch(function () { return {}; });
      return res.json().catch(function () { return {}; }).then(function (j) {
        throw new Error(j && j.message ? j.message : 'Request failed (' + res.status + ')');
      });
    });
  }
  function when(v) {
    var d = new Date(v);
    if (isNaN(d.getTime())) return String(v);
    return d.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  }
  function fieldText(el, v) {
    var format = el.getAttribute('data-format');
    if (v === null || v === undefined || v === '') return format === 'when' ? 'never' : '';
    if (format === 'when') return when(v);
    return Array.isArray(v) ? v.join(' ') : String(v);
  }
  function done(form, data, buttons) {
    var target = form.getAttribute('data-result');
    if (!target) { window.location.reload(); return; }
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
    var error = form.querySelector('.form-error');
    if (error) error.hidden = true;
    var box = document.getElementById(target);
    if (!box) return;
    Array.prototype.forEach.call(box.querySelectorAll('[data-field]'), function (el) {
      el.textContent = fieldText(el, data[el.getAttribute('data-field')]);
    });
    box.hidden = false;
    var focus = box.querySelector('[tabindex]') || box;
    if (focus.focus) focus.focus();
    form.reset();
  }
  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (!form || !form.hasAttribute || !form.hasAttribute('data-api')) return;
    e.preventDefault();
    var buttons = form.querySelectorAll('button');
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
    call(form).then(function (data) { done(form, data, buttons); }, function (err) {
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
      showError(form, err.message);
    });
  });
  document.addEventListener('click', function (e) {
    var button = e.target && e.target.closest ? e.target.closest('button[data-bulk]') : null;
    if (!button) return;
    e.preventDefault();
    var forms = Array.prototype.slice.call(document.querySelectorAll(button.getAttribute('data-bulk')));
    button.disabled = true;
    var chain = Promise.resolve();
    var failures = [];
    forms.forEach(function (f) {
      chain = chain.then(function () { return call(f).catch(function (err) { failures.push(err.message); }); });
    });
    chain.then(function () {
      if (failures.length) { button.disabled = false; showError(null, failures.join('; ')); }
      else window.location.reload();
    });
  });
})();
`;
