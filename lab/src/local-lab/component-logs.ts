import { readdirSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { componentLogs } from './components.js';
import { COMPONENTS, type ComponentName, workerNames } from './lab-options.js';
import { labPaths } from './lab-state.js';

/** One log line with the file it came from (`api-1`, `nginx-access`, …). */
export interface LogLine {
  source: string;
  line: string;
  /** Epoch ms from the line's own timestamp; lines without one sort with their neighbours. */
  at: number;
}

const sourceOf = (file: string) => basename(file, '.log');

/** The timestamp of a JSON log line (nginx's `msec`, pino's `time`), or NaN. */
function timeOf(line: string): number {
  if (!line.startsWith('{')) return NaN;
  try {
    const o = JSON.parse(line) as Record<string, unknown>;
    // nginx's ISO time has whole seconds only; its msec (epoch seconds) orders lines finer.
    if (typeof o.msec === 'number') return o.msec * 1000;
    const t = o.time ?? o.timestamp;
    return typeof t === 'number' ? t : typeof t === 'string' ? Date.parse(t) : NaN;
  } catch {
    return NaN;
  }
}

/** Bytes read from the end of a file to find its last lines; big enough for hundreds of lines. */
const TAIL_BYTES = 512 * 1024;

async function readFrom(file: string, position: number, length: number): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, position);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

/** The last `n` lines of a file, [] when it does not exist. */
export async function tailLines(file: string, n: number): Promise<string[]> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    return [];
  }
  const start = Math.max(0, size - TAIL_BYTES);
  const lines = (await readFrom(file, start, size - start)).split('\n').filter((l) => l.length > 0);
  if (start > 0) lines.shift(); // the first line was cut in the middle
  return lines.slice(-n);
}

function stamp(source: string, lines: string[]): LogLine[] {
  let last = 0;
  return lines.map((line) => {
    const t = timeOf(line);
    if (!Number.isNaN(t)) last = t;
    return { source, line, at: last };
  });
}

/**
 * The workers that have logged in `dir`: `worker`, or `worker-1` … `worker-N` of a lab
 * with N. Read from the files, so the logs of a lab already down are found too.
 */
function loggedWorkers(dir: string): ComponentName[] {
  let files: string[] = [];
  try {
    files = readdirSync(labPaths(dir).logDir);
  } catch {
    // no log folder: the one-worker names, whose files do not exist either
  }
  const numbered = files
    .map((f) => /^worker-(\d+)\.log$/.exec(f)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b)
    .map((n) => `worker-${n}` as const);
  return files.includes('worker.log') || numbered.length === 0 ? [...workerNames(1), ...numbered] : numbered;
}

/** The log files of one component (`worker`: of every worker), or of all. */
export function logFiles(dir: string, component?: ComponentName): string[] {
  const workers = loggedWorkers(dir);
  const names =
    component === undefined
      ? [...workers, ...COMPONENTS.filter((c) => c !== 'worker')]
      : component === 'worker'
        ? workers
        : [component];
  return names.flatMap((c) => componentLogs(dir, c));
}

/** The last `n` lines of each file, merged in time order (stable within a file). */
export async function recentLogs(dir: string, component: ComponentName | undefined, n: number): Promise<LogLine[]> {
  const all = await Promise.all(logFiles(dir, component).map(async (f) => stamp(sourceOf(f), await tailLines(f, n))));
  return all
    .flat()
    .sort((a, b) => a.at - b.at)
    .slice(-n);
}

/** One line for the terminal: the source padded, then the line as the component wrote it. */
export const formatLogLine = (l: LogLine) => `${l.source.padEnd(12)} | ${l.line}`;

/**
 * Follows the files from their current end, calling `onLine` for each new complete line,
 * until `signal` aborts. Polls (fs.watch misses appends on some filesystems); a file that
 * appears later (a component started afterwards) or is truncated is picked up.
 */
export async function followLogs(
  dir: string,
  component: ComponentName | undefined,
  onLine: (l: LogLine) => void,
  signal: AbortSignal,
): Promise<void> {
  const files = logFiles(dir, component);
  const size = async (f: string) =>
    stat(f).then(
      (s) => s.size,
      () => 0,
    );
  const offsets = new Map(await Promise.all(files.map(async (f) => [f, await size(f)] as const)));
  const partial = new Map<string, string>();
  while (!signal.aborted) {
    for (const file of files) {
      const now = await size(file);
      let from = offsets.get(file) ?? 0;
      if (now < from) from = 0;
      if (now === from) continue;
      const text = (partial.get(file) ?? '') + (await readFrom(file, from, now - from));
      offsets.set(file, now);
      const lines = text.split('\n');
      partial.set(file, lines.pop() ?? '');
      for (const l of stamp(
        sourceOf(file),
        lines.filter((x) => x.length > 0),
      ))
        onLine(l);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
