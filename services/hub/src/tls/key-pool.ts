/**
 * RSA keys generated ahead of need, so a server's start does not wait for one: generating a 2048-bit key takes
 * 20 to 100 ms of a libuv thread (prime search, so the time varies), on the critical path of every spawn with
 * internal TLS. Each key is handed out once and never kept after that; the pool refills in the background.
 */
import { generateRsaKey, type RsaKeyPem } from './ca.ts';

export class KeyPool {
  readonly #ready: Promise<RsaKeyPem>[] = [];
  readonly #size: number;
  readonly #bits: number;

  /** `size` keys are kept ready (started at once); `bits` is the RSA modulus length. */
  constructor(size = 2, bits = 2048) {
    this.#size = size;
    this.#bits = bits;
    this.#refill();
  }

  /** A fresh key, never handed out before: a ready one if there is, else one generated now. */
  take(): Promise<RsaKeyPem> {
    const next = this.#ready.shift();
    this.#refill();
    return next ?? generateRsaKey(this.#bits);
  }

  #refill(): void {
    while (this.#ready.length < this.#size) {
      const key = generateRsaKey(this.#bits);
      // A failed generation is not kept: it is dropped from the pool and the taker generates its own.
      key.catch(() => {
        const at = this.#ready.indexOf(key);
        if (at !== -1) this.#ready.splice(at, 1);
      });
      this.#ready.push(key);
    }
  }
}
