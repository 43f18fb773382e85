import { DECISIONS_PER_LINE, loggedDecision } from '@stampede/core/decision-log';
import type { Logger } from '@stampede/core/logger';
import type { DecidedPurchase } from '@stampede/core/purchases';

/**
 * Writes `fields` with the decisions of `decided` as one line, the record a reader
 * greps a purchase or request id for: one tuple per purchase (core/src/decision-log.ts),
 * where a line per purchase cost the drain about a tenth of the worker's CPU. Past
 * DECISIONS_PER_LINE the decisions go on further lines of the same event, numbered
 * `part` of `parts`; only the first carries `fields`, so sums over the lines stay right.
 */
export function logDecisions(
  log: Logger,
  fields: { event: string } & Record<string, unknown>,
  msg: string,
  decided: DecidedPurchase[],
): void {
  const decisions = decided.map(loggedDecision);
  if (decisions.length <= DECISIONS_PER_LINE) {
    log.info({ ...fields, decisions }, msg);
    return;
  }
  const parts = Math.ceil(decisions.length / DECISIONS_PER_LINE);
  for (let part = 1; part <= parts; part += 1) {
    const slice = decisions.slice((part - 1) * DECISIONS_PER_LINE, part * DECISIONS_PER_LINE);
    const head = part === 1 ? fields : { event: fields.event };
    log.info({ ...head, part, parts, decisions: slice }, msg);
  }
}
