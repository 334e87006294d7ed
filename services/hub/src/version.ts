import { readFileSync } from 'node:fs';

/** Berth's own version, from services/hub/package.json (next to src/ in the tree, next to dist/ in the image). */
export const BERTH_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
})();
