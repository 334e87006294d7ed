/**
 * Pulling a profile's image by its digest, when the engine does not hold it. Only `repository@sha256:<digest>`
 * references are ever pulled: the digest names the content, so what arrives is what the admin pinned (the pin is
 * checked again after the pull). Image ids (`sha256:<id>`) name a local image and cannot be pulled; tags never
 * reach the spawner. Progress is reported as bytes downloaded over the layers' total, throttled.
 */
import { parseImagePin } from '../../profiles/spec.ts';
import { SpawnError } from '../spawner.ts';
import { errorMessage } from './errors.ts';

/** The repository and digest of a `repository@sha256:<64 hex>` pin (profiles/spec.ts), the only form pulled. */
export function pullableRef(image: string): { repository: string; digest: string } | undefined {
  const pin = parseImagePin(image);
  return pin?.kind === 'digest' ? { repository: pin.repository, digest: pin.digest } : undefined;
}

/** What the spawner needs of Docker to pull (dockerode's createImage). */
export interface ImagePuller {
  createImage(options: {
    fromImage: string;
    tag: string;
    abortSignal?: AbortSignal;
  }): Promise<NodeJS.ReadableStream>;
}

interface PullEvent {
  readonly status?: string;
  readonly id?: string;
  readonly error?: string;
  readonly errorDetail?: { readonly message?: string };
  readonly progressDetail?: { readonly current?: number; readonly total?: number };
}

const MB = 1024 * 1024;
const fmtMb = (n: number) => (n / MB).toFixed(n < 10 * MB ? 1 : 0);

/** Totals over the layers seen so far: a layer's size is known once it starts downloading. */
export class PullProgress {
  readonly #layers = new Map<string, { current: number; total: number; done: boolean }>();

  see(e: PullEvent): void {
    if (!e.id) return;
    const layer = this.#layers.get(e.id) ?? { current: 0, total: 0, done: false };
    if (e.status === 'Downloading' && e.progressDetail) {
      layer.current = e.progressDetail.current ?? layer.current;
      layer.total = e.progressDetail.total ?? layer.total;
    } else if (
      e.status === 'Download complete' ||
      e.status === 'Pull complete' ||
      e.status === 'Already exists'
    ) {
      layer.done = true;
      layer.current = layer.total;
    }
    this.#layers.set(e.id, layer);
  }

  /** e.g. "Pulling the image: 12.5 of 40 MB (31%), 2 of 5 layers"; undefined before any size is known. */
  message(): string | undefined {
    let current = 0;
    let total = 0;
    let done = 0;
    for (const l of this.#layers.values()) {
      current += l.current;
      total += l.total;
      if (l.done) done++;
    }
    if (this.#layers.size === 0) return undefined;
    const pct = total > 0 ? Math.floor((current / total) * 100) : 0;
    const bytes = total > 0 ? `${fmtMb(current)} of ${fmtMb(total)} MB (${pct}%), ` : '';
    return `Pulling the image: ${bytes}${done} of ${this.#layers.size} layers`;
  }
}

/**
 * Pull `image` (a digest reference) within `timeoutMs`, reporting progress at most every `everyMs`. Rejects with
 * IMAGE_PULL_FAILED (the registry refused, the digest is unknown) or IMAGE_PULL_TIMEOUT, or ABORTED.
 */
export async function pullByDigest(
  docker: ImagePuller,
  image: string,
  o: { timeoutMs: number; signal?: AbortSignal; progress?: (message: string) => void; everyMs?: number },
): Promise<void> {
  const ref = pullableRef(image);
  if (!ref)
    throw new SpawnError('IMAGE_NOT_FOUND', `image ${image} is not on the engine and cannot be pulled`);
  const timeout = AbortSignal.timeout(o.timeoutMs);
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
  const seen = new PullProgress();
  const every = o.everyMs ?? 1000;
  let last = 0;
  o.progress?.(`Pulling the image ${ref.repository}@${ref.digest.slice(0, 19)}…`);
  try {
    const stream = await docker.createImage({
      fromImage: ref.repository,
      tag: ref.digest,
      abortSignal: signal,
    });
    let buffered = '';
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      if (signal.aborted) break;
      buffered += chunk.toString();
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf('\n');
        if (!line) continue;
        let e: PullEvent;
        try {
          e = JSON.parse(line) as PullEvent;
        } catch {
          continue;
        }
        if (e.error)
          throw new SpawnError('IMAGE_PULL_FAILED', `pulling ${image}: ${e.errorDetail?.message ?? e.error}`);
        seen.see(e);
        const now = Date.now();
        const msg = seen.message();
        if (msg && now - last >= every) {
          last = now;
          o.progress?.(msg);
        }
      }
    }
    if (signal.aborted) throw signal.reason;
  } catch (err) {
    if (err instanceof SpawnError) throw err;
    if (o.signal?.aborted)
      throw new SpawnError('ABORTED', 'the start was cancelled while the image was pulled');
    if (timeout.aborted) {
      throw new SpawnError(
        'IMAGE_PULL_TIMEOUT',
        `pulling ${image} took longer than ${Math.round(o.timeoutMs / 1000)} s`,
      );
    }
    throw new SpawnError('IMAGE_PULL_FAILED', `pulling ${image}: ${errorMessage(err)}`);
  }
  const done = seen.message();
  if (done) o.progress?.(done.replace(/^Pulling the image/, 'Pulled the image'));
}
