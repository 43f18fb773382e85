/**
 * A stand-in for the k6 runtime modules (k6, k6/http, k6/execution, k6/metrics), enough to
 * run the scripts' functions in Node: k6 cannot be installed here. Requests go to a handler
 * (an in-memory API), checks and metric samples are recorded, sleep() moves a fake clock.
 * State lives on globalThis so it survives vi.resetModules() between script imports.
 */
import { vi } from 'vitest';

export interface FakeRequest {
  method: string;
  url: string;
  body?: string;
  headers: Record<string, string>;
  tags: Record<string, string>;
  expected?: number[];
}
export interface FakeResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}
export interface CheckRecord {
  name: string;
  ok: boolean;
  tags?: Record<string, string>;
}

interface State {
  handler: (req: FakeRequest) => FakeResponse;
  requests: (FakeRequest & { status: number })[];
  checks: CheckRecord[];
  samples: Record<string, number[]>;
  logs: string[];
  exec: {
    vu: { idInTest: number };
    scenario: { name: string; iterationInTest: number };
    test: { abort: (msg?: string) => never };
  };
}

const g = globalThis as unknown as { __fakeK6?: State };

/** The shared fake state (created on first use). */
export function fake(): State {
  g.__fakeK6 ??= {
    handler: () => ({ status: 599 }),
    requests: [],
    checks: [],
    samples: {},
    logs: [],
    exec: {
      vu: { idInTest: 1 },
      scenario: { name: 'default', iterationInTest: 0 },
      test: {
        abort: (msg) => {
          throw new Error(`aborted: ${msg}`);
        },
      },
    },
  };
  return g.__fakeK6;
}

/** Forgets requests, checks, samples and logs; installs a handler. */
export function resetFake(handler: State['handler']): State {
  const s = fake();
  Object.assign(s, { handler, requests: [], checks: [], samples: {}, logs: [] });
  return s;
}

function respond(
  method: string,
  url: string,
  body: string | undefined,
  params: {
    headers?: Record<string, string>;
    tags?: Record<string, string>;
    responseCallback?: { statuses: number[] };
  } = {},
) {
  const req: FakeRequest = {
    method,
    url,
    body,
    headers: params.headers ?? {},
    tags: params.tags ?? {},
    expected: params.responseCallback?.statuses,
  };
  const res = fake().handler(req);
  fake().requests.push({ ...req, status: res.status });
  const text = res.body ?? '';
  return {
    status: res.status,
    headers: res.headers ?? {},
    body: text,
    timings: { duration: 1 },
    json: () => JSON.parse(text),
  };
}

export const httpModule = {
  default: {
    get: (url: string, params?: object) => respond('GET', url, undefined, params),
    post: (url: string, body: string, params?: object) => respond('POST', url, body, params),
    put: (url: string, body: string, params?: object) => respond('PUT', url, body, params),
    expectedStatuses: (...statuses: number[]) => ({ statuses }),
    setResponseCallback: () => undefined,
  },
};

export const k6Module = {
  check(value: unknown, sets: Record<string, (v: unknown) => boolean>, tags?: Record<string, string>) {
    let all = true;
    for (const [name, fn] of Object.entries(sets)) {
      let ok = false;
      try {
        ok = !!fn(value);
      } catch {
        ok = false;
      }
      fake().checks.push({ name, ok, tags });
      all &&= ok;
    }
    return all;
  },
  sleep(seconds: number) {
    vi.setSystemTime(Date.now() + seconds * 1000);
  },
  group: (_name: string, fn: () => unknown) => fn(),
};

export const execModule = {
  get default() {
    return fake().exec;
  },
};

class Metric {
  constructor(readonly name: string) {
    fake().samples[name] ??= [];
  }
  add(value: number | boolean) {
    (fake().samples[this.name] ??= []).push(Number(value));
  }
}
export const metricsModule = { Counter: Metric, Gauge: Metric, Rate: Metric, Trend: Metric };

/** Sum of a Counter's samples; last value of a Gauge. */
export const total = (name: string) => (fake().samples[name] ?? []).reduce((a, b) => a + b, 0);
export const last = (name: string) => fake().samples[name]?.at(-1);

/** Runs `fn` as iteration `iteration` of `scenario` on VU `vu`. */
export function asIteration<T>(scenario: string, vu: number, iteration: number, fn: () => T): T {
  const exec = fake().exec;
  exec.vu.idInTest = vu;
  exec.scenario.name = scenario;
  exec.scenario.iterationInTest = iteration;
  return fn();
}
