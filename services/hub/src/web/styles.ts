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
`;
