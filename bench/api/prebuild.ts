/**
 * The hub as production runs it: JavaScript, not TypeScript stripped at load (the hub image runs tsc's output;
 * loading .ts makes Node keep its TypeScript stripper, tens of MB, in memory). Writes services/hub/src and
 * berth-hub.ts as .js under bench/api/node_modules/.berth-build/, mirroring the repository so that imports and node_modules
 * resolve as before, and returns the entry point.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
// Under node_modules: ignored by git and Biome, and packages still resolve from the repository's node_modules.
const OUT = join(REPO, 'bench/api/node_modules/.berth-build');

function* tsFiles(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* tsFiles(p);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) yield p;
  }
}

function emit(file: string): void {
  const js = stripTypeScriptTypes(readFileSync(file, 'utf8'), { mode: 'strip' }).replace(
    /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]+)\.ts(['"])/g,
    '$1$2.js$3',
  );
  const target = join(OUT, relative(REPO, file)).replace(/\.ts$/, '.js');
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, js);
}

export function prebuild(): string {
  for (const f of tsFiles(join(REPO, 'services/hub/src'))) emit(f);
  emit(join(REPO, 'bench/api/berth-hub.ts'));
  writeFileSync(join(OUT, 'package.json'), '{"type":"module"}\n');
  return join(OUT, 'bench/api/berth-hub.js');
}
