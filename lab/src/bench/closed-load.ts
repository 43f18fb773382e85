import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadResult } from './bench-types.js';
import { type LoadRequest, requestPath } from './load-request.js';
import { TICKS_PER_SECOND } from './proc-cpu.js';
import { parseWrkOutput, wrkScript } from './wrk-script.js';

/** Receives the purchase ids of a phase's accepted answers (202/201), and how many had none. */
export type OnAccepted = (ids: string[], unreadable: number) => void;

export interface ClosedLoadSpec {
  /** http://host:port of nginx. */
  base: string;
  connections: number;
  /** wrk threads (each an event loop of its own). */
  threads: number;
  /** Whole seconds (wrk takes no fractions); at least 1. */
  durationS: number;
  request: LoadRequest;
  expected: number[];
  /** The purchase ids of the accepted answers (202/201), when the caller keeps them. */
  onAccepted?: OnAccepted;
}

/** wrk's closed-model result, with the generator's own CPU. */
export interface ClosedLoadResult extends LoadResult {
  /** wrk's CPU, in 1/100 s (user + system, every thread), for the phase's breakdown. */
  generatorTicks?: number;
}

const WRK_INSTALL = 'wrk is not installed: `apt-get install wrk` (Debian/Ubuntu) or `brew install wrk` (macOS)';

/** Fails early, with how to install it, when wrk is not on PATH. */
export function assertWrkInstalled(): void {
  if (spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error) throw new Error(WRK_INSTALL);
}

/** wrk as it names itself ("wrk debian/4.1.0-3+b2"): its first line, up to the event loop it uses. */
export function wrkVersion(): string {
  const out = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  return `${out.stdout ?? ''}`.split('\n')[0]!.split('[')[0]!.trim() || 'wrk';
}

/**
 * A closed-model run with wrk: `connections` keep-alive connections, each sending its next
 * request as soon as the previous one is answered, so the rate is what the system does at
 * that concurrency. wrk is a native generator (C, one event loop per thread), so it is not
 * the process that saturates; the script (wrk-script.ts) makes each purchase unique, counts
 * every status and reports wrk's own CPU beside the figures.
 */
export async function runClosedLoad(spec: ClosedLoadSpec): Promise<ClosedLoadResult> {
  const dir = await mkdtemp(join(tmpdir(), 'stampede-wrk-'));
  try {
    const idsFile = spec.onAccepted ? join(dir, 'ids.txt') : undefined;
    const script = join(dir, 'phase.lua');
    await writeFile(script, wrkScript(spec.request, idsFile ? { idsFile } : {}));
    const durationS = Math.max(1, Math.round(spec.durationS));
    const connections = Math.max(spec.connections, spec.threads);
    const args = [
      `--threads=${spec.threads}`,
      `--connections=${connections}`,
      `--duration=${durationS}s`,
      '--timeout=10s',
      `--script=${script}`,
      `${spec.base}${requestPath(spec.request)}`,
    ];
    const out = parseWrkOutput(await run('wrk', args));
    if (idsFile && spec.onAccepted) {
      const ids = (await readFile(idsFile, 'utf8')).split('\n').filter(Boolean);
      spec.onAccepted(ids, out.unreadable);
    }
    const seconds = out.durationUs / 1e6;
    const ok = spec.expected.reduce((sum, s) => sum + (out.statuses[String(s)] ?? 0), 0);
    const ms = (us: number) => Math.round(us / 10) / 100;
    return {
      model: 'closed',
      connections,
      durationS: Math.round(seconds * 100) / 100,
      expected: spec.expected,
      completed: out.requests,
      ok,
      rate: Math.round(ok / seconds),
      statuses: out.statuses,
      errors: out.errors.connect + out.errors.read + out.errors.write + out.errors.timeout,
      count: out.requests,
      meanMs: ms(out.latencyUs.mean),
      p50Ms: ms(out.latencyUs.p50),
      p90Ms: ms(out.latencyUs.p90),
      p99Ms: ms(out.latencyUs.p99),
      maxMs: ms(out.latencyUs.max),
      ...(out.cpuTicks >= 0
        ? {
            generatorTicks: out.cpuTicks,
            generatorCpu: Math.round((out.cpuTicks / TICKS_PER_SECOND / seconds) * 100) / 100,
          }
        : {}),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs a command to its end; its stdout, or an error with its stderr. */
function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new Error(WRK_INSTALL) : err));
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} exited with code ${code}: ${stderr.trim() || stdout.slice(-2_000)}`));
    });
  });
}
