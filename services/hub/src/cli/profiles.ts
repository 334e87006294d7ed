/**
 * `berth profiles list|add|retire`: the admin API's profile actions from the command line, against the
 * database (every change a new version, source `cli`). `add` reads one profile, or a file's `profiles:` list,
 * as JSON or YAML, and probes new images when the container engine can be reached.
 */
import { readFile } from 'node:fs/promises';
import Dockerode from 'dockerode';
import type { Kysely } from 'kysely';
import pino from 'pino';
import { parse as parseYaml } from 'yaml';
import type { Config } from '../config/schema.ts';
import { ProfilesRepo } from '../db/profiles-repo.ts';
import type { Database } from '../db/schema.ts';
import { HubError } from '../errors.ts';
import type { ImageInspector } from '../profiles/images.ts';
import { ProfileService } from '../profiles/service.ts';
import { DockerImages } from '../spawner/docker/docker-images.ts';

export const PROFILES_USAGE = `  profiles list [--all]                            list profiles (--all: with retired ones)
  profiles add <file|->                            add profiles from a JSON or YAML file (- reads stdin)
  profiles retire <name>                           retire a profile (a new version; never deleted)
`;

type Out = (line: string) => void;

async function engine(config: Config): Promise<ImageInspector | undefined> {
  const docker = new Dockerode();
  try {
    await docker.ping();
  } catch {
    return undefined;
  }
  return new DockerImages({
    docker,
    deploymentId: config.spawner.deploymentId,
    prefix: config.spawner.prefix,
  });
}

function service(config: Config, db: Kysely<Database>, images: ImageInspector | undefined): ProfileService {
  const s = config.spawner;
  return new ProfileService({
    repo: new ProfilesRepo(db),
    defaults: { cpu: s.nanoCpus / 1e9, memory: s.memoryBytes, pids: s.pids, defaultUrl: s.defaultUrl },
    ...(images ? { images } : {}),
    gpuInventorySize: config.profiles.gpuDevices.length,
    log: pino({ level: 'silent' }),
  });
}

const gib = (b: number) => `${+(b / 1024 ** 3).toFixed(2)}G`;

export async function runProfiles(
  o: { action: string | undefined; arg: string | undefined; all: boolean; readStdin: () => Promise<string> },
  config: Config,
  db: Kysely<Database>,
  out: Out,
): Promise<number> {
  const who = { source: 'cli' as const, author: process.env.USER ?? null };
  if (o.action === 'list') {
    const all = await service(config, db, undefined).list();
    const shown = all.filter((v) => o.all || !v.retired);
    const probes = await new ProfilesRepo(db).probes(shown.map((v) => v.spec.image));
    out('NAME\tVERSION\tIMAGE\tCPU\tMEMORY\tGPUS\tINTERNET\tGROUPS\tPROBE\tSTATE');
    for (const v of shown) {
      const p = probes.get(v.spec.image);
      const s = v.spec;
      out(
        [
          v.name,
          v.version,
          s.image,
          s.cpu,
          gib(s.memory),
          s.gpus,
          s.internet ? 'yes' : 'no',
          s.groups.join(',') || '(everyone)',
          p ? `${p.status}${p.jupyterhubVersion ? ` ${p.jupyterhubVersion}` : ''}` : '-',
          v.retired ? 'retired' : 'active',
        ].join('\t'),
      );
    }
    return 0;
  }
  if (o.action === 'add') {
    if (!o.arg) throw new HubError('BAD_REQUEST', 'profiles add needs a file (or - for stdin)');
    const text = o.arg === '-' ? await o.readStdin() : await readFile(o.arg, 'utf8');
    let doc: unknown;
    try {
      doc = parseYaml(text, { maxAliasCount: 0 });
    } catch (err) {
      throw new HubError('BAD_REQUEST', `not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
    }
    const list =
      doc && typeof doc === 'object' && 'profiles' in doc ? (doc as { profiles: unknown }).profiles : [doc];
    if (!Array.isArray(list)) throw new HubError('BAD_REQUEST', '`profiles` must be a list');
    const images = await engine(config);
    if (!images)
      out('warning: the container engine cannot be reached: images are neither checked nor probed');
    const svc = service(config, db, images);
    for (const raw of list) {
      const made = await svc.create(raw, who);
      out(`added ${made.name} version ${made.version} (${made.spec.image})`);
    }
    await svc.probesSettled();
    const probes = await new ProfilesRepo(db).probes(
      list.map((r) => String((r as { image?: unknown }).image)),
    );
    for (const p of probes.values()) {
      out(
        `probe ${p.image}: ${p.status}${p.jupyterhubVersion ? ` (jupyterhub ${p.jupyterhubVersion})` : ''} ${p.detail}`,
      );
    }
    return 0;
  }
  if (o.action === 'retire') {
    if (!o.arg) throw new HubError('BAD_REQUEST', 'profiles retire needs a profile name');
    const v = await service(config, db, undefined).retire(o.arg, who);
    out(`retired ${v.name} (version ${v.version}); running servers keep the version they started with`);
    return 0;
  }
  throw new HubError('BAD_REQUEST', `unknown profiles command: ${o.action ?? ''}\n${PROFILES_USAGE}`);
}
