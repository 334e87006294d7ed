/**
 * `POST /hub/api/shutdown` asks the process to stop; the entry point (main.ts) decides how. Without a handler
 * (tests) the request is only recorded.
 */
export class ShutdownSwitch {
  readonly #handlers: ((reason: string) => void)[] = [];
  #requested: string | undefined;

  onRequest(handler: (reason: string) => void): void {
    this.#handlers.push(handler);
  }

  request(reason: string): void {
    if (this.#requested !== undefined) return;
    this.#requested = reason;
    for (const h of this.#handlers) h(reason);
  }

  get requested(): string | undefined {
    return this.#requested;
  }
}
