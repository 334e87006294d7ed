import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseProfilesFile } from './seed-file.ts';

const EXAMPLE = fileURLToPath(new URL('../../../../config/profiles.example.yaml', import.meta.url));
const id = `sha256:${'a'.repeat(64)}`;

test('the documented example file is valid', async () => {
  const s = parseProfilesFile(await readFile(EXAMPLE, 'utf8'), 'example');
  assert.equal(s.defaultName, 'lab');
  assert.deepEqual(
    s.inputs.map((p) => [p.name, p.memory, p.gpus ?? 0]),
    [
      ['lab', 2 * 1024 ** 3, 0],
      ['gpu', 16 * 1024 ** 3, 1],
    ],
  );
});

test('JSON works as well, and the first profile is the default without `default`', () => {
  const s = parseProfilesFile(
    JSON.stringify({
      profiles: [
        { name: 'a', image: id },
        { name: 'b', image: id },
      ],
    }),
    'j',
  );
  assert.equal(s.defaultName, 'a');
});

test('bad files are refused naming the field', () => {
  const cases: [string, RegExp][] = [
    ['profiles: []', /profiles/],
    [`profiles:\n  - {name: a, image: "${id}"}\n  - {name: a, image: "${id}"}`, /listed twice/],
    [`default: nope\nprofiles:\n  - {name: a, image: "${id}"}`, /default: no profile named nope/],
    [`profiles:\n  - {name: a, image: "${id}", mounts: [/:/host]}`, /unknown field/],
    [`profiles:\n  - &x {name: a, image: "${id}"}\n  - *x`, /YAML/],
    ['{', /not valid YAML or JSON/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseProfilesFile(text, 'f'), { name: 'ConfigError', message }, text);
  }
});
