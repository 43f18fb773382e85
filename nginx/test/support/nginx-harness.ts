import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNginxBinary, type NginxTemplateVars, nginxArgs, renderNginxConfig } from '@stampede/lab/nginx-config';
import { freePort, waitFor } from '@stampede/lab/testing';

/** What a fake replica saw of one request. */
export interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A tiny HTTP server standing in for an API replica: answers JSON naming itself and echoing
 * the headers nginx sent. `crashOn` makes it read a request and then drop the connection
 * without answering, as a replica killed mid-request; `dropNext` drops the next that many
 * requests, whatever their method. `delayMs` holds each answer that long.
 */
export interface FakeReplica {
  name: string;
  port: number;
  address: string;
  seen: Seen[];
  crashOn: Set<string>;
  dropNext: number;
  delayMs: number;
  start(): Promise<void>;
  /** Closes the listener and every connection: new connects are refused. */
  stop(): Promise<void>;
}

export async function startFakeReplica(name: string): Promise<FakeReplica> {
  const port = await freePort();
  let server: Server | undefined;
  const replica: FakeReplica = {
    name,
    port,
    address: `127.0.0.1:${port}`,
    seen: [],
    crashOn: new Set(),
    dropNext: 0,
    delayMs: 0,
    async start() {
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const seen = {
            method: req.method ?? '',
            url: req.url ?? '',
            headers: req.headers,
            body: Buffer.concat(chunks).toString(),
          };
          replica.seen.push(seen);
          if (replica.dropNext > 0) {
            replica.dropNext--;
            return void req.socket.destroy();
          }
          if (replica.crashOn.has(seen.method)) return void req.socket.destroy();
          setTimeout(() => {
            res.writeHead(seen.method === 'POST' ? 202 : 200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ servedBy: name, ...seen }));
          }, replica.delayMs);
        });
      });
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    },
    async stop() {
      const s = server;
      server = undefined;
      if (!s) return;
      const closed = new Promise((resolve) => s.close(resolve));
      s.closeAllConnections();
      await closed;
    },
  };
  await replica.start();
  return replica;
}

/** A real nginx on a free port, from the rendered template, in a temp dir of its own. */
export interface TestNginx {
  port: number;
  url: string;
  dir: string;
  accessLog: string;
  /** Parsed access log lines (the log is buffered: poll with waitFor). */
  accessLines(): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

/** Renders the template into a temp dir, as the local lab does. */
export async function renderToTempDir(vars: Omit<NginxTemplateVars, 'accessLog' | 'errorLog' | 'pidFile' | 'tempDir'>) {
  const dir = await mkdtemp(join(tmpdir(), 'stampede-nginx-'));
  // When the tests run as root, nginx's workers run as nobody and must reach the temp dir.
  await chmod(dir, 0o755);
  await mkdir(join(dir, 'tmp'));
  const paths = {
    accessLog: join(dir, 'access.log'),
    errorLog: join(dir, 'error.log'),
    pidFile: join(dir, 'nginx.pid'),
    tempDir: join(dir, 'tmp'),
  };
  const configFile = join(dir, 'nginx.conf');
  await writeFile(configFile, renderNginxConfig({ ...vars, ...paths }));
  return { dir, configFile, ...paths };
}

export async function startNginx(vars: {
  upstreams: string[];
  rateLimitPerSecond?: number;
  rateLimitBurst?: number;
  edgeCache?: boolean;
}): Promise<TestNginx> {
  const port = await freePort();
  const r = await renderToTempDir({ listenPort: port, ...vars });
  const child: ChildProcess = spawn(
    findNginxBinary(),
    nginxArgs({ prefixDir: r.dir, configFile: r.configFile, errorLog: r.errorLog }),
    { stdio: 'ignore' },
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => child.exitCode === null && (await fetch(`${url}/nginx-health`)).ok, {
      what: `nginx on ${port}`,
      timeoutMs: 10_000,
    });
  } catch (err) {
    child.kill('SIGKILL');
    const log = await readFile(r.errorLog, 'utf8').catch(() => '');
    throw new Error(`nginx did not start: ${String(err)}\n${log}`);
  }
  return {
    port,
    url,
    dir: r.dir,
    accessLog: r.accessLog,
    async accessLines() {
      const text = await readFile(r.accessLog, 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(r.dir, { recursive: true, force: true });
    },
  };
}

/** Collects stop functions so afterEach can end every process a test started. */
export function cleanupList() {
  const stops: Array<() => Promise<void>> = [];
  return {
    add<T extends { stop(): Promise<void> }>(thing: T): T {
      stops.push(() => thing.stop());
      return thing;
    },
    async run() {
      await Promise.allSettled(
        stops
          .splice(0)
          .reverse()
          .map((s) => s()),
      );
    },
  };
}
