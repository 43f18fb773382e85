import { decisionsOfLine, readLoggedDecision } from '@stampede/core/decision-log';
import { field, type LogEntry, purchaseOf } from './log-entry.js';

/** What the reader asked to see; every field is optional and all given ones must hold. */
export interface FilterOptions {
  /** `api` (api-1..3), `api-2`, `worker`, `nginx`: a component, an instance or a source. */
  components?: string[];
  /** Lines at this pino level or above (see LEVELS). */
  minLevel?: number;
  requestIds?: string[];
  /** Also shows the lines of the requests that carried these purchases (nginx's access line). */
  purchaseIds?: string[];
  /** Epoch ms window, inclusive. */
  since?: number;
  until?: number;
}

/** A filter that may learn while lines go by (the request ids behind a purchase id). */
export interface LineFilter {
  /** Looks at a line before matching starts (or as it arrives) to learn request ids. */
  learn(entry: LogEntry): void;
  matches(entry: LogEntry): boolean;
  /**
   * The entry as shown or counted once it matched: a line carrying many purchases'
   * decisions (the worker's `batch.committed`) keeps only those of the ids asked for,
   * in its JSON and its raw text alike (`--json` prints that line, not 500 others).
   */
  focus(entry: LogEntry): LogEntry;
  /** True when `learn` needs a pass over the lines before `matches` is exact. */
  readonly needsLearning: boolean;
}

function componentMatches(wanted: string[], e: LogEntry): boolean {
  return wanted.some((w) => w === e.component || w === e.name || w === e.source || e.source.startsWith(`${w}-`));
}

/**
 * Builds the filter. Request and purchase ids are one selection (a line matching either
 * is shown): a purchase's lines carry its id, and the request that accepted it is found
 * by the request id on those lines, so nginx's access line of that POST shows too.
 */
export function createFilter(o: FilterOptions): LineFilter {
  const purchases = new Set(o.purchaseIds ?? []);
  const requests = new Set(o.requestIds ?? []);
  const byId = purchases.size > 0 || requests.size > 0;
  const components = o.components?.filter((c) => c.length > 0) ?? [];
  const wanted = (purchase: string | undefined, request: string | undefined) =>
    (purchase !== undefined && purchases.has(purchase)) || (request !== undefined && requests.has(request));
  return {
    needsLearning: purchases.size > 0,
    learn(e) {
      if (purchases.size === 0 || !e.json) return;
      const purchase = purchaseOf(e);
      const request = field(e, 'requestId');
      if (purchase && request && purchases.has(purchase)) requests.add(request);
      for (const d of decisionsOfLine(e.json))
        if (d.requestId && purchases.has(d.purchaseId)) requests.add(d.requestId);
    },
    matches(e) {
      if (o.since !== undefined && e.time < o.since) return false;
      if (o.until !== undefined && e.time > o.until) return false;
      if (components.length > 0 && !componentMatches(components, e)) return false;
      if (o.minLevel !== undefined && e.level < o.minLevel) return false;
      if (!byId) return true;
      if (!e.json) return false;
      if (wanted(purchaseOf(e), field(e, 'requestId'))) return true;
      return decisionsOfLine(e.json).some((d) => wanted(d.purchaseId, d.requestId));
    },
    focus(e) {
      if (!byId || !e.json || !Array.isArray(e.json.decisions)) return e;
      const kept = e.json.decisions.filter((v) => {
        const d = readLoggedDecision(v);
        return d !== undefined && wanted(d.purchaseId, d.requestId);
      });
      if (kept.length === e.json.decisions.length) return e;
      const json = { ...e.json, decisions: kept };
      return { ...e, json, raw: JSON.stringify(json) };
    },
  };
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `5m`, `2h`, `1d` → ms; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  return m ? Number(m[1]) * UNITS[m[2]!]! : undefined;
}

/** `--since 5m` (before now) or an ISO time → epoch ms; throws a readable error otherwise. */
export function parseTimeArg(text: string, now = Date.now()): number {
  const d = parseDuration(text);
  if (d !== undefined) return now - d;
  const t = Date.parse(text);
  if (Number.isNaN(t))
    throw new Error(`"${text}" is neither a duration (30s, 5m, 2h) nor a date (2026-11-22T04:37:00Z)`);
  return t;
}
