import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The synthetic run starts here; every line's time is T0 + an offset in ms. */
export const T0 = Date.parse('2026-11-22T10:00:00.000Z');
const iso = (ms: number) => new Date(T0 + ms).toISOString();

/** A pino line as the services write it (component, instance, event, msg). */
export function pinoLine(
  component: string,
  instance: string,
  atMs: number,
  event: string,
  fields: Record<string, unknown> = {},
  level = 'info',
): string {
  return JSON.stringify({
    level,
    time: iso(atMs),
    component,
    instance,
    ...fields,
    event,
    msg: event.replace('.', ' '),
  });
}

export const apiLine = (
  instance: string,
  atMs: number,
  event: string,
  fields: Record<string, unknown> = {},
  level = 'info',
) => pinoLine('api', instance, atMs, event, fields, level);
export const workerLine = (atMs: number, event: string, fields: Record<string, unknown> = {}, level = 'info') =>
  pinoLine('worker', 'worker', atMs, event, fields, level);

/** A worker's `batch.committed` line carrying `decisions` as the worker writes them (core/src/decision-log.ts). */
export const batchLine = (atMs: number, decisions: unknown[][], fields: Record<string, unknown> = {}) =>
  workerLine(atMs, 'batch.committed', { size: decisions.length, ...fields, decisions }, 'info');

export interface Access {
  requestId?: string;
  method?: string;
  uri: string;
  status: number;
  /** nginx's request time, in ms (written in seconds, as nginx does). */
  ms: number;
  /** "127.0.0.1:3001", "a, b" after a retry, "" when nginx answered itself. */
  upstream: string;
  upstreamStatus?: string;
  upstreamMs?: string;
}

/** An access line in the shape of nginx.conf.template's `stampede_json` format. */
export function nginxLine(atMs: number, a: Access): string {
  const ms = T0 + atMs;
  return JSON.stringify({
    time: iso(atMs).replace(/\.\d{3}Z$/, '+00:00'),
    msec: ms / 1000,
    level: 'info',
    component: 'nginx',
    event: 'http.access',
    requestId: a.requestId ?? `r${atMs}`,
    remoteAddr: '127.0.0.1',
    method: a.method ?? 'GET',
    uri: a.uri,
    status: a.status,
    requestTime: a.ms / 1000,
    upstreamAddr: a.upstream,
    upstreamStatus: a.upstreamStatus ?? (a.upstream ? String(a.status) : ''),
    upstreamResponseTime: a.upstreamMs ?? (a.upstream ? (a.ms / 1000).toFixed(3) : ''),
    upstreamConnectTime: a.upstream ? '0.000' : '',
    bytesSent: 100,
    requestLength: 200,
    userAgent: 'k6',
  });
}

/** A lab folder of the test's own: `<dir>/logs/<name>.log` per entry, and optionally lab.json. */
export async function writeLab(
  files: Record<string, string[]>,
  apiPorts?: Record<string, number>,
): Promise<{ dir: string; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'stampede-logs-'));
  await mkdir(join(dir, 'logs'));
  for (const [name, lines] of Object.entries(files))
    await writeFile(join(dir, 'logs', `${name}.log`), lines.map((l) => `${l}\n`).join(''));
  if (apiPorts)
    await writeFile(
      join(dir, 'lab.json'),
      JSON.stringify({ version: 1, createdAt: iso(0), options: { dir, apiPorts }, desired: {} }),
    );
  return { dir, close: () => rm(dir, { recursive: true, force: true }) };
}
