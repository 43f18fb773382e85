import type { CacheSummary } from './summary.js';

const CACHE_SERIES = /^stampede_cache_reads_total\{([^}]*)\}\s+([0-9.eE+-]+)/;

/** `127.0.0.1:3001` or `http://h:3001` → `http://…/metrics`; a full URL with a path stays. */
export function metricsUrl(target: string): string {
  const url = new URL(/^https?:\/\//.test(target) ? target : `http://${target}`);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/metrics';
  return url.toString();
}

/** Sums `stampede_cache_reads_total` by result over Prometheus text expositions. */
export function cacheCounts(expositions: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const text of expositions) {
    for (const line of text.split('\n')) {
      const m = CACHE_SERIES.exec(line);
      const result = m && /result="([^"]*)"/.exec(m[1] ?? '')?.[1];
      if (m && result) out[result] = (out[result] ?? 0) + Number(m[2]);
    }
  }
  return out;
}

/**
 * The cache hit ratio from the replicas' own counters. They count since each replica
 * started, not over the log window, and the report says so; a replica that does not
 * answer is named, and the ratio covers the others.
 */
export async function scrapeCache(targets: string[], timeoutMs = 2_000): Promise<CacheSummary> {
  const texts: string[] = [];
  const failed: string[] = [];
  await Promise.all(
    targets.map(async (t) => {
      try {
        const res = await fetch(metricsUrl(t), { signal: AbortSignal.timeout(timeoutMs) });
        if (!res.ok) throw new Error(String(res.status));
        texts.push(await res.text());
      } catch {
        failed.push(t);
      }
    }),
  );
  const counts = cacheCounts(texts);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const missing = failed.length > 0 ? `; no answer from ${failed.join(', ')}` : '';
  if (total === 0)
    return { source: 'unknown', counts, note: `no cache reads counted by ${texts.length} replica(s)${missing}` };
  return {
    source: 'metrics',
    counts,
    hitRatio: (counts.hit ?? 0) / total,
    note: `from /metrics of ${texts.length} replica(s), since each started (not the log window)${missing}`,
  };
}
