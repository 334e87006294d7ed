/** Which profile a spawn without a choice gets: ProfileService over an in-memory set of newest versions. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { ProfilesRepo, ProfileVersion } from '../db/profiles-repo.ts';
import { ProfileService } from './service.ts';
import { completeSpec } from './spec.ts';

const defaults = { cpu: 1, memory: 1024 ** 3, pids: 256, defaultUrl: '/lab' };

function version(name: string, groups: string[] = [], retired = false): ProfileVersion {
  const spec = completeSpec({ name, image: `sha256:${'a'.repeat(64)}`, groups }, defaults);
  return { name, version: 1, spec, retired, source: 'config', author: null, created: new Date(0) };
}

/** The repository's reads, over a fixed list of newest versions (no writes happen in these tests). */
function service(versions: ProfileVersion[], defaultName?: string): ProfileService {
  const repo = {
    latestAll: async () => versions,
    latest: async (name: string) => versions.find((v) => v.name === name),
  } as unknown as ProfilesRepo;
  const s = new ProfileService({ repo, defaults, gpuInventorySize: 0, log: pino({ level: 'silent' }) });
  s.setDefaultName(defaultName);
  return s;
}

const alice = { name: 'alice', groups: ['physics'] };

describe('the profile of a spawn without a choice', () => {
  it('is the default when the user may use it', async () => {
    const s = service([version('lab'), version('gpu', ['physics'])], 'lab');
    assert.equal((await s.forSpawn(alice, undefined)).name, 'lab');
  });

  it('is the only usable one when the default is not theirs', async () => {
    const s = service([version('lab', ['staff']), version('phys', ['physics'])], 'lab');
    assert.equal((await s.forSpawn(alice, undefined)).name, 'phys');
  });

  it('must be chosen when several others are usable (400 listing them)', async () => {
    const s = service([version('lab', ['staff']), version('a'), version('b')], 'lab');
    await assert.rejects(s.forSpawn(alice, undefined), {
      code: 'UNKNOWN_PROFILE',
      message: /choose a profile: a, b/,
    });
  });

  it('is refused (403) when none is theirs, 409 when all are retired, and 503 when none is defined at all', async () => {
    await assert.rejects(service([version('lab', ['staff'])], 'lab').forSpawn(alice, undefined), {
      code: 'PROFILE_FORBIDDEN',
    });
    // The fuzz run retired every profile through the API and met a 503 here: an admin's doing is no outage.
    await assert.rejects(service([version('lab', [], true)], 'lab').forSpawn(alice, undefined), {
      code: 'CONFLICT',
      message: /every profile is retired/,
    });
    await assert.rejects(service([]).forSpawn(alice, undefined), { code: 'UNAVAILABLE' });
  });
});
