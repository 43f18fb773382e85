import { createTestEvent, testSql } from '@stampede/lab/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTestApp, serveTestApp } from './app-fixture.js';

const sql = testSql();
afterAll(() => sql.end({ timeout: 1 }));

/** The value of one sample line of a Prometheus exposition, 0 when absent. */
function sample(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.split(',').every((p) => l.includes(p)));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('/metrics', () => {
  it('when reads miss then hit and a route 404s, then the counters say so by route template, not raw path', async () => {
    const t = buildTestApp({ CACHE_TTL_MS: 60_000 });
    try {
      const event = await createTestEvent(sql, [5]);
      await t.app.request(`/events/${event.id}/availability`);
      await t.app.request(`/events/${event.id}/availability`);
      await t.app.request(`/events/${event.id}/availability`);
      await t.app.request('/no/such/route');
      const res = await t.app.request('/metrics');
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(sample(text, 'stampede_cache_reads_total', 'result="miss"')).toBe(1);
      expect(sample(text, 'stampede_cache_reads_total', 'result="hit"')).toBe(2);
      expect(sample(text, 'stampede_http_requests_total', 'route="/events/:eventId/availability",status="200"')).toBe(
        3,
      );
      expect(sample(text, 'stampede_http_requests_total', 'route="unmatched",status="404"')).toBe(1);
      expect(text).not.toContain(event.id);
    } finally {
      await t.close();
    }
  });

  it('when requests on different routes are in flight at once on the Node server, then each is counted under its own route template', async () => {
    const t = await serveTestApp({ CACHE_TTL_MS: 60_000 });
    try {
      const event = await createTestEvent(sql, [5]);
      const paths = [
        ...Array.from({ length: 20 }, () => `/events/${event.id}/availability`),
        ...Array.from({ length: 20 }, () => '/health/live'),
        ...Array.from({ length: 5 }, () => `/events/${event.id}/no-such`),
      ];
      const statuses = await Promise.all(paths.map(async (p) => (await fetch(`${t.base}${p}`)).status));
      expect(statuses.filter((s) => s === 200)).toHaveLength(40);
      const text = await (await fetch(`${t.base}/metrics`)).text();
      expect(sample(text, 'stampede_http_requests_total', 'route="/events/:eventId/availability",status="200"')).toBe(
        20,
      );
      expect(sample(text, 'stampede_http_requests_total', 'route="/health/live",status="200"')).toBe(20);
      expect(sample(text, 'stampede_http_requests_total', 'route="unmatched",status="404"')).toBe(5);
    } finally {
      await t.close();
    }
  });
});
