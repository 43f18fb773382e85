import { readdir, readFile } from 'node:fs/promises';

/** Linux's USER_HZ: /proc counts CPU time in 1/100 s on every common kernel. */
export const TICKS_PER_SECOND = 100;

interface ProcTicks {
  comm: string;
  pgrp: number;
  ticks: number;
}

/** CPU time of every process and of the whole machine at one moment (Linux /proc). */
export interface CpuSnapshot {
  at: number;
  procs: Map<number, ProcTicks>;
  /** Busy ticks of all cores (everything but idle and iowait). */
  busy: number;
  /** Ticks spent in hard and soft interrupts (loopback networking among them), charged to no process. */
  irq: number;
}

async function readProc(pid: number): Promise<ProcTicks | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat.slice(close + 2).split(' ');
    // After "pid (comm) ": state ppid pgrp … utime is the 12th field, stime the 13th.
    return { comm, pgrp: Number(f[2]), ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined; // gone between readdir and read
  }
}

/** Reads /proc; on a system without it, an empty snapshot (the breakdown is then left out). */
export async function cpuSnapshot(): Promise<CpuSnapshot> {
  const procs = new Map<number, ProcTicks>();
  let busy = 0;
  let irq = 0;
  try {
    const [cpu] = (await readFile('/proc/stat', 'utf8')).split('\n');
    const n = cpu!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user.
    busy = n.reduce((a, b) => a + b, 0) - (n[3] ?? 0) - (n[4] ?? 0) - (n[8] ?? 0) - (n[9] ?? 0);
    irq = (n[5] ?? 0) + (n[6] ?? 0);
    const pids = (await readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number);
    const read = await Promise.all(pids.map(readProc));
    pids.forEach((pid, i) => {
      if (read[i]) procs.set(pid, read[i]!);
    });
  } catch {
    // not Linux
  }
  return { at: performance.now(), procs, busy, irq };
}

/** Which group a process belongs to, or undefined for "the rest of the machine". */
export type Classifier = (pid: number, p: { comm: string; pgrp: number }) => string | undefined;

/**
 * CPU used between two snapshots, in cores (1.0 = one core busy the whole time), per
 * group, plus `irq` (interrupt time, charged to no process: loopback networking is much
 * of it under load), `machine` (all of it) and `other` (the rest: processes no group
 * claimed, such as other work on the machine, and kernel time outside interrupts).
 * `exited` adds ticks of processes that began and ended between the snapshots (wrk,
 * which reports its own), which neither snapshot can see.
 */
export function cpuBetween(
  before: CpuSnapshot,
  after: CpuSnapshot,
  classify: Classifier,
  exited: Record<string, number> = {},
): Record<string, number> {
  const seconds = (after.at - before.at) / 1000;
  if (seconds <= 0 || after.procs.size === 0) return {};
  const groups: Record<string, number> = { ...exited };
  let claimed = Object.values(exited).reduce((a, b) => a + b, 0);
  for (const [pid, p] of after.procs) {
    const group = classify(pid, p);
    if (!group) continue;
    const prev = before.procs.get(pid);
    const used = p.ticks - (prev && prev.comm === p.comm ? prev.ticks : 0);
    groups[group] = (groups[group] ?? 0) + used;
    claimed += used;
  }
  const cores = (ticks: number) => Math.round((ticks / TICKS_PER_SECOND / seconds) * 100) / 100;
  const out: Record<string, number> = {};
  for (const [g, t] of Object.entries(groups)) out[g] = cores(t);
  const irq = after.irq - before.irq;
  out.irq = cores(irq);
  out.machine = cores(after.busy - before.busy);
  out.other = Math.max(0, cores(after.busy - before.busy - claimed - irq));
  return out;
}

/** The services every lab shares, by process name. */
export function serviceOf(comm: string): string | undefined {
  if (comm === 'postgres' || comm.startsWith('postgres:')) return 'postgres';
  if (comm.startsWith('redis-server')) return 'redis';
  if (comm === 'beam.smp' || comm.startsWith('erl_') || comm === 'epmd' || comm.startsWith('inet_gethost'))
    return 'rabbitmq';
  return undefined;
}
