import type { BenchResults } from './bench-results.js';
import type { PathResult } from './bench-types.js';

/** One row of the results table, for the terminal and the doc alike. */
export interface TableRow {
  path: string;
  rate: string;
  reference: string;
  ratio: string;
  p50: string;
  p99: string;
  referenceP99: string;
  generator: string;
  notes: string;
}

const num = (n: number) => n.toLocaleString('en-US');
const ms = (v: number) => v.toFixed(v < 10 ? 2 : 1);
const cores = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(2));

function statusNote(statuses: Record<string, number>, expected: number[]): string {
  const other = Object.entries(statuses).filter(([s]) => !expected.includes(Number(s)));
  return other.length === 0 ? '' : other.map(([s, n]) => `${num(n)}× ${s}`).join(', ');
}

const ratioCell = (ratio: number | undefined, ratios: number[] | undefined) =>
  ratio === undefined ? '–' : `${ratio.toFixed(2)} (${(ratios ?? []).map((x) => x.toFixed(2)).join(', ')})`;

/** The table's rows: every path (with its reference when it has one), the drains after admission. */
export function tableRows(r: BenchResults): TableRow[] {
  const refOf = (p: PathResult) => r.reference.find((x) => x.key === p.key);
  const rows: TableRow[] = r.paths.map((p) => {
    const ref = refOf(p);
    return {
      path: p.label,
      rate: num(p.rate),
      reference: ref ? num(ref.rate) : '–',
      ratio: ratioCell(p.ratio, p.ratios),
      p50: ms(p.p50Ms),
      p99: ms(p.p99Ms),
      referenceP99: ref ? ms(ref.p99Ms) : '–',
      generator: ref ? `${cores(p.generatorCpu)} / ${cores(ref.generatorCpu)}` : cores(p.generatorCpu),
      notes: [
        p.note,
        p.notSent ? `${num(p.notSent)} arrivals not sent` : '',
        p.errors ? `${num(p.errors)} errors` : '',
        statusNote(p.statuses, p.expected),
        ref && statusNote(ref.statuses, ref.expected) ? `reference: ${statusNote(ref.statuses, ref.expected)}` : '',
      ]
        .filter(Boolean)
        .join('; '),
    };
  });
  const d = r.drain;
  const rd = r.referenceDrain;
  rows.splice(r.paths.findIndex((p) => p.key === 'admission') + 1, 0, {
    path: 'drain (decided in Postgres)',
    rate: num(d.rate),
    reference: num(rd.rate),
    ratio: ratioCell(d.ratio, d.ratios),
    p50: '–',
    p99: '–',
    referenceP99: '–',
    generator: '–',
    notes: `${num(d.decided)} purchases in ${d.decideSeconds} s, reference ${num(rd.decided)} in ${rd.decideSeconds} s${d.complete && rd.complete ? '' : ' (INCOMPLETE)'}`,
  });
  return rows;
}

export const TABLE_HEAD: TableRow = {
  path: 'path',
  rate: 'Stampede req/s',
  reference: 'reference req/s',
  ratio: 'Stampede ÷ reference (rounds)',
  p50: 'p50 ms',
  p99: 'p99 ms',
  referenceP99: 'reference p99 ms',
  generator: 'generator cores',
  notes: 'notes',
};

/** The table as aligned text, with the comparison, the reconciliation and the targets. */
export function formatTable(r: BenchResults): string {
  const rows = tableRows(r);
  const keys = Object.keys(TABLE_HEAD) as (keyof TableRow)[];
  const w = (k: keyof TableRow) => Math.max(...[TABLE_HEAD, ...rows].map((x) => x[k].length));
  const fmt = (x: TableRow) =>
    keys.map((k) => (k === 'path' || k === 'notes' ? x[k].padEnd(w(k)) : x[k].padStart(w(k)))).join('  ');
  const lines = [fmt(TABLE_HEAD), '-'.repeat(fmt(TABLE_HEAD).length), ...rows.map(fmt), ''];
  for (const c of r.comparisons) {
    lines.push(
      `queued vs sync (${c.model} model): ${c.throughputRatio}× the accepted throughput, ${c.p99Ratio}× lower p99`,
    );
  }
  const failed = r.reconciliation.filter((x) => !x.pass);
  lines.push(
    `reconciliation: ${failed.length === 0 ? 'PASS' : 'FAIL'} (${r.reconciliation.map((x) => `${x.phase}: ${x.accepted} accepted, lost ${x.lost ?? 'n/a'}, oversold ${x.oversold}, duplicated ${x.duplicated}`).join('; ')})`,
    '',
  );
  lines.push('targets:');
  for (const t of r.targets)
    lines.push(`  ${t.met ? 'met    ' : 'NOT MET'}  issue ${t.issue}: ${t.target}: ${t.measured}`);
  return lines.join('\n');
}
