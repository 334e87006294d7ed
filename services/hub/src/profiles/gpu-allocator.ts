/**
 * Hands out GPUs from a configured inventory (BERTH_GPU_DEVICES): distinct devices per running server, as many
 * as its profile asks for. The allocator is memory only; the devices a server holds are stored on its record,
 * and `hold` rebuilds the picture from running servers after a hub restart. Synchronous, so a check and its
 * allocation cannot interleave with another spawn.
 */
export type GpuOutcome =
  | { readonly ok: true; readonly devices: readonly string[] }
  | { readonly ok: false; readonly message: string };

export class GpuAllocator {
  readonly #inventory: readonly string[];
  /** device → holder key (`<user id>/<server name>`). */
  readonly #held = new Map<string, string>();

  constructor(inventory: readonly string[]) {
    if (new Set(inventory).size !== inventory.length)
      throw new TypeError('GPU inventory lists a device twice');
    this.#inventory = [...inventory];
  }

  get size(): number {
    return this.#inventory.length;
  }

  /** Devices nobody holds, in inventory order. */
  free(): string[] {
    return this.#inventory.filter((d) => !this.#held.has(d));
  }

  heldBy(key: string): string[] {
    return this.#inventory.filter((d) => this.#held.get(d) === key);
  }

  /** `count` devices for `key`. A holder that already has devices gets them back (a retried start). */
  allocate(key: string, count: number): GpuOutcome {
    if (count === 0) return { ok: true, devices: [] };
    const mine = this.heldBy(key);
    if (mine.length === count) return { ok: true, devices: mine };
    this.release(key);
    const free = this.free();
    if (this.#inventory.length < count) {
      return {
        ok: false,
        message: `this profile needs ${count} GPUs and the hub has ${this.#inventory.length}`,
      };
    }
    if (free.length < count) {
      return {
        ok: false,
        message: `no GPU is free: this profile needs ${count}, ${free.length} of ${this.#inventory.length} are free; try again when a GPU server stops`,
      };
    }
    const devices = free.slice(0, count);
    for (const d of devices) this.#held.set(d, key);
    return { ok: true, devices };
  }

  /** Record devices a running server holds (rebuild after a restart). Unknown devices are ignored. */
  hold(key: string, devices: readonly string[]): { held: string[]; conflicts: string[] } {
    const held: string[] = [];
    const conflicts: string[] = [];
    for (const d of devices) {
      if (!this.#inventory.includes(d)) continue;
      const owner = this.#held.get(d);
      if (owner !== undefined && owner !== key) conflicts.push(d);
      else {
        this.#held.set(d, key);
        held.push(d);
      }
    }
    return { held, conflicts };
  }

  release(key: string): void {
    for (const [d, k] of this.#held) if (k === key) this.#held.delete(d);
  }
}
