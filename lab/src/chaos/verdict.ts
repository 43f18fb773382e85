import { type PhaseStats, purchaseOk, readOk } from './load-loop.js';
import { type Check, PHASES, type Phase, type Scenario, type ScenarioResult } from './scenario-types.js';

/** Answers of one kind in one phase (or all phases) whose label passes `match`. */
export function tally(
  r: Pick<ScenarioResult, 'phases'>,
  kind: 'purchases' | 'reads',
  phase: Phase | 'all',
  match: (label: string) => boolean,
): number {
  const phases = phase === 'all' ? PHASES : [phase];
  let n = 0;
  for (const p of phases) {
    for (const [label, count] of Object.entries(r.phases[p]?.[kind] ?? {})) if (match(label)) n += count;
  }
  return n;
}

/** The q-quantile (0..1) of the read latencies of a phase, ms; null without reads. */
export function readLatency(r: Pick<ScenarioResult, 'phases'>, phase: Phase, q: number): number | null {
  const xs = [...(r.phases[phase]?.readLatenciesMs ?? [])].sort((a, b) => a - b);
  if (xs.length === 0) return null;
  return Math.round(xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]!);
}

export const is = (label: string) => (l: string) => l === label;
/** A check of a verdict: whether it held, and what it says either way. */
export const check = (ok: boolean, text: string): Check => ({ ok, text });

/** What must hold after every scenario: the reconciliation, no dead letters, no failed read, only the expected purchase errors. */
export function commonChecks(scenario: Scenario, r: Omit<ScenarioResult, 'checks' | 'pass'>): Check[] {
  const rep = r.report;
  const notUp = r.components.filter((c) => c.condition !== 'up');
  const figures = `oversold ${rep.oversold}, soldMismatch ${rep.soldMismatch}, lost ${rep.lost ?? '-'}, duplicated ${rep.duplicated}, undersold ${rep.undersold ?? 'not measured'}`;
  const checks = [
    check(
      rep.verdict.pass,
      rep.verdict.pass ? `invariants hold: ${figures}` : `invariants broken: ${rep.verdict.failures.join(', ')}`,
    ),
    check(
      rep.drained === true,
      rep.drained
        ? `queue drained and every accepted purchase final in ${(r.drainMs / 1000).toFixed(1)} s`
        : `not drained: queued ${rep.queued ?? '?'}, not final ${rep.lost ?? '?'}`,
    ),
    check(rep.deadLettered === 0, `nothing dead-lettered (deadLettered ${rep.deadLettered ?? 'not measured'})`),
    check(r.acceptedIds.length > 0, `purchases accepted: ${r.acceptedIds.length}`),
    check(
      notUp.length === 0,
      notUp.length === 0
        ? 'every component up after the run'
        : `components not up after the run: ${notUp.map((c) => `${c.name} ${c.label}`).join(', ')}`,
    ),
  ];
  const readFailures = r.failures.filter((f) => f.kind === 'read');
  const readsSent = tally(r, 'reads', 'all', () => true);
  checks.push(
    check(
      readFailures.length === 0 && readsSent > 0,
      readFailures.length === 0
        ? `no read failed (${readsSent} reads)`
        : `${tally(r, 'reads', 'all', (l) => !readOk(l))} reads failed: ${labels(readFailures.map((f) => f.label))}`,
    ),
  );

  const errors = r.failures.filter((f) => f.kind === 'purchase');
  const total = tally(r, 'purchases', 'all', (l) => !purchaseOk(l));
  const budget = scenario.errorBudget?.(r.facts);
  if (!budget) {
    checks.push(
      check(
        total === 0,
        total === 0
          ? 'no purchase error seen by clients'
          : `${total} purchase errors seen by clients: ${labels(errors.map((f) => f.label))}`,
      ),
    );
  } else {
    const outside = errors.filter((f) => !budget.phases.includes(f.phase as Phase) || !budget.labels.test(f.label));
    const within = total - outside.length;
    const ok = outside.length === 0 && within <= budget.max;
    const limit = Number.isFinite(budget.max) ? `at most ${budget.max}` : 'any number';
    checks.push(
      check(
        ok,
        `purchase errors: ${within} expected (${budget.why}; ${limit})${outside.length ? `, ${outside.length} unexpected: ${labels(outside.map((f) => f.label))}` : ', none unexpected'}`,
      ),
    );
  }
  return checks;
}

function labels(list: string[]): string {
  const counts = new Map<string, number>();
  for (const l of list) counts.set(l, (counts.get(l) ?? 0) + 1);
  return [...counts].map(([l, n]) => `${l} ×${n}`).join(', ');
}

const fmtTable = (t: Record<string, number>) =>
  Object.entries(t)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ') || '-';

function phaseLine(phase: Phase, s: PhaseStats | undefined, r: ScenarioResult): string {
  const q = r.maxQueued[phase];
  const p95 = readLatency(r, phase, 0.95);
  return `  ${phase.padEnd(9)} purchases ${fmtTable(s?.purchases ?? {})} | reads ${fmtTable(s?.reads ?? {})}${p95 !== null ? ` p95 ${p95} ms` : ''} | max queued ${q === undefined ? '-' : (q ?? '?')}`;
}

/** The verdict as printed at the end of a run: figures, per phase counts, checks, and the VERDICT line. */
export function formatVerdict(r: ScenarioResult): string {
  const rep = r.report;
  const ms = (n: number) => `${(n / 1000).toFixed(1)} s`;
  const purchaseErrors = tally(r, 'purchases', 'all', (l) => !purchaseOk(l));
  const byStatus: Record<string, number> = {};
  for (const kind of ['purchases', 'reads'] as const) {
    for (const p of PHASES)
      for (const [label, n] of Object.entries(r.phases[p]?.[kind] ?? {})) {
        if (kind === 'purchases' ? !purchaseOk(label) : !readOk(label))
          byStatus[label.split(' ')[0]!] = (byStatus[label.split(' ')[0]!] ?? 0) + n;
      }
  }
  const out = [
    '',
    `Scenario ${r.scenario}: ${r.how}`,
    `  event        ${r.eventId} (tiers ${r.tierIds.join(', ')})`,
    `  load         ${r.rates.purchasesPerSecond} purchases/s + ${r.rates.readsPerSecond} reads/s; sent ${r.sent.purchases} purchases, ${r.sent.reads} reads; dropped ${r.dropped}`,
    `  timeline     warmup ${ms(r.phaseMs.warmup)}, fault ${ms(r.phaseMs.fault)}, recovery ${ms(r.phaseMs.recovery)}, drain ${ms(r.drainMs)} (time to drain after the load stopped)`,
    `  queue        max ${Math.max(0, ...Object.values(r.maxQueued).map((q) => q ?? 0))} ready; back to 0 ${r.queueEmptyAfterRepairMs === null ? '(not seen)' : `${ms(r.queueEmptyAfterRepairMs)} after the repair`}`,
    `  accepted     ${r.acceptedIds.length} (202)`,
    `  decided      confirmed ${rep.confirmed}, rejected ${rep.rejected}${Object.keys(rep.rejectedByReason).length ? ` (${fmtTable(rep.rejectedByReason)})` : ''}`,
    `  refused      409 sold_out ${tally(r, 'purchases', 'all', is('409 sold_out'))} (answered by the gate, never queued)`,
    `  client errors ${fmtTable(byStatus)}  (purchases ${purchaseErrors}, reads ${tally(r, 'reads', 'all', (l) => !readOk(l))})`,
    ...(r.failedButDecided
      ? [
          `  errors decided anyway ${r.failedButDecided} (the broker kept a message whose confirm was lost with the connection; a retry with the same Idempotency-Key returns that purchase)`,
        ]
      : []),
    `  components   ${r.components.map((c) => `${c.name} ${c.label}`).join(', ')}`,
    `  reconcile    oversold ${rep.oversold}, soldMismatch ${rep.soldMismatch}, lost ${rep.lost ?? '-'}, duplicated ${rep.duplicated}, undersold ${rep.undersold ?? '-'}, deadLettered ${rep.deadLettered ?? '-'}, queued ${rep.queued ?? '-'}, gateOverOffer ${rep.gateOverOffer ?? '-'}`,
    '',
    'By phase (what clients saw)',
    ...PHASES.filter((p) => p !== 'drain').map((p) => phaseLine(p, r.phases[p], r)),
  ];
  if (r.notes.length) out.push('', 'Events', ...r.notes.map((n) => `  ${n}`));
  out.push('', 'Checks', ...r.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.text}`));
  for (const [name, lines] of Object.entries(r.logTails))
    out.push('', `Last ${lines.length} log lines of ${name}`, ...lines.map((l) => `  ${l}`));
  const failed = r.checks.filter((c) => !c.ok).length;
  out.push('', r.pass ? 'VERDICT: PASS' : `VERDICT: FAIL (${failed} check${failed === 1 ? '' : 's'} failed)`);
  return out.join('\n');
}
