import { fstatSync } from 'node:fs';
import { resolveLabDir } from '../local-lab/lab-options.js';
import { requireLogDir } from '../local-lab/lab-state.js';
import { createColors, shouldColor } from '../logs/colors.js';
import { createFilter, parseTimeArg } from '../logs/filters.js';
import { formatJson, formatPretty } from '../logs/format-line.js';
import { LEVELS, type LogEntry } from '../logs/log-entry.js';
import { scrapeCache } from '../logs/metrics-scrape.js';
import { followLogs, type LogInput, summarizeLogs } from '../logs/read-logs.js';
import { formatSummary } from '../logs/summary-report.js';
import { asUsage, parseCommandLine, runCli, UsageError } from './run-cli.js';

const USAGE = `usage: npm run logs -- [follow|summary] [-] [options]
  follow (default)   every component's lines merged in time order, then new ones as they are
                     written (Ctrl-C stops); --once prints what is there and exits
  summary            a report of the window: requests per replica, status mix, latency per
                     route, purchases accepted/confirmed/rejected, dead-letters, backlog over time
  -                  read stdin instead of files: docker compose logs --no-color | npm run logs -- summary -
                     (stdin is read by itself when it is a pipe and no --dir is given)
options
  --dir <path>            the lab's folder; reads <dir>/logs/*.log (default .lab)
  --component <a,b>       api (all replicas), api-2, worker, nginx, lab
  --level <name>          this level and above: debug, info, warn, error (nginx 5xx counts as warn)
  --request <id>          lines of this request id (repeatable, or a,b)
  --purchase <id>         lines of this purchase, and of the requests that carried it
  --since <5m|ISO>        from this long ago, or this time; --until likewise
  --pretty | --json       follow: readable lines (default on a terminal) or the raw JSON lines
                          summary: the text report (default) or the report as JSON
  --once                  follow: do not wait for new lines
  --metrics <url,…>       summary: read the cache hit ratio from these replicas' /metrics
                          (127.0.0.1:3001 is enough); without it the ratio is unknown
colour on a terminal only; NO_COLOR=1 turns it off`;

const OPTIONS = {
  dir: { type: 'string' },
  component: { type: 'string', multiple: true },
  level: { type: 'string' },
  request: { type: 'string', multiple: true },
  purchase: { type: 'string', multiple: true },
  since: { type: 'string' },
  until: { type: 'string' },
  pretty: { type: 'boolean' },
  json: { type: 'boolean' },
  once: { type: 'boolean' },
  metrics: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
type Values = ReturnType<typeof parseCommandLine<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

const list = (v: string[] | undefined) =>
  v
    ?.flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

/** Writes and waits when the pipe is full, so a huge history never piles up in memory. */
function write(text: string): Promise<void> | void {
  if (process.stdout.write(text)) return;
  return new Promise((resolve) => process.stdout.once('drain', resolve));
}

/** Is stdin something to read from: a pipe or a redirected file (not a terminal, not /dev/null)? */
function stdinIsPiped(): boolean {
  try {
    const s = fstatSync(0);
    return s.isFIFO() || s.isFile();
  } catch {
    return false;
  }
}

function minLevel(values: Values): number | undefined {
  if (values.level === undefined) return undefined;
  const level = LEVELS[values.level];
  if (level === undefined) throw new UsageError(`--level must be one of ${Object.keys(LEVELS).join(', ')}`, USAGE);
  return level;
}

runCli('logs', async () => {
  const { values, positionals } = parseCommandLine({ options: OPTIONS, allowPositionals: true }, USAGE);
  if (values.help) return write(`${USAGE}\n`);
  const [command = 'follow', source, extra] = positionals[0] === '-' ? [positionals[1], '-'] : positionals;
  if (command !== 'follow' && command !== 'summary') throw new UsageError(`unknown command "${command}"`, USAGE);
  if (source !== undefined && source !== '-') throw new UsageError(`unexpected argument "${source}"`, USAGE);
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`, USAGE);
  // A reader piping into head closes the pipe early: that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });

  const fromStdin = source === '-' || (values.dir === undefined && stdinIsPiped());
  const dir = resolveLabDir(values.dir);
  if (!fromStdin) requireLogDir(dir);
  const input: LogInput = fromStdin ? { stream: process.stdin } : { dir };
  const since = values.since ? asUsage(() => parseTimeArg(values.since!), USAGE) : undefined;
  const until = values.until ? asUsage(() => parseTimeArg(values.until!), USAGE) : undefined;
  const filter = createFilter({
    components: list(values.component),
    minLevel: minLevel(values),
    requestIds: list(values.request),
    purchaseIds: list(values.purchase),
    since,
    until,
  });
  const colors = createColors(shouldColor(process.stdout));

  if (command === 'summary') {
    const targets = list(values.metrics ? [values.metrics] : undefined);
    const cache = targets?.length ? await scrapeCache(targets) : undefined;
    const summary = await summarizeLogs(input, { since, until, filter, ...(cache ? { cache } : {}) });
    return write(values.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary, colors));
  }
  const pretty = values.pretty ?? (!values.json && process.stdout.isTTY === true);
  const format = (e: LogEntry) => `${pretty ? formatPretty(e, colors) : formatJson(e)}\n`;
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  await followLogs(input, { filter, emit: (e) => write(format(e)), follow: !values.once, signal: abort.signal });
});
