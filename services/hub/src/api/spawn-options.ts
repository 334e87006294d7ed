/**
 * The body of a spawn request (JupyterHub's user_options). Users pick a profile by name and nothing else:
 * any other option (image, cmd, env, mounts, resources, privileged, user, binds, network, …) is refused with
 * 400, never ignored, so a client cannot believe it chose something it did not.
 */
import { HubError } from '../errors.ts';
import { PROFILE_NAME_RE } from '../profiles/spec.ts';

export function spawnChoice(body: unknown): { profile?: string } {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new HubError('INVALID_BODY', 'server options must be a JSON object such as {"profile": "<name>"}');
  }
  const keys = Object.keys(body);
  const others = keys.filter((k) => k !== 'profile');
  if (others.length > 0) {
    const shown = others.slice(0, 5).map((k) => JSON.stringify(k.slice(0, 40)));
    throw new HubError(
      'INVALID_BODY',
      `server options other than "profile" are not accepted (got ${shown.join(', ')}): the image, command, environment, mounts and resources come from the profile`,
    );
  }
  if (keys.length === 0) return {};
  const profile = (body as { profile: unknown }).profile;
  if (typeof profile !== 'string' || !PROFILE_NAME_RE.test(profile)) {
    throw new HubError('INVALID_BODY', '"profile" must be the name of a profile');
  }
  return { profile };
}
