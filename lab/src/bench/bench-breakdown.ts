import type { BenchResults } from './bench-results.js';
import type { PathResult } from './bench-types.js';
import type { ProfileSummary } from './cpu-profile.js';

const GROUPS = ['nginx', 'api', 'worker', 'generator', 'postgres', 'redis', 'rabbitmq', 'irq', 'other'] as const;

/** CPU of the three replicas per answered request, in µs: the cost of one request in Node. */
export function apiMicrosPerRequest(p: PathResult): number | undefined {
  const api = p.breakdown?.cpu.api;
  return api && p.completed > 0 && p.durationS > 0 ? Math.round((api * 1e6) / (p.completed / p.durationS)) : undefined;
}

/** The markdown table of CPU per process group and the replicas' own time, per path. */
export function breakdownTable(r: BenchResults): string[] {
  const rows = r.paths.filter((p) => p.breakdown);
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
  for (const p of rows) {
    const cpu = p.breakdown!.cpu;
    const cells = [
      p.label,
      ...GROUPS.map((g) => (cpu[g] === undefined ? '–' : cpu[g]!.toFixed(2))),
      cpu.machine?.toFixed(2) ?? '–',
      String(apiMicrosPerRequest(p) ?? '–'),
      p.meanMs.toFixed(2),
      p.breakdown!.serverMeanMs?.toFixed(2) ?? '–',
      p.breakdown!.confirmMeanMs?.toFixed(2) ?? '–',
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines;
}

/**
 * Plain statements read off the figures, for the targets that were missed: which process
 * group had the cores, what one request costs in the replicas, how much of a purchase's
 * latency is the broker confirm. Numbers only, no guesses.
 */
export function whereTheTimeGoes(r: BenchResults): string[] {
  const path = (key: string) => r.paths.find((p) => p.key === key);
  const out: string[] = [];
  const ceiling = path('ceiling');
  if (ceiling?.breakdown) {
    const c = ceiling.breakdown.cpu;
    const busiest = Object.entries(c)
      .filter(([g]) => g !== 'machine')
      .sort((a, b) => b[1] - a[1])[0]?.[0];
    const busy = ((c.machine ?? 0) * 100) / r.machine.cores;
    out.push(
      `- **The ceiling**: at ${ceiling.rate} req/s on GET /health/live the machine was ${busy.toFixed(0)} % busy (${r.machine.cores} cores): the three replicas used ${c.api?.toFixed(2)} cores, nginx ${c.nginx?.toFixed(2)}, the load generator ${c.generator?.toFixed(2)}, other processes ${c.other?.toFixed(2)}${busiest === 'api' && busy >= 90 ? ': the replicas are the largest share of a saturated machine' : ''}. That is ${apiMicrosPerRequest(ceiling)} µs of replica CPU per request for a route that does nothing: the cost of the HTTP stack and the middleware every request passes (request context, metrics, secure headers), which every other path pays too.`,
    );
  }
  for (const key of ['reads', 'sold-out', 'admission']) {
    const p = path(key);
    if (!p?.breakdown || !ceiling) continue;
    const extra = (apiMicrosPerRequest(p) ?? 0) - (apiMicrosPerRequest(ceiling) ?? 0);
    const c = p.breakdown.cpu;
    out.push(
      `- **${p.label}**: ${(p.ratio ?? 0).toFixed(2)} of the ceiling; ${apiMicrosPerRequest(p)} µs of replica CPU per request (${extra >= 0 ? '+' : ''}${extra} µs over the ceiling's), Redis ${c.redis?.toFixed(2)} cores, RabbitMQ ${c.rabbitmq?.toFixed(2)}; mean ${p.meanMs.toFixed(2)} ms at the client, ${p.breakdown.serverMeanMs?.toFixed(2) ?? '?'} ms inside the replica${p.breakdown.confirmMeanMs !== undefined ? `, of which ${p.breakdown.confirmMeanMs.toFixed(2)} ms waiting for the broker's confirm` : ''}.`,
    );
  }
  const sync = path('spike-sync');
  if (sync?.breakdown) {
    out.push(
      `- **Sync baseline**: ${sync.rate} purchases/s with ${sync.breakdown.serverMeanMs?.toFixed(1) ?? '?'} ms mean inside the replica: by design every request holds a Postgres connection for a transaction that locks the one hot tier row, so requests wait for that lock and for the pools' connections (Postgres ${sync.breakdown.cpu.postgres?.toFixed(2)} cores, the machine ${sync.breakdown.cpu.machine?.toFixed(2)}).`,
    );
  }
  const d = r.drain.cpu;
  const b = r.drain.batches;
  out.push(
    `- **Drain**: ${r.drain.decided} purchases decided in ${r.drain.decideSeconds} s (${r.drain.rate}/s), one Postgres transaction per batch${b ? ` (the worker's metrics: ${b.count} batches of ${b.meanSize} purchases on average, ${b.meanMs} ms each to decide and commit, so ${Math.round((b.meanSize * 1000) / Math.max(0.1, b.meanMs))} purchases/s while a batch runs; outside that time the worker receives, batches and acks deliveries and settles the gate)` : ''}${d ? `; during the drain the worker used ${d.worker?.toFixed(2) ?? '?'} cores, Postgres ${d.postgres?.toFixed(2) ?? '?'}, RabbitMQ ${d.rabbitmq?.toFixed(2) ?? '?'}, the machine ${d.machine?.toFixed(2) ?? '?'} of ${r.machine.cores}` : ''}.`,
  );
  return out;
}

/** The CPU profile section: where one replica's busy time went under each profiled path. */
export function profileLines(r: BenchResults): string[] {
  const profiles = r.profiles ?? [];
  if (profiles.length === 0) return [];
  const cell = (x: string) => x.replace(/\|/g, '\\|');
  const packages = [...new Set(profiles.flatMap((p) => p.byPackage.slice(0, 10).map((x) => x.name)))];
  const share = (p: ProfileSummary, name: string) => p.byPackage.find((x) => x.name === name)?.percent;
  const lines = [
    `### CPU profiles of ${profiles[0]!.replica}`,
    '',
    `The V8 CPU profiler on ${profiles[0]!.replica}, under the same closed-model load as each path's measurement (started after the warm-up, stopped at the replica's exit). Shares of the replica's busy samples by self time; "idle" is the share of all samples the event loop was waiting (on Redis, the broker, the network). Native socket writes (\`writev\`, \`writeUtf8String\`) count the kernel's work of sending on loopback too, which runs inside the write call. The .cpuprofile files stay on the machine that ran the benchmark, beside the results (not committed; open them in Chrome DevTools or speedscope).`,
    '',
    `| package | ${profiles.map((p) => p.phase).join(' | ')} |`,
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
      `Top functions by self time, ${p.phase}: ${p.topFunctions
        .slice(0, 10)
        .map((f) => `\`${f.name}\` ${f.percent} %`)
        .join(', ')}.`,
    );
  }
  return lines;
}
