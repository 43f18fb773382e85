import { cpus, loadavg, release, totalmem, type } from 'node:os';
import type { MachineInfo } from './bench-types.js';

/** What the figures were measured on. */
export function machineInfo(): MachineInfo {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${type()} ${release()}`,
    loadBefore: Math.round(loadavg()[0]! * 100) / 100,
  };
}
