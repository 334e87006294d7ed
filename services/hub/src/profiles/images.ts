/**
 * What profiles need to know about images, apart from spawning: whether the engine holds an image, and whether
 * that image really runs a compatible `jupyterhub-singleuser`. The Docker implementation is
 * spawner/docker/docker-images.ts; hubs without one (tests with fake spawners) skip both checks.
 */
export interface ImageInfo {
  /** The local image id, `sha256:…`. */
  readonly id: string;
  /** `repository@sha256:…` references the engine knows the image by (empty for locally built images). */
  readonly repoDigests: readonly string[];
}

export type ProbeOutcome =
  | {
      readonly status: 'compatible' | 'incompatible';
      /** The jupyterhub version the image reports; absent when it reports none. */
      readonly version?: string;
      readonly imageId: string;
      readonly detail: string;
    }
  | { readonly status: 'failed'; readonly detail: string; readonly imageId?: string };

export interface ImageInspector {
  /** The image the engine holds under `ref`; undefined when it holds none. Rejects when it cannot be asked. */
  inspect(ref: string): Promise<ImageInfo | undefined>;
  /** Run the image once, hardened and offline, and report the jupyterhub version it carries. Never rejects. */
  probe(image: string): Promise<ProbeOutcome>;
}

/** The oldest JupyterHub whose single-user protocol Berth speaks (PROTOCOL.md). */
export const MIN_JUPYTERHUB_MAJOR = 4;

/** A `jupyterhub-singleuser --version` output's version, and whether Berth can drive it. */
export function judgeVersion(output: string): { version: string; compatible: boolean } | undefined {
  const lines = output.trim().split('\n').reverse();
  for (const line of lines) {
    const m = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:[.+-]?[A-Za-z0-9.+-]*)?$/.exec(line.trim());
    if (m)
      return { version: line.trim().replace(/^v/, ''), compatible: Number(m[1]) >= MIN_JUPYTERHUB_MAJOR };
  }
  return undefined;
}
