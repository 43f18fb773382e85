import type { BenchResults } from './bench-results.js';

/** One row of the results table, for the terminal and the doc alike. */
export interface TableRow {
  path: string;
  rate: string;
  p50: string;
  p99: string;
  ratio: string;
  notes: string;
}

const num = (n: number) => n.toLocaleString('en-US');
const ms = (v: number) => v.toFixed(v < 10 ? 2 : 1);

function statusNote(statuses: Record<string, number>, expected: number[]): string {
  const other = Object.entries(statuses).filter(([s]) => !expected.includes(Number(s)));
  return other.length === 0 ? '' : other.map(([s, n]) => `${num(n)}× ${s}`).join(', ');
}

/** The table's rows: every path, then the drain. */
export function tableRows(r: BenchResults): TableRow[] {
  const rows: TableRow[] = r.paths.map((p) => ({
    path: p.label,
    rate: num(p.rate),
    p50: ms(p.p50Ms),
    p99: ms(p.p99Ms),
    ratio: p.ratio === undefined ? '1.00' : p.ratio.toFixed(2),
    notes: [
      p.note,
      p.notSent ? `${num(p.notSent)} arrivals not sent` : '',
      p.errors ? `${num(p.errors)} errors` : '',
      statusNote(p.statuses, p.expected),
    ]
      .filter(Boolean)
      .join('; '),
  }));
  const ceiling = r.paths.find((p) => p.key === 'ceiling')?.rate ?? 0;
  rows.splice(r.paths.findIndex((p) => p.key === 'admission') + 1, 0, {
    path: 'drain (worker, decided in Postgres)',
    rate: num(r.drain.rate),
    p50: '–',
    p99: '–',
    ratio: ceiling > 0 ? (r.drain.rate / ceiling).toFixed(2) : '–',
    notes: `${num(r.drain.decided)} purchases in ${r.drain.decideSeconds} s${r.drain.complete ? '' : ' (INCOMPLETE)'}`,
  });
  return rows;
}

/** The table as aligned text, with the comparison, the reconciliation and the targets. */
export function formatTable(r: BenchResults): string {
  const rows = tableRows(r);
  const head: TableRow = {
    path: 'path',
    rate: 'req/s',
    p50: 'p50 ms',
    p99: 'p99 ms',
    ratio: '× ceiling',
    notes: 'notes',
  };
  const w = (k: keyof TableRow) => Math.max(...[head, ...rows].map((x) => x[k].length));
  const fmt = (x: TableRow) =>
    `${x.path.padEnd(w('path'))}  ${x.rate.padStart(w('rate'))}  ${x.p50.padStart(w('p50'))}  ${x.p99.padStart(w('p99'))}  ${x.ratio.padStart(w('ratio'))}  ${x.notes}`;
  const lines = [fmt(head), '-'.repeat(fmt(head).length), ...rows.map(fmt), ''];
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
  for (const t of r.targets) lines.push(`  ${t.met ? 'met    ' : 'NOT MET'}  ${t.target}: ${t.measured}`);
  return lines.join('\n');
}
