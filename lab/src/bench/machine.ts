import { spawnSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { REPO_ROOT } from '../local-lab/lab-options.js';
import type { MachineInfo } from './bench-types.js';

/** The commit measured, marked when the working tree had changes; undefined outside git. */
function codeVersion(): string | undefined {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' });
  const head = git('rev-parse', '--short', 'HEAD');
  if (head.status !== 0) return undefined;
  const dirty = git('status', '--porcelain', '--untracked-files=no').stdout.trim() !== '';
  return `${head.stdout.trim()}${dirty ? ' with uncommitted changes' : ''}`;
}

/** What the figures were measured on. */
export function machineInfo(): MachineInfo {
  const cpu = cpus();
  const code = codeVersion();
  return {
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${type()} ${release()}`,
    loadBefore: Math.round(loadavg()[0]! * 100) / 100,
    ...(code ? { code } : {}),
  };
}
