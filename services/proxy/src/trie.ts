/**
 * A trie over path segments with longest-prefix lookup (CHP's `URLTrie`). A lookup walks one node per segment of
 * the request path, so its cost does not depend on how many routes there are. Children live in a `Map`, so no
 * segment (`__proto__`, `constructor`) can reach an object prototype.
 */
import { pathSegments } from './paths.ts';

interface Node<T> {
  readonly children: Map<string, Node<T>>;
  value: T | undefined;
}

const SLASH = 0x2f;

function node<T>(): Node<T> {
  return { children: new Map(), value: undefined };
}

export class RouteTrie<T> {
  readonly #root: Node<T> = node();

  /** Store `value` at `path` (e.g. `/user/alice`), replacing any value there. */
  set(path: string, value: T): void {
    let current = this.#root;
    for (const segment of pathSegments(path)) {
      let child = current.children.get(segment);
      if (child === undefined) {
        child = node();
        current.children.set(segment, child);
      }
      current = child;
    }
    current.value = value;
  }

  /** Remove the value at exactly `path`, pruning branches left empty. Returns whether there was one. */
  delete(path: string): boolean {
    const segments = pathSegments(path);
    const trail: Node<T>[] = [this.#root];
    for (const segment of segments) {
      const child = trail[trail.length - 1]?.children.get(segment);
      if (child === undefined) return false;
      trail.push(child);
    }
    const target = trail[trail.length - 1];
    if (target === undefined || target.value === undefined) return false;
    target.value = undefined;
    for (let depth = segments.length; depth > 0; depth--) {
      const current = trail[depth];
      const parent = trail[depth - 1];
      const segment = segments[depth - 1];
      if (current === undefined || parent === undefined || segment === undefined) break;
      if (current.value !== undefined || current.children.size > 0) break;
      parent.children.delete(segment);
    }
    return true;
  }

  /** The value stored at the longest prefix of `path`, on whole segments: `/user/al` never matches `/user/alice`. */
  match(path: string): T | undefined {
    // pathSegments(path), walked in place: this runs on every request, so no array of segments is built.
    let start = 0;
    let end = path.length;
    while (start < end && path.charCodeAt(start) === SLASH) start++;
    while (end > start && path.charCodeAt(end - 1) === SLASH) end--;
    let current = this.#root;
    let best = current.value;
    while (start < end) {
      let slash = path.indexOf('/', start);
      if (slash === -1 || slash > end) slash = end;
      const child = current.children.get(path.slice(start, slash));
      if (child === undefined) break;
      current = child;
      if (current.value !== undefined) best = current.value;
      start = slash + 1;
    }
    return best;
  }
}
