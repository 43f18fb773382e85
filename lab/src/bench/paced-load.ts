import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { LoadResult, RequestSource, WireRequest } from './bench-types.js';
import { encodeRequest, ResponseParser } from './http-wire.js';
import { LatencyRecorder } from './latency.js';

export interface PacedLoadSpec {
  /** http://host:port of nginx. */
  base: string;
  /** Arrivals per second, spread evenly (open model). */
  rate: number;
  durationS: number;
  /** At most this many requests in flight (keep-alive connections). */
  connections: number;
  request: RequestSource;
  expected: number[];
  /** Every response, with its body (to record the ids of accepted purchases). */
  onResponse?: (status: number, body: string) => void;
  /** After the last arrival, how long in-flight requests may take to finish. */
  graceMs?: number;
}

interface Slot {
  socket: Socket;
  parser: ResponseParser;
  /** The arrival time of the request in flight on it, or undefined when idle. */
  arrival?: number;
}

/**
 * An open-model run: requests arrive at a fixed rate whether or not earlier ones were
 * answered, as buyers do in a spike. Latency is measured from each request's scheduled
 * arrival, so time spent waiting for a free connection counts (no coordinated omission:
 * a stalled server cannot slow the generator down and hide its own slowness). Arrivals
 * still waiting for a connection when the run ends are reported as `notSent`.
 * autocannon's rate option sends each connection's quota in a burst at every second, so
 * this small generator of raw keep-alive sockets does the pacing instead.
 */
export async function runPacedLoad(spec: PacedLoadSpec): Promise<LoadResult> {
  const url = new URL(spec.base);
  const host = url.host;
  const latencies = new LatencyRecorder();
  const statuses: Record<string, number> = {};
  let errors = 0;
  let ok = 0;
  const waiting: number[] = [];
  const idle: Slot[] = [];
  let stopped = false;
  let onSettled: (() => void) | undefined;
  let inFlight = 0;
  const all = new Set<Slot>();

  const source = spec.request;
  const fixed = typeof source === 'function' ? undefined : encodeRequest(host, source);
  const send = (slot: Slot, arrival: number) => {
    slot.arrival = arrival;
    inFlight += 1;
    slot.socket.write(fixed ?? encodeRequest(host, (source as () => WireRequest)()));
  };
  const next = (slot: Slot) => {
    const arrival = stopped ? undefined : waiting.shift();
    if (arrival === undefined) idle.push(slot);
    else send(slot, arrival);
  };
  const finish = (slot: Slot) => {
    slot.arrival = undefined;
    inFlight -= 1;
    if (inFlight === 0) onSettled?.();
  };

  const open = (): Promise<Slot> =>
    new Promise((resolve, reject) => {
      const slot: Slot = {
        socket: connect({ host: url.hostname, port: Number(url.port) }),
        parser: new ResponseParser(),
      };
      all.add(slot);
      slot.socket.setNoDelay(true);
      slot.socket.once('connect', () => resolve(slot));
      slot.socket.on('error', (err) => {
        if (slot.socket.connecting) reject(err);
      });
      slot.socket.on('data', (chunk: Buffer) => {
        for (const res of slot.parser.push(chunk)) {
          if (slot.arrival === undefined) continue;
          latencies.record(performance.now() - slot.arrival);
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          if (spec.expected.includes(res.status)) ok += 1;
          spec.onResponse?.(res.status, res.body);
          finish(slot);
          if (!res.close) next(slot);
        }
      });
      slot.socket.on('close', () => {
        // nginx closes a keep-alive connection after keepalive_requests; a request lost
        // with it is an error. Either way the slot is replaced by a fresh connection.
        all.delete(slot);
        const i = idle.indexOf(slot);
        if (i >= 0) idle.splice(i, 1);
        if (slot.arrival !== undefined) {
          errors += 1;
          finish(slot);
        }
        if (!stopped)
          open().then(next, () => {
            errors += 1;
          });
      });
    });

  const slots = await Promise.all(Array.from({ length: spec.connections }, open));
  idle.push(...slots);
  const interval = 1000 / spec.rate;
  const total = Math.max(1, Math.round(spec.rate * spec.durationS));
  const start = performance.now();
  let scheduled = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - start) / interval) + 1);
      for (; scheduled < due; scheduled += 1) {
        const arrival = start + scheduled * interval;
        const slot = idle.pop();
        if (slot) send(slot, arrival);
        else waiting.push(arrival);
      }
      if (scheduled >= total) return resolve();
      setTimeout(tick, Math.max(0, Math.min(interval, 5)));
    };
    tick();
  });
  // The last arrival is scheduled: what still waits for a connection now is not sent.
  stopped = true;
  const notSent = waiting.length;
  waiting.length = 0;
  if (inFlight > 0) {
    await new Promise<void>((resolve) => {
      onSettled = resolve;
      setTimeout(resolve, spec.graceMs ?? 10_000).unref();
    });
  }
  const durationS = (performance.now() - start) / 1000;
  for (const s of all) s.socket.destroy();
  const completed = Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    model: 'open',
    connections: spec.connections,
    targetRate: spec.rate,
    durationS: Math.round(durationS * 100) / 100,
    expected: spec.expected,
    completed,
    ok,
    rate: Math.round(ok / durationS),
    statuses,
    errors: errors + Math.max(inFlight, 0),
    notSent,
    ...latencies.summary(),
  };
}
