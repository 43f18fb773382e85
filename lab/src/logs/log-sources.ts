import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { type LogEntry, parseLine } from './log-entry.js';

/** A log file and how far it is read: the history stops at `size`, following goes on from there. */
export interface LogFile {
  path: string;
  source: string;
  size: number;
}

/**
 * The size up to the last complete line: a line being written right now is left for
 * following, so it is neither cut in two nor printed twice.
 */
async function completeSize(path: string, size: number): Promise<number> {
  if (size === 0) return 0;
  const fh = await open(path, 'r');
  try {
    const chunk = Buffer.alloc(Math.min(size, 64 * 1024));
    const { bytesRead } = await fh.read(chunk, 0, chunk.length, size - chunk.length);
    const lastNewline = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
    // No newline in the last 64 KiB: one huge line, read it as it is.
    return lastNewline < 0 ? size : size - chunk.length + lastNewline + 1;
  } finally {
    await fh.close();
  }
}

/** Every `*.log` file in `<dir>/logs`, with its size now; [] when there is no such folder. */
export async function listLogFiles(labDir: string): Promise<LogFile[]> {
  const logDir = join(labDir, 'logs');
  let names: string[];
  try {
    names = await readdir(logDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const files = names.filter((n) => n.endsWith('.log')).sort();
  return Promise.all(
    files.map(async (n) => {
      const path = join(logDir, n);
      return { path, source: basename(n, '.log'), size: await completeSize(path, (await stat(path)).size) };
    }),
  );
}

/**
 * Parses lines as they come, giving a line without a time of its own (a stack trace on
 * stderr) the time of the line before it, so it stays with its neighbours when merged.
 */
export async function* parseLines(
  lines: AsyncIterable<string> | Iterable<string>,
  source: string,
): AsyncGenerator<LogEntry> {
  let last = 0;
  for await (const line of lines) {
    if (line.length === 0) continue;
    const entry = parseLine(line, source);
    if (Number.isNaN(entry.time)) entry.time = last;
    else last = entry.time;
    yield entry;
  }
}

/**
 * Line by line from a stream (readline; the file is never held in memory whole). The
 * interface is made when reading starts, not before: readline emits lines as soon as it
 * is attached, and lines emitted before its iterator exists would be lost.
 */
export async function* readStreamEntries(stream: Readable, source: string): AsyncGenerator<LogEntry> {
  yield* parseLines(createInterface({ input: stream, crlfDelay: Infinity }), source);
}

/** The entries of a file up to the size it had when listed; lines appended since are for following. */
export function readFileEntries(file: LogFile): AsyncGenerator<LogEntry> {
  if (file.size === 0) return parseLines([], file.source);
  return readStreamEntries(createReadStream(file.path, { start: 0, end: file.size - 1 }), file.source);
}
