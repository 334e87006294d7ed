/**
 * The pin check before every start: the image the engine holds under a profile's reference must be the one
 * the profile pinned. A local id must equal the image's id; a `repository@sha256:` digest must be among the
 * image's repo digests, for the same repository (Docker shortens `docker.io/library/x` to `x`).
 */
import { parseImagePin } from '../../profiles/spec.ts';

export type PinCheck = { readonly ok: true } | { readonly ok: false; readonly why: string };

/** `docker.io/library/debian` and `library/debian` are `debian` to Docker; other registries stay as they are. */
export function normalizeRepository(repo: string): string {
  let r = repo.replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '');
  if (r !== repo || !r.includes('/')) r = r.replace(/^library\//, '');
  return r;
}

export function checkPin(
  ref: string,
  image: { readonly Id: string; readonly RepoDigests?: readonly string[] | null },
): PinCheck {
  const pin = parseImagePin(ref);
  if (!pin) return { ok: false, why: `image ${ref} is not pinned by digest or id` };
  if (pin.kind === 'id') {
    return image.Id === pin.id
      ? { ok: true }
      : { ok: false, why: `image id ${image.Id} is not the pinned ${pin.id}` };
  }
  const want = `${normalizeRepository(pin.repository)}@${pin.digest}`;
  const have = (image.RepoDigests ?? []).map((d) => {
    const at = d.lastIndexOf('@');
    return at < 0 ? d : `${normalizeRepository(d.slice(0, at))}${d.slice(at)}`;
  });
  return have.includes(want)
    ? { ok: true }
    : {
        ok: false,
        why: `the engine's image for ${pin.repository} does not carry the pinned digest ${pin.digest}`,
      };
}
