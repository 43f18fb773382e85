import { readFile } from 'node:fs/promises';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ACCEPTED_LINE = /\bACCEPTED\s+([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/i;

/** Raised when an accepted-ids file holds something that is not a purchase id. */
export class AcceptedIdsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AcceptedIdsError';
  }
}

/**
 * Reads the purchase ids a load run got 202 for. Three shapes, told apart by content:
 * - one purchase id per line (blank lines and `#` comments ignored) — the main format;
 * - a log in which some lines carry `ACCEPTED <id>` (k6 console output, text or JSON log
 *   format, as load-tests/support/api.js logs each 202): only those lines count;
 * - JSON: an array of ids, or an object with an `acceptedIds` array (a k6 summary file).
 * Anything else is an error rather than skipped, because a skipped id would hide a lost one.
 * Ids are lower-cased and de-duplicated (a retry gets the same id, so repeats are expected).
 */
export function parseAcceptedIds(text: string, source = 'accepted ids'): string[] {
  const lines = text.split(/\r?\n/);
  const logged = lines.some((l) => ACCEPTED_LINE.test(l));
  const trimmed = text.trim();
  // k6 --log-format=json writes one JSON object per line: that is a log, not a JSON document.
  if (!logged && (trimmed.startsWith('[') || trimmed.startsWith('{'))) return fromJson(trimmed, source);
  const ids: string[] = [];
  if (logged) {
    for (const line of lines) {
      const m = ACCEPTED_LINE.exec(line);
      if (m) ids.push(m[1]!);
    }
    return unique(ids);
  }
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (!UUID.test(line)) throw new AcceptedIdsError(`${source}:${i + 1}: not a purchase id: ${line.slice(0, 80)}`);
    ids.push(line);
  }
  return unique(ids);
}

function fromJson(text: string, source: string): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new AcceptedIdsError(`${source}: starts like JSON but does not parse: ${(err as Error).message}`);
  }
  const list = Array.isArray(doc) ? doc : (doc as { acceptedIds?: unknown } | null)?.acceptedIds;
  if (!Array.isArray(list))
    throw new AcceptedIdsError(`${source}: JSON must be an array of ids or have an "acceptedIds" array`);
  for (const [i, id] of list.entries()) {
    if (typeof id !== 'string' || !UUID.test(id))
      throw new AcceptedIdsError(`${source}: acceptedIds[${i}] is not a purchase id`);
  }
  return unique(list as string[]);
}

function unique(ids: string[]): string[] {
  return [...new Set(ids.map((id) => id.toLowerCase()))];
}

/** Reads and parses an accepted-ids file (see {@link parseAcceptedIds} for the formats). */
export async function readAcceptedIds(path: string): Promise<string[]> {
  return parseAcceptedIds(await readFile(path, 'utf8'), path);
}
