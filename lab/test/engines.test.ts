import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(`${ROOT}${file}`, 'utf8');
const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;

interface LockedPackage {
  engines?: { node?: string } | string[];
}

// `engines` says which Node runs `npm ci && npm test` and the services: no wider than what
// every installed package supports, and it includes the Node of the images and of CI.
describe('the Node versions package.json allows', () => {
  it('when the suite runs, then this Node is one engines allows', () => {
    expect(semver.satisfies(process.version, engines), `${process.version} against ${engines}`).toBe(true);
  });

  it('when engines allows a Node version, then every package of the lockfile supports it too', () => {
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, LockedPackage> };
    const narrower = Object.entries(lock.packages).flatMap(([path, p]) => {
      const range = p.engines && !Array.isArray(p.engines) ? p.engines.node : undefined;
      return path && range && !semver.subset(engines, range) ? [`${path}: ${range}`] : [];
    });
    expect(narrower).toEqual([]);
  });

  it("when the images are built, then their Node is the LTS line engines allows, and engines starts at CI's oldest", () => {
    const bases = [...read('Dockerfile').matchAll(/^FROM node:(\d+)-alpine/gm)].map((m) => m[1]);
    expect(bases.length).toBeGreaterThan(0);
    expect(new Set(bases)).toEqual(new Set(['24']));
    expect(semver.satisfies('24.0.0', engines)).toBe(true);
    expect(semver.minVersion(engines)?.version).toBe('20.19.0');
  });
});
