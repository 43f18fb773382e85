import type { Colors } from './colors.js';
import { LEVELS } from './log-entry.js';
import type { Summary } from './summary.js';
import type { Percentiles } from './summary-http.js';
import { bar, sparkline } from './text-chart.js';

const ms = (v: number | undefined) => (v === undefined ? '-' : v < 10 ? `${v.toFixed(1)}ms` : `${Math.round(v)}ms`);
const pct = (share: number) => `${Math.round(share * 100)}%`;
const counts = (o: Record<string, number>) =>
  Object.entries(o)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ') || 'none';
const lat = (p: Percentiles) =>
  `${ms(p.p50).padStart(7)} ${ms(p.p95).padStart(7)} ${ms(p.p99).padStart(7)} ${ms(p.max).padStart(7)}`;
const clock = (iso?: string) => (iso ? iso.slice(11, 19) : '?');

function requests(s: Summary, c: Colors): string[] {
  const h = s.http;
  if (h.requests === 0) return [c.bold('Requests'), '  no nginx access lines in the window'];
  const b = h.balance;
  const lines = [
    `${c.bold('Requests per replica')} (nginx upstream; latency = upstream response time)   balance: ${b.verdict}${b.maxOverMin ? ` (max/min ${b.maxOverMin})` : ''}`,
    `  ${'replica'.padEnd(22)} ${'requests'.padStart(8)} ${'share'.padStart(5)}  ${'p50'.padStart(7)} ${'p95'.padStart(7)} ${'p99'.padStart(7)} ${'max'.padStart(7)}`,
  ];
  const top = Math.max(...h.replicas.map((r) => r.requests));
  for (const r of h.replicas) {
    const name = r.replica === r.address ? r.address : `${r.replica} ${r.address}`;
    const failed = r.failedAttempts > 0 ? c.paint(33, `  ${r.failedAttempts} failed attempts passed on`) : '';
    lines.push(
      `  ${name.padEnd(22)} ${String(r.requests).padStart(8)} ${pct(r.share).padStart(5)}  ${lat(r)}  ${bar(r.requests, top, 16)}${failed}`,
    );
  }
  if (h.withoutUpstream > 0)
    lines.push(
      `  ${'(nginx itself)'.padEnd(22)} ${String(h.withoutUpstream).padStart(8)}        rate limited, health checks, no replica reachable`,
    );
  lines.push(
    '',
    `${c.bold('Status mix')}  ${counts(h.statuses)}`,
    '',
    `${c.bold('Latency per route')} (nginx request time)`,
    `  ${'route'.padEnd(36)} ${'n'.padStart(7)}  ${'p50'.padStart(7)} ${'p95'.padStart(7)} ${'p99'.padStart(7)} ${'max'.padStart(7)}  statuses`,
  );
  for (const r of h.routes.slice(0, 12))
    lines.push(
      `  ${`${r.method} ${r.route}`.padEnd(36)} ${String(r.count).padStart(7)}  ${lat(r)}  ${counts(r.statuses)}`,
    );
  return lines;
}

function purchases(s: Summary, c: Colors): string[] {
  const p = s.purchases;
  const rejected = Object.keys(p.rejectedByReason).length > 0 ? ` (${counts(p.rejectedByReason)})` : '';
  const dead = p.deadLettered > 0 ? c.paint(31, `${p.deadLettered} (${counts(p.deadLetteredByReason)})`) : '0';
  const refused = s.http.routes.find((r) => r.method === 'POST' && r.route === '/events/:id/purchases');
  const notQueued = refused ? Object.fromEntries(Object.entries(refused.statuses).filter(([st]) => st !== '202')) : {};
  return [
    c.bold('Purchases'),
    `  accepted ${p.accepted} · confirmed ${p.confirmed} · rejected ${p.rejected}${rejected} · dead-lettered ${dead}`,
    `  not yet decided ${s.notYetDecided} (accepted − decided − dead-lettered in this window) · redeliveries answered from the row ${p.duplicates}`,
    ...(p.publishFailed + p.republished > 0
      ? [`  broker did not confirm (503) ${p.publishFailed} · republished after a retry ${p.republished}`]
      : []),
    ...(refused ? [`  answered without queueing (POST /events/:id/purchases): ${counts(notQueued)}`] : []),
    ...(p.decidedFrom === 'batch-totals'
      ? ['  (decisions counted from batch.committed totals: its lines name no purchases, so no reasons)']
      : []),
  ];
}

function overTime(s: Summary, c: Colors): string[] {
  const t = s.timeline;
  if (t.buckets.length < 2) return [];
  const row = (label: string, values: number[], unit: string) =>
    `  ${label.padEnd(30)} ${sparkline(values)}  max ${Math.round(Math.max(...values) * 10) / 10}${unit}`;
  const depth =
    t.depthFrom === 'worker'
      ? row(
          'queue depth (worker)',
          t.buckets.map((b) => b.queueDepth ?? 0),
          '',
        )
      : row(
          'backlog est. (accepted−decided)',
          t.buckets.map((b) => b.backlogEstimate),
          '',
        );
  return [
    `${c.bold('Over time')} ${clock(t.buckets[0]!.start)} → ${clock(s.window.to)}, one column per ${t.bucketSeconds} s`,
    depth,
    row(
      'drained (messages/s)',
      t.buckets.map((b) => b.drainPerSecond),
      '/s',
    ),
    row(
      'accepted (purchases/s)',
      t.buckets.map((b) => b.accepted / t.bucketSeconds),
      '/s',
    ),
    row(
      'requests (nginx/s)',
      t.buckets.map((b) => b.requestsPerSecond),
      '/s',
    ),
  ];
}

/** The compact terminal report of a summary. */
export function formatSummary(s: Summary, c: Colors): string {
  const skipped = Object.entries(s.lines.notJson)
    .map(([src, n]) => `${src} ${n}`)
    .join(', ');
  const out = [
    `${c.bold('Window')} ${s.window.from ?? '-'} → ${s.window.to ?? '-'} (${s.window.seconds} s) · ${s.lines.inWindow} lines` +
      `${s.lines.malformed > 0 ? c.paint(33, ` · ${s.lines.malformed} malformed (skipped)`) : ''}${skipped ? c.dim(` · not JSON: ${skipped}`) : ''}`,
    '',
    ...requests(s, c),
    '',
    `${c.bold('Cache')}  ${s.cache.hitRatio !== undefined ? `hit ratio ${pct(s.cache.hitRatio)} (${counts(s.cache.counts ?? {})})` : 'hit ratio unknown'} — ${s.cache.note}`,
    '',
    ...purchases(s, c),
  ];
  const chart = overTime(s, c);
  if (chart.length > 0) out.push('', ...chart);
  out.push('', c.bold('Warnings and errors'));
  if (s.errors.length === 0) out.push('  none');
  for (const e of s.errors.slice(0, 15))
    out.push(
      `  ${c.forLevel(LEVELS[e.level] ?? 40, e.level.padEnd(5))} ${String(e.count).padStart(6)}  ${e.key.padEnd(44)} ${c.dim(e.example.slice(0, 70))}`,
    );
  if (s.errors.length > 15) out.push(`  … ${s.errors.length - 15} more kinds (--json for all)`);
  return `${out.join('\n')}\n`;
}
