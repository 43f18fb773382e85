import { open, stat } from 'node:fs/promises';
import { type LogEntry, parseLine } from './log-entry.js';
import { type LogFile, listLogFiles } from './log-sources.js';

/** Reads bytes [from, to) of a file. */
async function readRange(path: string, from: number, to: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(to - from);
    const { bytesRead } = await fh.read(buf, 0, buf.length, from);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

interface Cursor {
  offset: number;
  partial: Buffer;
  lastTime: number;
}

/**
 * Follows `<dir>/logs/*.log` from where the history stopped (`files`' sizes), calling
 * `onEntries` with each poll's new complete lines merged in time order, until `signal`
 * aborts. Polls rather than fs.watch, which misses appends on some filesystems; a file
 * that appears later (a component started afterwards) is read from its start, one that
 * shrank (truncated) from its start again.
 */
export async function followFiles(
  labDir: string,
  files: LogFile[],
  onEntries: (entries: LogEntry[]) => Promise<void> | void,
  signal: AbortSignal,
  pollMs = 250,
): Promise<void> {
  const cursors = new Map<string, Cursor>(
    files.map((f) => [f.path, { offset: f.size, partial: Buffer.alloc(0), lastTime: 0 }]),
  );
  const sources = new Map(files.map((f) => [f.path, f.source]));
  while (!signal.aborted) {
    const fresh: LogEntry[] = [];
    for (const f of await listLogFiles(labDir)) {
      if (!cursors.has(f.path)) {
        cursors.set(f.path, { offset: 0, partial: Buffer.alloc(0), lastTime: 0 });
        sources.set(f.path, f.source);
      }
    }
    for (const [path, cursor] of cursors) {
      const size = await stat(path).then(
        (s) => s.size,
        () => 0,
      );
      if (size < cursor.offset) Object.assign(cursor, { offset: 0, partial: Buffer.alloc(0) });
      if (size === cursor.offset) continue;
      const chunk = Buffer.concat([cursor.partial, await readRange(path, cursor.offset, size)]);
      cursor.offset = size;
      const end = chunk.lastIndexOf(0x0a);
      cursor.partial = end < 0 ? chunk : chunk.subarray(end + 1);
      if (end < 0) continue;
      for (const line of chunk.subarray(0, end).toString('utf8').split('\n')) {
        if (line.length === 0) continue;
        const entry = parseLine(line, sources.get(path) ?? path);
        if (Number.isNaN(entry.time)) entry.time = cursor.lastTime;
        else cursor.lastTime = entry.time;
        fresh.push(entry);
      }
    }
    // Array.prototype.sort is stable: a file's own order survives equal times.
    if (fresh.length > 0) await onEntries(fresh.sort((a, b) => a.time - b.time));
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
