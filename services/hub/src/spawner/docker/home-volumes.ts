/**
 * What happens to a deleted user's home volumes (default and named servers): archived or deleted.
 *
 * Docker cannot rename a volume, so an archive is a new volume, `<prefix>-archive-<user>[--<server>]-<UTC time>`,
 * labelled with what it holds, filled with an exact copy (owners, modes, times) through Docker's archive API:
 * the home volume is read as a tar from a helper container that mounts it read-only, and written into a second
 * helper that mounts the archive. Neither helper is ever started (no process, no network, no capability), like
 * the TLS helper; the tar streams through the hub without being held in memory. Only after the copy succeeded
 * is the home volume removed, so a failure loses nothing. Removing the home volume also frees the name: a new
 * user of the same name starts empty instead of inheriting the files.
 */
import { randomBytes } from 'node:crypto';
import type Dockerode from 'dockerode';
import { escapeName, parseVolumeName } from '../names.ts';
import type { StorageAction, StorageOutcome } from '../spawner.ts';
import type { DockerClient } from './client.ts';
import { errorMessage, isNotFound } from './errors.ts';
import { deploymentFilter, isOurs, LABEL_DEPLOYMENT, LABEL_MANAGED, LABEL_USER } from './labels.ts';

/** On archive volumes: the home volume they copy, whose it was, and when. */
export const LABEL_ARCHIVE_OF = 'org.berth.archive.of';
export const LABEL_ARCHIVE_USER = 'org.berth.archive.user';
export const LABEL_ARCHIVE_SERVER = 'org.berth.archive.server';
export const LABEL_ARCHIVED_AT = 'org.berth.archive.at';

const SOURCE = '/berth-archive/from';
const TARGET = '/berth-archive/to';

export interface HomeVolumeOptions {
  readonly prefix: string;
  readonly deploymentId: string;
  /** Any image present on the engine (the helpers never run); the spawner's image by default. */
  readonly helperImage: string | undefined;
  /** 'uid:gid' the helpers are created with (never root). */
  readonly user: string;
}

/** `20261123t151200z`: sortable, and in Docker's name alphabet. */
function stamp(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d+Z$/, 'z')
    .replace(/[-:]/g, '')
    .toLowerCase();
}

export function archiveVolumeName(prefix: string, user: string, serverName: string, at: Date): string {
  const who = serverName === '' ? escapeName(user) : `${escapeName(user)}--${escapeName(serverName)}`;
  return `${prefix}-archive-${who}-${stamp(at)}`;
}

/** The user's home volumes of this deployment (never archives, TLS volumes or another user's). */
async function homeVolumes(
  docker: DockerClient,
  o: HomeVolumeOptions,
  user: string,
): Promise<{ name: string; serverName: string }[]> {
  const res = await docker.listVolumes({
    filters: deploymentFilter(o.deploymentId, [`${LABEL_USER}=${user}`]),
  });
  const out: { name: string; serverName: string }[] = [];
  for (const v of res.Volumes ?? []) {
    const parsed = parseVolumeName(o.prefix, v.Name);
    if (parsed?.user === user && isOurs(v.Labels, o.deploymentId)) {
      out.push({ name: v.Name, serverName: parsed.serverName });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Archive or delete every home volume of `user`, or with `serverName` only that server's. Stops at the first
 * failure; what is done stays done.
 */
export async function disposeHomeVolumes(
  docker: DockerClient,
  o: HomeVolumeOptions,
  user: string,
  action: StorageAction,
  now: Date = new Date(),
  serverName?: string,
): Promise<StorageOutcome[]> {
  const out: StorageOutcome[] = [];
  const all = await homeVolumes(docker, o, user);
  for (const v of serverName === undefined ? all : all.filter((x) => x.serverName === serverName)) {
    if (action === 'delete') {
      await removeVolume(docker, v.name);
      out.push({ volume: v.name, action: 'deleted' });
      continue;
    }
    const archive = archiveVolumeName(o.prefix, user, v.serverName, now);
    await copyVolume(docker, o, v.name, archive, {
      [LABEL_MANAGED]: 'true',
      [LABEL_DEPLOYMENT]: o.deploymentId,
      [LABEL_ARCHIVE_OF]: v.name,
      [LABEL_ARCHIVE_USER]: user,
      [LABEL_ARCHIVE_SERVER]: v.serverName,
      [LABEL_ARCHIVED_AT]: now.toISOString(),
    });
    await removeVolume(docker, v.name);
    out.push({ volume: v.name, action: 'archived', archive });
  }
  return out;
}

async function removeVolume(docker: DockerClient, name: string): Promise<void> {
  try {
    await docker.getVolume(name).remove();
  } catch (err) {
    if (isNotFound(err)) return;
    throw new Error(`cannot remove volume ${name}: ${errorMessage(err)}`);
  }
}

/** An exact copy of `from` into a new volume `to`, through two never-started helpers. */
async function copyVolume(
  docker: DockerClient,
  o: HomeVolumeOptions,
  from: string,
  to: string,
  labels: Record<string, string>,
): Promise<void> {
  if (!o.helperImage) throw new Error('archiving needs a helper image (DockerSpawner option helperImage)');
  const imageId = (await docker.getImage(o.helperImage).inspect()).Id;
  await docker.createVolume({ Name: to, Labels: labels });
  const tag = randomBytes(4).toString('hex');
  const base = { deploymentId: o.deploymentId, imageId, user: o.user };
  const reader = await docker.createContainer(
    helper({
      ...base,
      name: `${o.prefix}-archive-read-${tag}`,
      volume: from,
      target: SOURCE,
      readOnly: true,
    }),
  );
  try {
    const writer = await docker.createContainer(
      helper({
        ...base,
        name: `${o.prefix}-archive-write-${tag}`,
        volume: to,
        target: TARGET,
        readOnly: false,
      }),
    );
    try {
      // `<dir>/.` gives the directory's contents as `./…`, so they land in the archive's root, owners intact.
      const tar = await reader.getArchive({ path: `${SOURCE}/.` });
      await writer.putArchive(tar, { path: TARGET });
    } finally {
      await writer.remove({ force: true }).catch(() => undefined);
    }
  } catch (err) {
    // Half an archive is worse than none: remove it; the home volume is untouched.
    await removeVolume(docker, to).catch(() => undefined);
    throw new Error(`cannot archive volume ${from}: ${errorMessage(err)}`);
  } finally {
    await reader.remove({ force: true }).catch(() => undefined);
  }
}

/** A helper that is created and never started: no network, no capability, read-only root, one volume. */
function helper(h: {
  name: string;
  imageId: string;
  user: string;
  deploymentId: string;
  volume: string;
  target: string;
  readOnly: boolean;
}): Dockerode.ContainerCreateOptions {
  return {
    name: h.name,
    Image: h.imageId,
    User: h.user,
    Labels: {
      [LABEL_MANAGED]: 'true',
      [LABEL_DEPLOYMENT]: h.deploymentId,
      'org.berth.role': 'archive-helper',
    },
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true'],
      Privileged: false,
      Binds: [],
      Mounts: [{ Type: 'volume', Source: h.volume, Target: h.target, ReadOnly: h.readOnly }],
      RestartPolicy: { Name: 'no' },
    },
  };
}
