import { readFile } from 'node:fs/promises';

/** A V8 .cpuprofile, as `node --cpu-prof` writes it (the fields used here). */
interface CpuProfileFile {
  nodes: { id: number; hitCount?: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  startTime: number;
  endTime: number;
}

export interface ProfileShare {
  name: string;
  /** Share of the samples, in percent. */
  percent: number;
}

/** What one replica spent its CPU on during a load phase. */
export interface ProfileSummary {
  replica: string;
  phase: string;
  /** The path's key and which stack ran it, when taken by the benchmark. */
  key?: string;
  stack?: 'stampede' | 'reference';
  /** Where the .cpuprofile was kept. */
  file?: string;
  seconds: number;
  /** Samples off-CPU: the event loop waiting (on Redis, the broker, the network). */
  idlePercent: number;
  /** By package (hono, pino, ioredis, …), Node's own code, our code, GC. */
  byPackage: ProfileShare[];
  /** The functions with the most self time. */
  topFunctions: ProfileShare[];
}

/** The package a frame's script belongs to: node_modules/<pkg>, Node itself, or ours. */
export function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native: C++ bindings, e.g. socket and file writes)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:internal/deps/')) return `node's bundled ${url.split('/')[2]}`;
  if (url.startsWith('node:internal/')) return `node:internal/${url.split('/')[1]}`;
  if (url.startsWith('node:')) return url;
  if (/\/lab\/(?:dist|src)\/bench\/reference\//.test(url)) return 'the reference (ours)';
  const ours = /\/(api|core|worker)\/(?:dist|src)\//.exec(url);
  if (ours) return `stampede ${ours[1]} (ours)`;
  return url;
}

const pct = (n: number, total: number) => Math.round((n / Math.max(1, total)) * 1000) / 10;

function top(map: Map<string, number>, total: number, n: number): ProfileShare[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, v]) => ({ name, percent: pct(v, total) }));
}

/**
 * Self time of a profile, grouped by package and by function. Shares of the busy samples
 * (idle excluded), so they say where the replica's CPU went.
 */
export function summarizeProfile(profile: CpuProfileFile, replica: string, phase: string): ProfileSummary {
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let idle = 0;
  let all = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    all += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += hits;
      continue;
    }
    const pkg = packageOf(url, functionName);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + hits);
    const where = url
      ? ` ${url.replace(/^.*node_modules\//, '').replace(/^.*\/(api|core|worker|lab)\//, '$1/')}:${lineNumber + 1}`
      : '';
    const fn = `${functionName || '(anonymous)'}${where}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + hits);
  }
  const busy = all - idle;
  return {
    replica,
    phase,
    seconds: Math.round((profile.endTime - profile.startTime) / 1e4) / 100,
    idlePercent: pct(idle, all),
    byPackage: top(byPackage, busy, 12),
    topFunctions: top(byFunction, busy, 15),
  };
}

export async function readProfileSummary(file: string, replica: string, phase: string): Promise<ProfileSummary> {
  return summarizeProfile(JSON.parse(await readFile(file, 'utf8')) as CpuProfileFile, replica, phase);
}
