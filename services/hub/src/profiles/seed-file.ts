/**
 * Where seeded profiles come from: BERTH_PROFILES_FILE (JSON or YAML, config/profiles.example.yaml), or, with
 * no file, one profile named `default` made from BERTH_SINGLEUSER_IMAGE and the global limits, so a setup
 * from before profiles keeps working.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../config/load.ts';
import type { ImageInspector } from './images.ts';
import { describeIssues, type ProfileInput, parseImagePin, profileInputSchema } from './spec.ts';

/** A bad profiles file stops the hub at start, naming the file and the field (a ConfigError). */
export class ProfilesFileError extends ConfigError {}

const fileSchema = z
  .strictObject({
    /** The profile a spawn without a choice gets; the first one when unset. */
    default: z.string().optional(),
    profiles: z.array(profileInputSchema).min(1),
  })
  .superRefine((f, ctx) => {
    const names = f.profiles.map((p) => p.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) ctx.addIssue({ code: 'custom', path: ['profiles'], message: `profile ${dup} is listed twice` });
    if (f.default !== undefined && !names.includes(f.default)) {
      ctx.addIssue({ code: 'custom', path: ['default'], message: `no profile named ${f.default}` });
    }
  });

export interface SeedSource {
  readonly inputs: ProfileInput[];
  readonly defaultName: string;
}

/** Parses a profiles file's text (YAML is a superset of JSON, so one parser reads both). */
export function parseProfilesFile(text: string, what: string): SeedSource {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 0 });
  } catch (err) {
    throw new ProfilesFileError(`${what}: not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) throw new ProfilesFileError(`${what}: ${describeIssues(parsed.error)}`);
  const inputs = parsed.data.profiles;
  return { inputs, defaultName: parsed.data.default ?? (inputs[0] as ProfileInput).name };
}

export async function readProfilesFile(path: string): Promise<SeedSource> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ProfilesFileError(
      `BERTH_PROFILES_FILE: cannot read ${path}: ${(err as NodeJS.ErrnoException).code}`,
    );
  }
  return parseProfilesFile(text, `BERTH_PROFILES_FILE ${path}`);
}

/**
 * The single `default` profile of a setup without a profiles file. A tag in BERTH_SINGLEUSER_IMAGE is pinned
 * to the image id the engine holds at hub start (so a re-tag takes effect at the next start, never during a
 * spawn); undefined when the engine does not hold it, and the database keeps what it had.
 */
export async function legacyDefault(
  image: string,
  images: ImageInspector | undefined,
): Promise<{ source: SeedSource } | { missing: string }> {
  let pin = image;
  if (!parseImagePin(image)) {
    if (!images) {
      throw new ProfilesFileError(
        `BERTH_SINGLEUSER_IMAGE: ${image} is a tag and no container engine can pin it; use repository@sha256:… or sha256:…`,
      );
    }
    const info = await images.inspect(image);
    if (!info) return { missing: `BERTH_SINGLEUSER_IMAGE: ${image} is not on the container engine` };
    pin = info.id;
  }
  return {
    source: {
      inputs: [
        {
          name: 'default',
          display_name: 'Default',
          image: pin,
          description: `From BERTH_SINGLEUSER_IMAGE (${image})`,
        },
      ],
      defaultName: 'default',
    },
  };
}
