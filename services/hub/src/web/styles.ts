/** The hub's one stylesheet, served at /hub/static/berth.css (kept in TS so the build ships it). */
export const BERTH_CSS = `
:root {
  --fg: #1d2433;
  --muted: #5b6475;
  --bg: #f5f7fb;
  --card: #fff;
  --accent: #0b5fff;
  --accent-fg: #fff;
  --err: #b3261e;
}
* {
  box-sizing: border-box;
}
body {
  margin: 0;
  font:
    16px / 1.5 system-ui,
    -apple-system,
    "Segoe UI",
    Roboto,
    sans-serif;
  color: var(--fg);
  background: var(--bg);
}
.bar {
  display: flex;
  justify-content: space-between;
  align-items: center;
  padding: 0.75rem 1.25rem;
  background: #101828;
  color: #fff;
}
.bar a,
.bar button.link {
  color: #fff;
}
.brand {
  font-weight: 700;
  text-decoration: none;
  font-size: 1.15rem;
}
nav {
  display: flex;
  gap: 1rem;
  align-items: center;
}
main {
  max-width: 56rem;
  margin: 2rem auto;
  padding: 0 1rem;
}
.card {
  background: var(--card);
  border-radius: 12px;
  padding: 1.5rem 2rem;
  box-shadow: 0 1px 3px rgba(16, 24, 40, 0.12);
}
.narrow {
  max-width: 26rem;
  margin: 0 auto;
}
h1 {
  margin-top: 0;
  font-size: 1.5rem;
}
label {
  display: block;
  margin: 0.75rem 0 0.25rem;
  font-weight: 600;
}
input:not([type="hidden"]) {
  width: 100%;
  padding: 0.6rem 0.7rem;
  border: 1px solid #c7ccd6;
  border-radius: 8px;
  font: inherit;
}
input:focus-visible,
button:focus-visible,
a:focus-visible {
  outline: 3px solid #7aa7ff;
  outline-offset: 2px;
}
button,
.button {
  display: inline-block;
  margin-top: 1rem;
  padding: 0.6rem 1.2rem;
  border: 0;
  border-radius: 8px;
  background: var(--accent);
  color: var(--accent-fg);
  font: inherit;
  font-weight: 600;
  cursor: pointer;
  text-decoration: none;
}
button.secondary {
  background: #e4e7ee;
  color: var(--fg);
}
button.link {
  background: none;
  color: var(--accent);
  padding: 0;
  margin: 0;
  text-decoration: underline;
  font-weight: 400;
}
form.inline {
  display: inline;
}
.actions {
  display: flex;
  gap: 0.75rem;
  align-items: baseline;
  flex-wrap: wrap;
}
.error {
  color: var(--err);
  background: #fdecea;
  padding: 0.5rem 0.75rem;
  border-radius: 8px;
}
.error pre {
  white-space: pre-wrap;
  font-size: 0.8rem;
  color: var(--fg);
}
.state-running {
  color: #0a7a33;
}
.state-pending {
  color: #a15c00;
}
.who {
  opacity: 0.85;
}
.muted {
  color: var(--muted);
}
.help {
  color: var(--muted);
  font-size: 0.9rem;
  margin: 0.25rem 0 0;
}
.sr-only {
  position: absolute;
  width: 1px;
  height: 1px;
  margin: -1px;
  padding: 0;
  overflow: hidden;
  clip: rect(0 0 0 0);
  white-space: nowrap;
  border: 0;
}
.skip {
  position: absolute;
  left: 0.5rem;
  top: -3rem;
  background: #fff;
  color: var(--fg);
  padding: 0.5rem 0.75rem;
  border-radius: 8px;
  z-index: 10;
}
.skip:focus {
  top: 0.5rem;
}
main:focus {
  outline: none;
}
.bar nav a {
  text-decoration: none;
  padding: 0.25rem 0.1rem;
}
.bar nav a[aria-current="page"] {
  border-bottom: 2px solid #fff;
}
.banner {
  background: #fff4ce;
  color: #3d2e00;
  border-bottom: 1px solid #e8d48a;
  padding: 0.6rem 1.25rem;
  text-align: center;
}
.banner p {
  margin: 0;
  font-weight: 600;
}
.notice {
  max-width: 56rem;
  margin: 1rem auto 0;
  padding: 0.75rem 1rem;
  border-left: 4px solid var(--accent);
  background: #eef3ff;
  border-radius: 8px;
}
.notice p {
  margin: 0;
}
.card .notice {
  margin: 0 0 1rem;
}
.warning {
  background: #fff4ce;
  color: #3d2e00;
  padding: 0.5rem 0.75rem;
  border-radius: 8px;
  margin-bottom: 1rem;
}
.warning p {
  margin: 0;
}
.card + .card {
  margin-top: 1.25rem;
}
h2 {
  font-size: 1.2rem;
  margin: 0 0 0.75rem;
}
.table-wrap {
  /* relative: the .sr-only (absolute) labels inside stay in the scroll box instead of widening the page */
  position: relative;
  max-width: 100%;
  overflow-x: auto;
}
fieldset {
  min-width: 0;
}
.check code,
td.scopes,
table.tokens th[scope="row"] {
  overflow-wrap: anywhere;
}
table {
  width: 100%;
  border-collapse: collapse;
  font-size: 0.95rem;
}
th,
td {
  text-align: left;
  padding: 0.55rem 0.5rem;
  border-bottom: 1px solid #e4e7ee;
  vertical-align: middle;
}
thead th {
  color: var(--muted);
  font-weight: 600;
  font-size: 0.85rem;
  text-transform: uppercase;
  letter-spacing: 0.02em;
}
td.row-actions,
.row-actions {
  white-space: nowrap;
}
td.row-actions {
  width: 1%;
}
.row-actions > * {
  margin-right: 0.4rem;
}
.row-actions button,
.row-actions .button,
.toolbar button {
  margin-top: 0;
  padding: 0.35rem 0.8rem;
  font-size: 0.9rem;
}
.state {
  font-weight: 600;
}
.state-stopped {
  color: var(--muted);
}
.state-stopping {
  color: #a15c00;
}
.badge {
  display: inline-block;
  font-size: 0.75rem;
  font-weight: 600;
  padding: 0.05rem 0.45rem;
  border-radius: 999px;
  background: #e4ecff;
  color: #0a3aa8;
  vertical-align: middle;
}
button.danger,
.danger {
  background: #b3261e;
  color: #fff;
}
.button.secondary,
a.button.secondary {
  background: #e4e7ee;
  color: var(--fg);
}
button:disabled {
  opacity: 0.55;
  cursor: not-allowed;
}
select,
textarea {
  width: 100%;
  padding: 0.6rem 0.7rem;
  border: 1px solid #c7ccd6;
  border-radius: 8px;
  font: inherit;
  background: #fff;
}
select:focus-visible,
textarea:focus-visible,
summary:focus-visible,
input[type="checkbox"]:focus-visible,
input[type="radio"]:focus-visible,
pre:focus-visible {
  outline: 3px solid #7aa7ff;
  outline-offset: 2px;
}
fieldset {
  border: 1px solid #e4e7ee;
  border-radius: 8px;
  margin: 1rem 0 0;
  padding: 0.5rem 1rem 1rem;
}
legend {
  font-weight: 600;
  padding: 0 0.25rem;
}
.check {
  display: flex;
  gap: 0.5rem;
  align-items: baseline;
  margin-top: 0.5rem;
}
.check input {
  width: auto;
}
.check label {
  margin: 0;
  font-weight: 400;
}
.inline-field {
  display: flex;
  gap: 0.5rem;
  align-items: center;
}
.inline-field button {
  margin-top: 0;
  flex: none;
}
.new-server {
  margin-top: 1.5rem;
  border-top: 1px solid #e4e7ee;
  padding-top: 0.5rem;
}
.subnav {
  display: flex;
  flex-wrap: wrap;
  gap: 0.25rem 1rem;
  margin-bottom: 1rem;
}
.subnav a {
  color: var(--fg);
  text-decoration: none;
  padding: 0.3rem 0.1rem;
}
.subnav a[aria-current="page"] {
  color: var(--accent);
  border-bottom: 2px solid var(--accent);
  font-weight: 600;
}
.pager {
  display: flex;
  gap: 1rem;
  align-items: center;
  margin-top: 1rem;
  color: var(--muted);
}
.pager a {
  color: var(--accent);
}
details.inline-details {
  display: inline-block;
  vertical-align: middle;
}
details.inline-details summary {
  cursor: pointer;
  color: #b3261e;
  font-weight: 600;
}
form.confirm {
  white-space: normal;
  max-width: 22rem;
  padding: 0.5rem 0;
}
/* An open Delete in an actions cell is as wide as its form, so the volume choice is never clipped by the table. */
details.inline-details[open] > form.confirm {
  width: min(18rem, 80vw);
}
/* …and it opens on its own line under the row's other buttons. */
td.row-actions:has(> details.inline-details[open]) {
  white-space: normal;
}
td.row-actions > details.inline-details[open] {
  display: block;
  margin-top: 0.4rem;
}
.result {
  margin-top: 1.25rem;
  padding: 1rem;
  border: 2px solid #0a7a33;
  border-radius: 8px;
  background: #effaf2;
}
pre.token,
pre.logs {
  background: #101828;
  color: #e6edf7;
  padding: 0.75rem;
  border-radius: 8px;
  overflow-x: auto;
  white-space: pre-wrap;
  word-break: break-all;
}
pre.logs {
  font-size: 0.8rem;
  max-height: 24rem;
}
code {
  font-size: 0.85em;
}
.scopes code {
  background: #f0f2f6;
  padding: 0.05rem 0.3rem;
  border-radius: 4px;
}
.profiles {
  display: grid;
  gap: 0.75rem;
}
.profile {
  display: grid;
  grid-template-columns: auto 1fr;
  gap: 0 0.6rem;
  padding: 0.75rem;
  border: 1px solid #d5dae3;
  border-radius: 10px;
}
.profile input {
  width: auto;
  margin-top: 0.3rem;
}
.profile label {
  margin: 0;
}
.profile:has(input:checked) {
  border-color: var(--accent);
  box-shadow: 0 0 0 1px var(--accent);
}
.profile-detail {
  grid-column: 2;
}
.profile-detail p {
  margin: 0.2rem 0 0;
}
.resources {
  color: var(--muted);
  font-size: 0.9rem;
}
.profile.unavailable {
  opacity: 0.7;
}
.gpu-ok {
  color: #0a7a33;
  font-weight: 600;
}
.gpu-off {
  color: #b3261e;
  font-weight: 600;
}
.filters {
  display: flex;
  flex-wrap: wrap;
  gap: 0 1rem;
  align-items: flex-end;
  margin-bottom: 1rem;
}
.filters > div {
  flex: 1 1 9rem;
}
.filters .filter-submit {
  flex: 0 0 auto;
}
.outcome {
  font-weight: 600;
}
.outcome-success {
  color: #0a7a33;
}
.outcome-failure,
.outcome-denied {
  color: #b3261e;
}
td.detail code {
  font-size: 0.75rem;
  color: var(--muted);
  word-break: break-all;
}
tfoot th,
tfoot td {
  font-weight: 700;
  border-bottom: 0;
}
main.wide {
  max-width: 80rem;
}
main.wide .notice {
  max-width: none;
}
.profiles-table td:nth-child(5) {
  min-width: 12rem;
  max-width: 18rem;
}
.small {
  font-size: 0.8rem;
}
.probe {
  font-weight: 600;
}
.probe-compatible {
  color: #0a7a33;
}
.probe-pending {
  color: #a15c00;
}
.probe-incompatible,
.probe-failed {
  color: #b3261e;
}
.badge-off {
  background: #f0f2f6;
  color: var(--muted);
}
.badge-blocked {
  background: #fde8e7;
  color: #8c1d18;
}
tr.retired th,
tr.retired td:not(.row-actions) {
  opacity: 0.6;
}
.grid-fields {
  display: grid;
  grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr));
  gap: 0 1rem;
}
details.edit[open] {
  display: block;
  min-width: 20rem;
}
details.edit form.confirm {
  max-width: 32rem;
}
ul.members {
  list-style: none;
  margin: 0;
  padding: 0;
}
ul.members li {
  display: inline-block;
  margin: 0 0.75rem 0.25rem 0;
}
.add-member input {
  /* a fixed width, not the inputs' 100%: a percentage has no min-content, so the actions cell came out too narrow */
  width: 10rem;
  max-width: 10rem;
  padding: 0.35rem 0.5rem;
}
.add-member {
  display: inline-flex;
  margin-right: 0.5rem;
}
.progress-log {
  font-size: 0.9rem;
  color: var(--muted);
}
progress {
  width: 100%;
  height: 1rem;
}
#spawn-progress label {
  margin-top: 0;
}
@media (max-width: 40rem) {
  main {
    margin: 1rem auto;
    padding: 0 0.5rem;
  }
  .card {
    padding: 1rem;
  }
  .bar {
    flex-wrap: wrap;
    gap: 0.5rem;
    padding: 0.6rem 0.75rem;
  }
  nav {
    gap: 0.75rem;
    flex-wrap: wrap;
  }
  table.servers thead,
  table.stack thead {
    display: none;
  }
  table.stack,
  table.stack tbody,
  table.stack tfoot {
    display: block;
  }
  table.servers tr,
  table.stack tr {
    display: grid;
    grid-template-columns: minmax(0, 1fr) minmax(0, 1fr);
    gap: 0.25rem 0.75rem;
    padding: 0.75rem 0;
    border-bottom: 1px solid #e4e7ee;
  }
  table.servers th,
  table.stack th,
  table.servers td,
  table.stack td {
    border: 0;
    padding: 0;
    overflow-wrap: anywhere;
  }
  table.stack td.empty {
    display: none;
  }
  table.stack td[colspan] {
    grid-column: 1 / -1;
  }
  .profiles-table td:nth-child(5) {
    min-width: 0;
    max-width: none;
  }
  table.servers td.row-actions,
  table.stack td.row-actions {
    grid-column: 1 / -1;
    width: auto;
    white-space: normal;
  }
  table.stack td.wide {
    grid-column: 1 / -1;
  }
  table.servers th[scope="row"],
  table.stack th[scope="row"] {
    grid-column: 1 / -1;
  }
  table.servers td[data-label]::before,
  table.stack td[data-label]::before {
    content: attr(data-label) ": ";
    color: var(--muted);
    font-size: 0.85rem;
  }
  .inline-field {
    flex-wrap: wrap;
  }
}
`;
