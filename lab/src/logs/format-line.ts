import type { Colors } from './colors.js';
import { type LogEntry, levelName } from './log-entry.js';

/** Keys the pretty line shows in its own columns, not again as key=value. */
const SHOWN = new Set(['level', 'time', 'msec', 'component', 'instance', 'event', 'msg']);
/** nginx fields the access summary already says, or that say little in a terminal. */
const NGINX_SHOWN = new Set([
  ...SHOWN,
  'method',
  'uri',
  'status',
  'requestTime',
  'upstreamAddr',
  'upstreamStatus',
  'upstreamResponseTime',
  'upstreamConnectTime',
  'bytesSent',
  'requestLength',
  'userAgent',
  'remoteAddr',
]);

const clock = (ms: number) => (ms > 0 ? new Date(ms).toISOString().slice(11, 23) : '--:--:--.---');

function value(v: unknown): string {
  if (typeof v === 'string') return /\s/.test(v) || v === '' ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

/** Decisions a pretty line lists before it says how many more (a batch line carries hundreds). */
const DECISIONS_SHOWN = 3;

/** A batch line's decisions, each as `purchaseId requestId status [reason] [duplicate]`. */
function decisionsText(v: unknown[]): string {
  const shown = v.slice(0, DECISIONS_SHOWN).map((d) =>
    Array.isArray(d)
      ? d
          .filter((x) => x !== null)
          .map((x) => (x === true ? 'duplicate' : String(x)))
          .join(' ')
      : value(d),
  );
  const more = v.length > DECISIONS_SHOWN ? ` …+${v.length - DECISIONS_SHOWN} (--json or --purchase for all)` : '';
  return `[${shown.join(', ')}]${more}`;
}

function pairs(json: Record<string, unknown>, skip: Set<string>): string {
  return Object.entries(json)
    .filter(([k, v]) => !skip.has(k) && v !== null && v !== undefined)
    .map(([k, v]) => `${k}=${k === 'decisions' && Array.isArray(v) ? decisionsText(v) : value(v)}`)
    .join(' ');
}

function accessText(j: Record<string, unknown>, c: Colors): string {
  const ms = typeof j.requestTime === 'number' ? `${Math.round(j.requestTime * 1000)}ms` : '';
  const status = typeof j.status === 'number' ? j.status : 0;
  const shownStatus =
    status >= 500 ? c.paint(31, String(status)) : status >= 400 ? c.paint(33, String(status)) : String(status);
  const upstream = typeof j.upstreamAddr === 'string' && j.upstreamAddr !== '' ? ` → ${j.upstreamAddr}` : '';
  return `${String(j.method ?? '')} ${String(j.uri ?? '')} ${shownStatus} ${ms}${upstream}`;
}

/**
 * One line for a person: time (UTC), who, level, event, message, then the other fields
 * as key=value. Lines that are not JSON are shown as they are, after the time and source.
 */
export function formatPretty(e: LogEntry, c: Colors): string {
  const who = c.forName(e.name, e.name.padEnd(8));
  const time = c.dim(clock(e.time));
  if (!e.json) return `${time} ${who} ${c.forLevel(e.level, levelName(e.level).padEnd(5))} ${e.raw}`;
  const j = e.json;
  const level = c.forLevel(e.level, levelName(e.level).padEnd(5));
  const event = c.bold(e.event ?? '-');
  if (e.event === 'http.access')
    return `${time} ${who} ${level} ${event} ${accessText(j, c)} ${c.dim(pairs(j, NGINX_SHOWN))}`.trimEnd();
  const msg = typeof j.msg === 'string' ? j.msg : '';
  return `${time} ${who} ${level} ${event} ${msg} ${c.dim(pairs(j, SHOWN))}`.trimEnd();
}

/** The raw line, for `--json` (jq, grep): unchanged except for the compose prefix. */
export const formatJson = (e: LogEntry) => e.raw;
