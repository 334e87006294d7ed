import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Auth state (OIDC refresh and id tokens) encrypted at rest with AES-256-GCM. The key file holds one or more
 * keys, 64 hex characters each, one per line: the first encrypts, all decrypt. To rotate, put a new key on
 * the first line and restart; states are re-encrypted with it at each user's next login; drop the old line
 * once every user has logged in again (or accept that their stored state is discarded).
 */
export class StateSealer {
  readonly #keys: { id: string; key: Buffer }[];

  constructor(keyFileText: string) {
    this.#keys = keyFileText
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((hex) => {
        if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error('each key must be 64 hex characters (32 bytes)');
        const key = Buffer.from(hex, 'hex');
        return { id: createHash('sha256').update(key).digest('hex').slice(0, 8), key };
      });
    if (this.#keys.length === 0) throw new Error('no key in the file');
  }

  seal(state: Readonly<Record<string, unknown>>): string {
    const k = this.#keys[0] as { id: string; key: Buffer };
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', k.key, iv);
    c.setAAD(Buffer.from(k.id));
    const body = Buffer.concat([c.update(JSON.stringify(state), 'utf8'), c.final(), c.getAuthTag()]);
    return `v1.${k.id}.${iv.toString('base64url')}.${body.toString('base64url')}`;
  }

  /** Undefined when the key is gone or the text was tampered with. */
  open(sealed: string): Record<string, unknown> | undefined {
    const [v, id, iv, body] = sealed.split('.');
    const k = this.#keys.find((x) => x.id === id);
    if (v !== 'v1' || !k || !iv || !body) return undefined;
    try {
      const raw = Buffer.from(body, 'base64url');
      const d = createDecipheriv('aes-256-gcm', k.key, Buffer.from(iv, 'base64url'));
      d.setAAD(Buffer.from(k.id));
      d.setAuthTag(raw.subarray(raw.length - 16));
      const text = Buffer.concat([d.update(raw.subarray(0, raw.length - 16)), d.final()]).toString('utf8');
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
}
