import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BERTH_CSS } from './styles.ts';

/** The declarations of the rule whose selector list is exactly `selector` (outside media queries first). */
function rule(selector: string): string {
  const at = BERTH_CSS.indexOf(`\n${selector} {\n`);
  assert.ok(at >= 0, `a rule for ${selector}`);
  const body = BERTH_CSS.slice(BERTH_CSS.indexOf('{', at) + 1, BERTH_CSS.indexOf('}', at));
  return body;
}

describe('berth.css: controls are visible and tables never widen the page', () => {
  it('a link-styled button (e.g. "remove" next to a group member) is not white on white', () => {
    const body = rule('button.link');
    assert.match(body, /background: none/);
    assert.match(body, /color: var\(--accent\)/, 'button.link sets its own text colour');
  });

  it('a table scrolls inside its wrapper, which holds its screen-reader-only (absolute) labels', () => {
    const body = rule('.table-wrap');
    assert.match(body, /overflow-x: auto/);
    assert.match(body, /position: relative/);
    assert.match(rule('fieldset'), /min-width: 0/, 'a fieldset does not force its min-content width');
  });

  it('on a phone a stacking table (tokens, admin) shows its rows as labelled cards no wider than the screen', () => {
    const phone = BERTH_CSS.slice(BERTH_CSS.indexOf('@media (max-width: 40rem)'));
    assert.match(phone, /table\.stack thead \{\n\s*display: none;/);
    assert.match(
      phone,
      /table\.stack tr \{\n\s*display: grid;\n\s*grid-template-columns: minmax\(0, 1fr\) minmax\(0, 1fr\);/,
    );
    assert.match(phone, /table\.stack td\[data-label\]::before \{\n\s*content: attr\(data-label\)/);
  });
});
