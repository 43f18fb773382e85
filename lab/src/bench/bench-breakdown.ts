import type { BenchResults, DrainRounds } from './bench-results.js';
import type { RoundResult } from './bench-types.js';
import type { ProfileSummary } from './cpu-profile.js';

const GROUPS = ['nginx', 'api', 'worker', 'generator', 'postgres', 'redis', 'rabbitmq', 'irq', 'other'] as const;

/** CPU of the three replicas per answered request, in µs: the cost of one request in Node. */
export function apiMicrosPerRequest(p: RoundResult): number | undefined {
  const api = p.breakdown?.cpu.api;
  return api && p.completed > 0 && p.durationS > 0 ? Math.round((api * 1e6) / (p.completed / p.durationS)) : undefined;
}

/** The markdown table of CPU per process group and the replicas' own time, per path, each reference under its path. */
export function breakdownTable(r: BenchResults): string[] {
  const head = [
    'path',
    ...GROUPS.map((g) => (g === 'api' ? 'api ×3' : g === 'irq' ? 'kernel irq' : g)),
    'machine',
    'api µs CPU / req',
    'client mean ms',
    'in replica ms',
    'broker confirm ms',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  const row = (label: string, p: RoundResult) => {
    const cpu = p.breakdown!.cpu;
    const cells = [
      label,
      ...GROUPS.map((g) => (cpu[g] === undefined ? '–' : cpu[g]!.toFixed(2))),
      cpu.machine?.toFixed(2) ?? '–',
      String(apiMicrosPerRequest(p) ?? '–'),
      p.meanMs.toFixed(2),
      p.breakdown!.serverMeanMs?.toFixed(2) ?? '–',
      p.breakdown!.confirmMeanMs?.toFixed(2) ?? '–',
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  };
  for (const p of r.paths.filter((x) => x.breakdown)) {
    row(p.label, p);
    const ref = r.reference.find((x) => x.key === p.key);
    if (ref?.breakdown) row(`↳ reference`, ref);
  }
  return lines;
}

const signed = (n: number) => `${n >= 0 ? '+' : ''}${n}`;

/**
 * Plain statements read off the figures, per compared path: the rates, what one request
 * costs in the replicas of each stack, what the generator and the machine used, how much
 * of a purchase's latency is the broker confirm. Numbers only, no guesses.
 */
export function whereTheTimeGoes(r: BenchResults): string[] {
  const out: string[] = [];
  const cores = r.machine.cores;
  for (const p of r.paths.filter((x) => x.ratio !== undefined)) {
    const ref = r.reference.find((x) => x.key === p.key);
    if (!ref?.breakdown || !p.breakdown) continue;
    const s = apiMicrosPerRequest(p);
    const m = apiMicrosPerRequest(ref);
    const c = p.breakdown.cpu;
    const busy = (x: RoundResult) => Math.round(((x.breakdown?.cpu.machine ?? 0) * 100) / cores);
    out.push(
      `- **${p.label}**: ${p.rate}/s against the reference's ${ref.rate}/s, ${(p.ratio ?? 0).toFixed(2)} of it. One request costs ${s ?? '?'} µs of replica CPU in Stampede and ${m ?? '?'} µs in the reference (${s !== undefined && m !== undefined ? `${signed(s - m)} µs` : '?'}); the replicas used ${c.api?.toFixed(2) ?? '?'} cores against ${ref.breakdown.cpu.api?.toFixed(2) ?? '?'}, nginx ${c.nginx?.toFixed(2) ?? '?'} against ${ref.breakdown.cpu.nginx?.toFixed(2) ?? '?'}, wrk ${c.generator?.toFixed(2) ?? '?'} against ${ref.breakdown.cpu.generator?.toFixed(2) ?? '?'}, Redis ${c.redis?.toFixed(2) ?? '?'} against ${ref.breakdown.cpu.redis?.toFixed(2) ?? '?'}, RabbitMQ ${c.rabbitmq?.toFixed(2) ?? '?'} against ${ref.breakdown.cpu.rabbitmq?.toFixed(2) ?? '?'}; the machine was ${busy(p)} % busy against ${busy(ref)} %. Mean ${p.meanMs.toFixed(2)} ms at the client (reference ${ref.meanMs.toFixed(2)} ms)${p.breakdown.serverMeanMs !== undefined ? `, ${p.breakdown.serverMeanMs.toFixed(2)} ms inside Stampede's replica` : ''}${p.breakdown.confirmMeanMs !== undefined ? `, of which ${p.breakdown.confirmMeanMs.toFixed(2)} ms waiting for the broker's confirm` : ''}.`,
    );
  }
  const sync = r.paths.find((p) => p.key === 'spike-sync');
  if (sync?.breakdown) {
    out.push(
      `- **Sync baseline**: ${sync.rate} purchases/s with ${sync.breakdown.serverMeanMs?.toFixed(1) ?? '?'} ms mean inside the replica: by design every request holds a Postgres connection for a transaction that locks the one hot tier row, so requests wait for that lock and for the pools' connections (Postgres ${sync.breakdown.cpu.postgres?.toFixed(2)} cores, the machine ${sync.breakdown.cpu.machine?.toFixed(2)}).`,
    );
  }
  const d = r.drain;
  const rd = r.referenceDrain;
  const b = d.batches;
  const perPurchase = drainCpuPerPurchase(d, rd, cores);
  out.push(
    `- **Drain**: ${d.rate}/s against the reference drain's ${rd.rate}/s (median of ${d.rounds?.length ?? 1} rounds each), ${(d.ratio ?? 0).toFixed(2)} of it. The worker decides a batch in one Postgres transaction (locks, existing keys, buyer limits, the insert and the tier update), the reference inserts it with one statement${b ? `; the worker's metrics: ${b.count} batches of ${b.meanSize} purchases on average, ${b.meanMs} ms each to decide and commit` : ''}${d.cpu ? `; while draining the worker used ${d.cpu.worker?.toFixed(2) ?? '?'} cores (reference drain ${rd.cpu?.worker?.toFixed(2) ?? '?'}), Postgres ${d.cpu.postgres?.toFixed(2) ?? '?'} (${rd.cpu?.postgres?.toFixed(2) ?? '?'}), RabbitMQ ${d.cpu.rabbitmq?.toFixed(2) ?? '?'} (${rd.cpu?.rabbitmq?.toFixed(2) ?? '?'}), the machine ${d.cpu.machine?.toFixed(2) ?? '?'} (${rd.cpu?.machine?.toFixed(2) ?? '?'}) of ${cores}` : ''}.${perPurchase ? ` ${perPurchase}` : ''}`,
  );
  return out;
}

const DRAIN_GROUPS = [
  ['worker', 'worker'],
  ['postgres', 'Postgres'],
  ['rabbitmq', 'RabbitMQ'],
  ['redis', 'Redis'],
] as const;

/**
 * The drain's CPU per purchase decided, by process group, Stampede against the reference,
 * and what that budget allows on the machine's cores: the bound a drain meets once the
 * machine is full, whatever the locks allow.
 */
function drainCpuPerPurchase(d: DrainRounds, rd: DrainRounds, cores: number): string | undefined {
  const micros = (x: DrainRounds, group: string) =>
    x.cpu?.[group] !== undefined && x.decided > 0 ? (x.cpu[group]! * x.decideSeconds * 1e6) / x.decided : undefined;
  if (!d.cpu || !rd.cpu) return undefined;
  const total = (x: DrainRounds) => DRAIN_GROUPS.reduce((sum, [g]) => sum + (micros(x, g) ?? 0), 0);
  const us = (v: number | undefined) => (v === undefined ? '?' : `${Math.round(v)}`);
  const parts = DRAIN_GROUPS.map(([g, label]) => `${label} ${us(micros(d, g))} µs (reference ${us(micros(rd, g))})`);
  const ceiling = (x: DrainRounds) => Math.round((cores * 1e6) / Math.max(1, total(x)));
  return `CPU per purchase decided: ${parts.join(', ')}; ${us(total(d))} µs in all against ${us(total(rd))}, so ${cores} cores given to nothing else could decide at most ${ceiling(d)}/s (the reference ${ceiling(rd)}/s).`;
}

const cell = (x: string) => x.replace(/\|/g, '\\|');

/** The CPU profile section: where one replica of each stack spent its busy time under each compared path. */
export function profileLines(r: BenchResults): string[] {
  const profiles = r.profiles ?? [];
  if (profiles.length === 0) return [];
  const column = (p: ProfileSummary) => `${p.phase}, ${p.stack === 'reference' ? 'reference' : 'Stampede'}`;
  const packages = [...new Set(profiles.flatMap((p) => p.byPackage.slice(0, 8).map((x) => x.name)))];
  const share = (p: ProfileSummary, name: string) => p.byPackage.find((x) => x.name === name)?.percent;
  const lines = [
    '### CPU profiles: Stampede against the reference',
    '',
    `The V8 CPU profiler on one replica of each stack (${[...new Set(profiles.map((p) => p.replica))].join(', ')}), under the same closed-model load as each path's measurement (started after the warm-up, stopped at the replica's exit). Shares of the replica's busy samples by self time; "idle" is the share of all samples the event loop was waiting (on Redis, the broker, the network). Native socket writes (\`writev\`, \`writeUtf8String\`) count the kernel's work of sending on loopback too, which runs inside the write call. The .cpuprofile files stay on the machine that ran the benchmark, beside the results (not committed; open them in Chrome DevTools or speedscope).`,
    '',
    `| package | ${profiles.map(column).join(' | ')} |`,
    `|---|${profiles.map(() => '---:').join('|')}|`,
    `| *idle (of all samples)* | ${profiles.map((p) => `${p.idlePercent} %`).join(' | ')} |`,
    ...packages.map(
      (name) =>
        `| ${cell(name)} | ${profiles.map((p) => (share(p, name) === undefined ? '–' : `${share(p, name)} %`)).join(' | ')} |`,
    ),
  ];
  for (const p of profiles) {
    lines.push(
      '',
      `Top functions by self time, ${column(p)}: ${p.topFunctions
        .slice(0, 10)
        .map((f) => `\`${f.name}\` ${f.percent} %`)
        .join(', ')}.`,
    );
  }
  return lines;
}
