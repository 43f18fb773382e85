import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cacheCounts, metricsUrl, scrapeCache } from '../src/logs/metrics-scrape.js';

/** Lines as a replica's /metrics writes them (prom-client, default labels last). */
const replica = (instance: string, hit: number, miss: number) =>
  [
    '# HELP stampede_cache_reads_total Availability reads by cache result',
    '# TYPE stampede_cache_reads_total counter',
    `stampede_cache_reads_total{result="hit",instance="${instance}",component="api"} ${hit}`,
    `stampede_cache_reads_total{result="miss",instance="${instance}",component="api"} ${miss}`,
    `stampede_http_requests_total{route="/events/:eventId/availability",method="GET",status="200",instance="${instance}",component="api"} ${hit + miss}`,
  ].join('\n');

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function serve(body: string): Promise<string> {
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/metrics' ? 200 : 404, { 'content-type': 'text/plain' });
    res.end(req.url === '/metrics' ? body : '');
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('the cache hit ratio from /metrics', () => {
  it('when replicas expose their counters, then results are summed over them', () => {
    expect(cacheCounts([replica('api-1', 90, 10), replica('api-2', 60, 40)])).toEqual({ hit: 150, miss: 50 });
    expect(metricsUrl('127.0.0.1:3001')).toBe('http://127.0.0.1:3001/metrics');
    expect(metricsUrl('http://h:9/custom')).toBe('http://h:9/custom');
  });

  it('when one replica does not answer, then the ratio covers the others and names the missing one', async () => {
    const a = await serve(replica('api-1', 90, 10));
    const b = await serve(replica('api-2', 60, 40));
    const cache = await scrapeCache([a, b, '127.0.0.1:1'], 1_000);
    expect(cache.source).toBe('metrics');
    expect(cache.hitRatio).toBe(0.75);
    expect(cache.note).toMatch(/2 replica\(s\), since each started.*no answer from 127\.0\.0\.1:1/);
  });
});
