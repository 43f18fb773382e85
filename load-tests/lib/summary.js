/**
 * The end-of-test summary, written by each script's handleSummary without remote imports:
 * the figures that matter pulled from k6's summary object (`data.metrics[name].values`,
 * `data.metrics[name].thresholds[expr].ok`, `data.state.testRunDurationMs`), a short text
 * for people and a JSON file for tools. Pure module, shared by k6 and Node.
 */

import { KINDS } from './statuses.js';

/** Purchase outcomes counted by the scripts, one Counter each (`purchases_<outcome>`). */
export const OUTCOME_COUNTERS = Object.freeze([
  'accepted',
  'replayed',
  'sold_out',
  'limit_exceeded',
  'conflict',
  'rate_limited',
  'unavailable',
  'invalid',
  'error',
]);

/** The Counter that counts one purchase outcome. */
export function outcomeMetric(outcome) {
  return `purchases_${outcome}`;
}

const UUID_SOURCE = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/** The log line of an accepted purchase (k6 cannot gather per-request data in handleSummary). */
export function acceptedLine(purchaseId, key) {
  return `ACCEPTED ${purchaseId} ${key}`;
}

/** The purchase ids of the ACCEPTED lines in k6's console output (any log format), each once. */
export function acceptedIdsFromLog(text) {
  const line = new RegExp(`ACCEPTED (${UUID_SOURCE})`, 'gi');
  const seen = new Set();
  for (let m = line.exec(text); m !== null; m = line.exec(text)) seen.add(m[1].toLowerCase());
  return [...seen];
}

function value(metrics, name, stat) {
  const metric = metrics[name];
  const v = metric?.values ? metric.values[stat] : undefined;
  return typeof v === 'number' ? v : undefined;
}

/** The figures of a run, from k6's summary data. Missing metrics read as absent or zero. */
export function figures(data) {
  const metrics = data?.metrics || {};
  const count = (name) => value(metrics, name, 'count') || 0;
  const latency = {};
  for (const kind of KINDS) {
    const name = `http_req_duration{kind:${kind}}`;
    if (!metrics[name]) continue;
    latency[kind] = {
      count: value(metrics, name, 'count'),
      med: value(metrics, name, 'med'),
      p95: value(metrics, name, 'p(95)'),
      p99: value(metrics, name, 'p(99)'),
      max: value(metrics, name, 'max'),
    };
  }
  const purchases = {};
  for (const outcome of OUTCOME_COUNTERS)
    if (metrics[outcomeMetric(outcome)]) purchases[outcome] = count(outcomeMetric(outcome));
  const thresholds = [];
  for (const name of Object.keys(metrics).sort()) {
    const own = metrics[name].thresholds || {};
    for (const expression of Object.keys(own))
      thresholds.push({ metric: name, expression, ok: own[expression].ok !== false });
  }
  const inventory = metrics.tickets_sold_final
    ? {
        soldAtStart: value(metrics, 'tickets_sold_start', 'value'),
        soldAtEnd: value(metrics, 'tickets_sold_final', 'value'),
        capacity: value(metrics, 'tickets_capacity', 'value'),
        remaining: value(metrics, 'tickets_remaining_final', 'value'),
        oversold: value(metrics, 'tickets_oversold', 'value'),
        mismatch: value(metrics, 'inventory_mismatch', 'value'),
        confirmedTickets: count('tickets_confirmed'),
        confirmed: count('purchases_confirmed'),
        rejected: count('purchases_rejected'),
        unresolved: count('purchases_unresolved'),
      }
    : undefined;
  return {
    durationMs: data?.state?.testRunDurationMs || 0,
    requests: count('http_reqs'),
    requestRate: value(metrics, 'http_reqs', 'rate') || 0,
    failedRate: value(metrics, 'http_req_failed', 'rate'),
    failed: value(metrics, 'http_req_failed', 'passes') || 0,
    checksRate: value(metrics, 'checks', 'rate'),
    checksPassed: value(metrics, 'checks', 'passes') || 0,
    checksFailed: value(metrics, 'checks', 'fails') || 0,
    iterations: count('iterations'),
    dropped: count('dropped_iterations'),
    latency,
    purchases: Object.keys(purchases).length ? { ...purchases, tickets: count('tickets_accepted') } : undefined,
    inventory,
    thresholds,
  };
}

/** Whether the run passed, and whether it is a valid measurement at all. */
export function verdict(fig, maxDropped) {
  const failedThresholds = fig.thresholds.filter((t) => !t.ok);
  return { thresholdsOk: failedThresholds.length === 0, failedThresholds, rateHeld: fig.dropped <= maxDropped };
}

const pct = (r) => (r === undefined ? 'n/a' : `${(r * 100).toFixed(2)}%`);
const ms = (v) => (v === undefined ? '-' : v.toFixed(1));
const pad = (s, n) => String(s).padStart(n);

function inventoryLines(inv) {
  const delta = inv.soldAtStart === undefined ? undefined : inv.soldAtEnd - inv.soldAtStart;
  const agrees = delta !== undefined && delta === inv.confirmedTickets;
  return [
    `inventory: sold ${inv.soldAtStart ?? '?'} -> ${inv.soldAtEnd} of ${inv.capacity ?? '?'}, remaining ${inv.remaining ?? '?'}, ` +
      `oversold ${inv.oversold ?? '?'}, capacity-remaining-sold mismatch ${inv.mismatch ?? '?'}`,
    `client view: ${inv.confirmed} purchases confirmed (${inv.confirmedTickets} tickets), ${inv.rejected} rejected, ${inv.unresolved} unresolved; ` +
      (agrees
        ? `API sold delta ${delta} agrees`
        : `API sold delta ${delta ?? '?'} DOES NOT MATCH (other traffic, or tickets lost/oversold)`),
  ];
}

/**
 * The readable summary.
 * @param {string} script e.g. `spike`
 * @param {object} data k6's summary data
 * @param {{runId?: string, maxDropped?: number, files?: string[]}} opts
 */
export function textSummary(script, data, opts = {}) {
  const fig = figures(data);
  const maxDropped = opts.maxDropped ?? 0;
  const v = verdict(fig, maxDropped);
  const lines = [
    `stampede k6 ${script}${opts.runId ? ` (run ${opts.runId})` : ''}`,
    `${(fig.durationMs / 1000).toFixed(1)} s, ${fig.requests} requests, ${fig.requestRate.toFixed(1)} req/s, ${fig.iterations} iterations`,
    v.thresholdsOk
      ? 'verdict: PASSED, every threshold met'
      : `verdict: FAILED, ${v.failedThresholds.length} threshold(s) not met`,
    v.rateHeld
      ? `load generator: held the rate (${fig.dropped} dropped iterations, ${maxDropped} allowed)`
      : `load generator: INVALID RUN, ${fig.dropped} iterations dropped (${maxDropped} allowed): k6 could not hold the asked ` +
        'arrival rate (too few VUs or a saturated load machine), so these figures do not describe that load',
    `checks: ${pct(fig.checksRate)} passed (${fig.checksPassed} ok, ${fig.checksFailed} failed)`,
    `unexpected statuses: ${pct(fig.failedRate)} of requests (${fig.failed})`,
  ];
  if (Object.keys(fig.latency).length) {
    lines.push(`latency ms   ${pad('count', 8)} ${pad('p50', 8)} ${pad('p95', 8)} ${pad('p99', 8)} ${pad('max', 8)}`);
    for (const [kind, l] of Object.entries(fig.latency)) {
      lines.push(
        `  ${kind.padEnd(10)} ${pad(l.count ?? '-', 8)} ${pad(ms(l.med), 8)} ${pad(ms(l.p95), 8)} ${pad(ms(l.p99), 8)} ${pad(ms(l.max), 8)}`,
      );
    }
  }
  if (fig.purchases) {
    const p = fig.purchases;
    lines.push(
      `purchases: ${p.accepted ?? 0} accepted (${p.tickets} tickets), ${p.sold_out ?? 0} sold out, ` +
        `${p.limit_exceeded ?? 0} over the buyer limit, ${p.rate_limited ?? 0} rate limited, ${p.unavailable ?? 0} broker unavailable, ` +
        `${(p.conflict ?? 0) + (p.invalid ?? 0) + (p.error ?? 0)} failed`,
    );
  }
  if (fig.inventory) lines.push(...inventoryLines(fig.inventory));
  if (fig.thresholds.length) {
    lines.push('thresholds:');
    for (const t of fig.thresholds) lines.push(`  ${t.ok ? 'ok  ' : 'FAIL'} ${t.metric} ${t.expression}`);
  }
  if (fig.purchases?.accepted) {
    lines.push(
      `accepted purchase ids: one "ACCEPTED <id> <key>" console line each; README.md shows how to collect them into ${script}-accepted.txt`,
    );
  }
  if (opts.files?.length) lines.push(`files: ${opts.files.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/**
 * What handleSummary returns: the text on stdout and in `<dir>/<script>-summary.txt`, and
 * `<dir>/<script>-summary.json` with the figures, the verdict and k6's own data.
 * @param {string} script
 * @param {object} data k6's summary data
 * @param {{resultsDir: string, runId?: string, maxDropped: number}} opts
 */
export function summaryFiles(script, data, opts) {
  const dir = opts.resultsDir || '.';
  const jsonPath = `${dir}/${script}-summary.json`;
  const textPath = `${dir}/${script}-summary.txt`;
  const fig = figures(data);
  const text = textSummary(script, data, { ...opts, files: [jsonPath, textPath] });
  const json = { script, runId: opts.runId || null, ...verdict(fig, opts.maxDropped), figures: fig, k6: data };
  return { stdout: text, [textPath]: text, [jsonPath]: `${JSON.stringify(json, null, 2)}\n` };
}
