/**
 * The spawn-pending page's script, served at /hub/static/spawn-pending.js (CSP is `script-src 'self'`, so no
 * inline script). It follows the progress event stream and goes to the server when it is ready; on failure it
 * reloads the page, which then shows the reason and the server's last log lines. Messages are set with
 * textContent only. Without JavaScript, the page's <noscript> refresh does the same, more slowly.
 */
export const SPAWN_PENDING_JS = `'use strict';
(function () {
  var box = document.getElementById('spawn-progress');
  if (!box || !window.EventSource) return;
  var bar = box.querySelector('progress');
  var text = box.querySelector('.progress-message');
  var log = box.querySelector('.progress-log');
  var failedUrl = box.getAttribute('data-failed-url') || '/hub/home';
  var source = new EventSource(box.getAttribute('data-progress-url'));
  source.onmessage = function (e) {
    var ev;
    try { ev = JSON.parse(e.data); } catch (err) { return; }
    if (typeof ev.progress === 'number' && bar) bar.value = ev.progress;
    if (typeof ev.message === 'string') {
      if (text) text.textContent = ev.message;
      if (log) { var li = document.createElement('li'); li.textContent = ev.message; log.appendChild(li); }
    }
    if (ev.ready) {
      source.close();
      window.location.assign(typeof ev.url === 'string' && ev.url.charAt(0) === '/' && ev.url.charAt(1) !== '/' ? ev.url : window.location.pathname);
    } else if (ev.failed) {
      source.close();
      box.classList.add('failed');
      setTimeout(function () { window.location.assign(failedUrl); }, 1000);
    }
  };
  source.onerror = function () {
    source.close();
    setTimeout(function () { window.location.reload(); }, 2000);
  };
})();
`;
