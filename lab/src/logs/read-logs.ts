import type { Readable } from 'node:stream';
import type { LineFilter } from './filters.js';
import { followFiles } from './follow.js';
import type { LogEntry } from './log-entry.js';
import { type LogFile, listLogFiles, readFileEntries, readStreamEntries } from './log-sources.js';
import { mergeByTime, reorderByTime } from './merge.js';
import { type CacheSummary, type Summary, SummaryBuilder } from './summary.js';

/** Where lines come from: a lab's `<dir>/logs/*.log`, or one stream (piped `docker compose logs`). */
export type LogInput = { dir: string } | { stream: Readable; name?: string };

/** What `follow` prints to; resolves when the line is taken (backpressure). */
export type Emit = (entry: LogEntry) => Promise<void> | void;

async function learnFrom(files: LogFile[], filter: LineFilter): Promise<void> {
  for (const f of files) for await (const e of readFileEntries(f)) filter.learn(e);
}

/** All lines of the input in time order (files merged; a stream reordered within a bounded buffer). */
async function history(
  input: LogInput,
  filter?: LineFilter,
): Promise<{ entries: AsyncGenerator<LogEntry>; files: LogFile[] }> {
  if ('stream' in input) {
    const entries = readStreamEntries(input.stream, input.name ?? 'stdin');
    return { entries: reorderByTime(entries, 5_000, (e) => filter?.learn(e)), files: [] };
  }
  const files = await listLogFiles(input.dir);
  // A purchase filter learns the request ids of that purchase first, so the access line
  // of the request that accepted it is shown even when it sorts before the API's line.
  if (filter?.needsLearning) await learnFrom(files, filter);
  return { entries: mergeByTime(files.map((f) => readFileEntries(f))), files };
}

export interface FollowOptions {
  filter: LineFilter;
  emit: Emit;
  /** Keep reading lines appended to the files until `signal` aborts (not for a stream). */
  follow?: boolean;
  signal?: AbortSignal;
  pollMs?: number;
}

/** Prints the matching lines in time order; with `follow`, then the new ones as they come. */
export async function followLogs(input: LogInput, o: FollowOptions): Promise<void> {
  const { entries, files } = await history(input, o.filter);
  for await (const e of entries) if (o.filter.matches(e)) await o.emit(o.filter.focus(e));
  if (!o.follow || 'stream' in input || !o.signal) return;
  await followFiles(
    input.dir,
    files,
    async (fresh) => {
      for (const e of fresh) o.filter.learn(e);
      for (const e of fresh) if (o.filter.matches(e)) await o.emit(o.filter.focus(e));
    },
    o.signal,
    o.pollMs,
  );
}

export interface SummaryOptions {
  since?: number;
  until?: number;
  /** Keeps only lines this filter matches (component, level, ids), when given. */
  filter?: LineFilter;
  cache?: CacheSummary;
}

/** Reads the whole input once, line by line, and returns the summary of its window. */
export async function summarizeLogs(input: LogInput, o: SummaryOptions = {}): Promise<Summary> {
  const builder = new SummaryBuilder({ since: o.since, until: o.until });
  if ('dir' in input) await builder.names.loadLab(input.dir);
  const { entries } = await history(input, o.filter);
  for await (const e of entries) {
    if (!o.filter) builder.add(e);
    else if (o.filter.matches(e)) builder.add(o.filter.focus(e));
  }
  return builder.result(o.cache);
}
