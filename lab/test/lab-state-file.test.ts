import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveLabOptions } from '../src/local-lab/lab-options.js';
import { createLabState, labPaths, updateLabState } from '../src/local-lab/lab-state.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe('the lab state file', () => {
  it('when a lab is created and its state changed, then lab.json (which keeps ADMIN_TOKEN) is readable by its owner only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stampede-state-'));
    dirs.push(dir);
    const options = resolveLabOptions({ dir, env: { ADMIN_TOKEN: 'secret-admin-token' } }, {});
    await createLabState({ version: 1, createdAt: new Date().toISOString(), options, desired: {} });
    expect(await modeOf(labPaths(dir).state)).toBe(0o600);

    await updateLabState(dir, (s) => {
      s.desired.worker = 'running';
    });
    expect(await modeOf(labPaths(dir).state)).toBe(0o600);
  });
});
