/** pino's numeric levels, by the labels our loggers write (`formatters.level` writes the label). */
export const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** The label of a numeric level ("info"), or "-" when the line had none. */
export function levelName(level: number): string {
  let name = '-';
  for (const [label, value] of Object.entries(LEVELS)) if (level >= value) name = label;
  return name;
}

/** One line of any component, parsed once; the tool filters, prints and counts these. */
export interface LogEntry {
  /** The line as the component wrote it (a `docker compose logs` prefix removed). */
  raw: string;
  /** Where it came from: the log file's name (`api-1`, `nginx-access`) or the compose service. */
  source: string;
  /** Epoch ms; a line without a time of its own carries the time of the line before it. */
  time: number;
  /** Numeric pino level; 0 when the line has none (plain text on stderr). */
  level: number;
  /** The parsed object, absent for lines that are not JSON objects. */
  json?: Record<string, unknown>;
  /** `api`, `worker`, `nginx`, `lab`, … (the source's when the line does not say). */
  component: string;
  /** Who wrote it, for the terminal: the instance (`api-2`) or else the source. */
  name: string;
  event?: string;
  /** True for a line that starts like JSON but does not parse (cut, corrupted). */
  malformed: boolean;
}

// `api-1  | {...}` or `ticket-worker  | {...}`: a name, padding, a bar. A JSON line starts
// with `{` and plain nginx error lines with a date containing `/`, so neither matches.
const COMPOSE_PREFIX = /^([A-Za-z0-9][A-Za-z0-9_.-]*)\s*\|\s?(.*)$/s;
// `docker compose logs --timestamps` puts the container runtime's time before the line.
const RUNTIME_TIME = /^\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:?\d\d)\s(.*)$/s;
// nginx's error log: `2026/11/22 04:37:04 [warn] 123#0: ...`, in the server's local time.
const NGINX_ERROR = /^(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d) \[(\w+)\]/;
const NGINX_LEVELS: Record<string, number> = {
  debug: 20,
  info: 30,
  notice: 30,
  warn: 40,
  error: 50,
  crit: 60,
  alert: 60,
  emerg: 60,
};

/** Removes the `<service>  | ` prefix of `docker compose logs`; returns the service too. */
export function stripComposePrefix(line: string): { service?: string; text: string } {
  if (line.startsWith('{')) return { text: line }; // the lab's files: no prefix, skip the regex
  const m = COMPOSE_PREFIX.exec(line);
  if (!m) return { text: line };
  const rest = m[2] ?? '';
  const timed = RUNTIME_TIME.exec(rest);
  return { service: m[1], text: timed ? (timed[1] ?? '') : rest };
}

function timeOf(o: Record<string, unknown>): number {
  // nginx's ISO time has whole seconds; its msec (epoch seconds, 3 decimals) orders lines finer.
  if (typeof o.msec === 'number') return Math.round(o.msec * 1000);
  if (typeof o.time === 'number') return o.time;
  if (typeof o.time === 'string') return Date.parse(o.time);
  return NaN;
}

function levelOf(o: Record<string, unknown>): number {
  const base = typeof o.level === 'number' ? o.level : typeof o.level === 'string' ? (LEVELS[o.level] ?? 0) : 0;
  // nginx writes every access line at info; an answer of 5xx is what a reader filtering by
  // `--level warn` is looking for, so it counts as a warning here.
  if (o.event === 'http.access' && typeof o.status === 'number' && o.status >= 500) return Math.max(base, LEVELS.warn!);
  return base;
}

function plainLine(text: string, source: string): LogEntry {
  const m = NGINX_ERROR.exec(text);
  const entry: LogEntry = {
    raw: text,
    source,
    time: NaN,
    level: 0,
    component: componentOfSource(source),
    name: source,
    malformed: false,
  };
  if (m) {
    const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
    entry.time = new Date(y, mo - 1, d, h, mi, s).getTime();
    entry.level = NGINX_LEVELS[m[7] ?? ''] ?? 0;
  }
  return entry;
}

/**
 * `api-1` → api, `nginx-access` → nginx, `ticket-worker`, `worker-2`, `worker-extra-1` →
 * worker: the component of a source name.
 */
export function componentOfSource(source: string): string {
  if (/^api(-\d+)?$/.test(source)) return 'api';
  if (source.startsWith('nginx')) return 'nginx';
  if (/worker([-_]extra)?([-_]\d+)?$/.test(source)) return 'worker';
  return source;
}

/**
 * Parses one line. Never throws: a line that is not a JSON object becomes a plain entry
 * (nginx's error log gets its time and level read), one that looks like JSON but does
 * not parse is marked `malformed`.
 */
export function parseLine(line: string, defaultSource: string): LogEntry {
  const { service, text } = stripComposePrefix(line.endsWith('\r') ? line.slice(0, -1) : line);
  const source = service ?? defaultSource;
  if (!text.startsWith('{')) return plainLine(text, source);
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return { ...plainLine(text, source), malformed: true };
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return { ...plainLine(text, source), malformed: true };
  const json = o as Record<string, unknown>;
  const component = typeof json.component === 'string' ? json.component : componentOfSource(source);
  const instance = typeof json.instance === 'string' ? json.instance : undefined;
  return {
    raw: text,
    source,
    json,
    component,
    malformed: false,
    time: timeOf(json),
    level: levelOf(json),
    name: instance ?? (component === 'nginx' ? 'nginx' : source),
    ...(typeof json.event === 'string' ? { event: json.event } : {}),
  };
}

/** A string field of a JSON entry, or undefined. */
export function field(entry: LogEntry, key: string): string | undefined {
  const v = entry.json?.[key];
  return typeof v === 'string' ? v : undefined;
}

/** A numeric field of a JSON entry (numbers written as strings too), or undefined. */
export function numberField(entry: LogEntry, key: string): number | undefined {
  const v = entry.json?.[key];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** The purchase a line is about: `purchaseId`, or the message id of a broker delivery (= purchase id). */
export const purchaseOf = (entry: LogEntry) => field(entry, 'purchaseId') ?? field(entry, 'messageId');
