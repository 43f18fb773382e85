import type { ReconcileReport } from './reconcile.js';
import type { TierFigures } from './tier-figures.js';

/** Tiers listed in full up to this many; beyond, only the tiers with a non-zero figure. */
const TIER_ROWS = 12;

const pad = (s: string | number, n: number) => String(s).padEnd(n);
const show = (v: number | null | undefined) => (v === null || v === undefined ? '-' : String(v));

/** `VERDICT: PASS` or `VERDICT: FAIL (lost=3, …)`, the line scripts and chaos runs grep for. */
export function verdictLine(report: ReconcileReport): string {
  return report.verdict.pass ? 'VERDICT: PASS' : `VERDICT: FAIL (${report.verdict.failures.join(', ')})`;
}

/** The human report: figures that must be 0, figures reported for context, the tiers, the verdict. */
export function formatReport(report: ReconcileReport): string {
  const out: string[] = [];
  const scope = report.eventId ? `event ${report.eventId}` : 'all events';
  out.push(`Reconciliation of ${scope} (${report.tiers.length} tiers)`, '', 'must be 0');
  const figure = (name: keyof ReconcileReport & string, note = '') => {
    const why = report.notMeasured[name as keyof ReconcileReport['notMeasured']];
    const value = report[name] as number | null;
    out.push(`  ${pad(name, 14)}${value === null ? `not measured (${why ?? 'unknown'})` : `${value}${note}`}`);
  };
  figure('oversold');
  figure('soldMismatch');
  figure('lost', report.lost ? `  e.g. ${report.lostIds.slice(0, 3).join(' ')}` : '');
  const d = report.duplicates;
  figure(
    'duplicated',
    report.duplicated ? `  (same key ${d.sameKey}, same id ${d.sameId}, id not derived from key ${d.idMismatch})` : '',
  );
  figure('undersold');
  out.push('', 'reported');
  figure('deadLettered', report.deadLettered ? '  (must be 0 in a normal run: inspect the DLQ)' : '');
  out.push(`  ${pad('accepted', 14)}${report.accepted ?? 'not given'}`);
  out.push(`  ${pad('confirmed', 14)}${report.confirmed}  (of ${report.outcomesOf})`);
  const reasons = Object.entries(report.rejectedByReason)
    .map(([r, n]) => `${r}=${n}`)
    .join(' ');
  out.push(`  ${pad('rejected', 14)}${report.rejected}${reasons ? `  ${reasons}` : ''}`);
  figure('queued', report.drained === false ? '  (queue not drained)' : '');
  figure('gateOverOffer', report.gateOverOffer ? '  (gate offers more than is left; Postgres still refuses it)' : '');
  out.push(`  ${pad('waited', 14)}${(report.waitedMs / 1000).toFixed(1)} s`);
  out.push('', ...tierTable(report.tiers), '', verdictLine(report));
  return `${out.join('\n')}\n`;
}

function tierTable(tiers: TierFigures[]): string[] {
  const bad = (t: TierFigures) => t.oversold + t.soldMismatch + (t.undersold ?? 0) > 0;
  const rows = tiers.length <= TIER_ROWS ? tiers : tiers.filter(bad);
  if (rows.length === 0) return [`tiers: ${tiers.length}, none with a non-zero figure`];
  const head = ['tier', 'capacity', 'sold', 'confirmed', 'stock', 'held', 'oversold', 'mismatch', 'undersold', 'id'];
  const cells = rows.map((t) =>
    [
      t.name,
      t.capacity,
      t.sold,
      t.confirmed,
      show(t.stock),
      t.held,
      t.oversold,
      t.soldMismatch,
      show(t.undersold),
      t.tierId,
    ].map(String),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)) + 2);
  const line = (c: string[]) =>
    '  ' +
    c
      .map((v, i) => pad(v, widths[i]!))
      .join('')
      .trimEnd();
  return [tiers.length <= TIER_ROWS ? 'tiers' : 'tiers with a non-zero figure', line(head), ...cells.map(line)];
}
