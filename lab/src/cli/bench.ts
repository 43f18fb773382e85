import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeBenchDocs } from '../bench/bench-doc.js';
import type { BenchResults } from '../bench/bench-results.js';
import { formatTable } from '../bench/bench-table.js';
import { measureDashboardOverhead } from '../bench/dashboard-overhead.js';
import { measureRoomPersistence } from '../bench/room-persistence.js';
import { runBench } from '../bench/run-bench.js';
import { evaluateTargets } from '../bench/targets.js';
import { REPO_ROOT } from '../local-lab/lab-options.js';
import { runCli } from './run-cli.js';

const USAGE = `usage: npm run bench -- [--duration <s>] [--connections <n>] [--quick] [options]
  --duration <s>      whole seconds of load per path, stack and round (default 10; 3 with --quick)
  --rounds <n>        rounds per compared path, reference and Stampede alternately (default 2, at least 2)
  --connections <n>   concurrent connections of the load generator (default 64)
  --open-connections <n>  keep-alive connections the open-model generator may use at once
                      (default 4× --connections: a rate needs rate × latency in flight)
  --threads <n>       wrk threads (default 1)
  --quick             a short run for development: 3 s per round, 1 s warm-ups, docs left alone
  --warmup <s>        unmeasured seconds before each path and stack (default 2; 1 with --quick)
  --spike-rate <n/s>  arrivals per second of the open-model spike (default: 80 % of the
                      queued closed-model purchase rate of the same run)
  --results <dir>     where the results JSON goes (default bench-results/)
  --docs / --no-docs  write docs/benchmarks.md and its chart (default: yes, except --quick)
  --profile / --no-profile  CPU profiles of api-1 and of the reference's ref-1 under each
                      compared path (default: yes, except --quick)
  --render <file>     only regenerate the docs from a results JSON of an earlier run
  --keep-data         keep the run's events and purchases in Postgres
  --edge-cache        Stampede's nginx micro-caches availability reads for 1 s (docs/nginx.md);
                      the reference does not, so its read figure is no longer like for like
  --lanes <n>         decision lanes of the lab (AMQP_LANES, default 0: the one shared queue)
  --buckets <k>       the drain's hot tier split into k buckets (default 1, at most 64)
  --dashboard-overhead  only this: the admission path in 8 alternate rounds with the dashboard
                      closed and open (--viewers <n> event streams, default 3), on a lab of its own
  --room-persistence  only this: waiting-room arrivals in process, at --connections at once, with
                      the line kept as the room does (Redis without persistence, places in the
                      tokens), in a Redis fsyncing every write, and with a Postgres row each
Needs wrk (apt-get install wrk) and nginx. Starts a private lab and the minimal reference
(own ports, Redis prefixes, queues, tables, temp dirs), measures, tears them down.`;

/** `npm run bench`: the benchmark of docs/benchmarks.md. */
runCli('bench', async () => {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      connections: { type: 'string' },
      'open-connections': { type: 'string' },
      rounds: { type: 'string' },
      threads: { type: 'string' },
      quick: { type: 'boolean' },
      warmup: { type: 'string' },
      'spike-rate': { type: 'string' },
      results: { type: 'string' },
      docs: { type: 'boolean' },
      'no-docs': { type: 'boolean' },
      render: { type: 'string' },
      'keep-data': { type: 'boolean' },
      'edge-cache': { type: 'boolean' },
      lanes: { type: 'string' },
      buckets: { type: 'string' },
      'dashboard-overhead': { type: 'boolean' },
      'room-persistence': { type: 'boolean' },
      viewers: { type: 'string' },
      profile: { type: 'boolean' },
      'no-profile': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const print = (text: string): void => {
    process.stdout.write(`${text}\n`);
  };
  if (values.help) return print(USAGE);
  const docsDir = join(REPO_ROOT, 'docs');
  if (values.render) {
    const stored = JSON.parse(await readFile(values.render, 'utf8')) as BenchResults;
    if (stored.version !== 2)
      throw new Error(
        `${values.render} is a results file of version ${stored.version}, from before the reference was measured; run the benchmark again`,
      );
    // The targets are judged again, so their wording follows the current code.
    const results = { ...stored, targets: evaluateTargets(stored) };
    for (const f of await writeBenchDocs(results, docsDir, relative(REPO_ROOT, resolve(values.render))))
      print(`wrote ${f}`);
    return;
  }
  const number = (name: string, raw: string | undefined, def: number) => {
    const n = raw === undefined ? def : Number(raw);
    if (!Number.isFinite(n) || n < 0)
      throw new Error(`--${name} must be a non-negative number, not "${raw}"\n${USAGE}`);
    return n;
  };
  const quick = values.quick ?? false;
  if (values['dashboard-overhead']) {
    const r = await measureDashboardOverhead({
      durationS: Math.max(1, Math.round(number('duration', values.duration, 5))),
      connections: Math.max(1, Math.round(number('connections', values.connections, 64))),
      viewers: Math.max(1, Math.round(number('viewers', values.viewers, 3))),
      say: print,
    });
    print(
      `admission, dashboard closed: ${r.closed.mean} 202/s (${r.closed.min}–${r.closed.max}); ` +
        `open (${r.viewers} viewers, ${r.frames} frames): ${r.open.mean} 202/s (${r.open.min}–${r.open.max}); ` +
        `difference ${r.differencePercent} %`,
    );
    return;
  }
  if (values['room-persistence']) {
    const r = await measureRoomPersistence({
      durationS: Math.max(1, Math.round(number('duration', values.duration, 5))),
      concurrency: Math.max(1, Math.round(number('connections', values.connections, 32))),
      say: print,
    });
    const { tokens, 'redis-aof': aof, postgres } = r.mean;
    const cost = (x: number) => `${Math.round((1 - x / tokens) * 100)} % fewer`;
    print(
      `arrivals/s at ${r.concurrency} at once: places in the tokens ${tokens}; Redis appendfsync always ${aof} (${cost(aof)}); ` +
        `a Postgres row each ${postgres} (${cost(postgres)})`,
    );
    return;
  }
  const spikeRate = values['spike-rate'] === undefined ? undefined : number('spike-rate', values['spike-rate'], 0);
  const openConnections =
    values['open-connections'] === undefined ? undefined : number('open-connections', values['open-connections'], 0);
  const { results, file } = await runBench({
    durationS: Math.max(1, Math.round(number('duration', values.duration, quick ? 3 : 10))),
    connections: Math.max(1, Math.round(number('connections', values.connections, 64))),
    threads: Math.max(1, Math.round(number('threads', values.threads, 1))),
    rounds: Math.max(2, Math.round(number('rounds', values.rounds, 2))),
    warmupS: Math.round(number('warmup', values.warmup, quick ? 1 : 2)),
    quick,
    ...(spikeRate ? { spikeRate } : {}),
    ...(openConnections ? { openConnections: Math.round(openConnections) } : {}),
    resultsDir: values.results ?? join(REPO_ROOT, 'bench-results'),
    keepData: values['keep-data'] ?? false,
    edgeCache: values['edge-cache'] ?? false,
    lanes: Math.min(64, Math.round(number('lanes', values.lanes, 0))),
    hotBuckets: Math.min(64, Math.max(1, Math.round(number('buckets', values.buckets, 1)))),
    profile: values['no-profile'] ? false : (values.profile ?? !quick),
    onProgress: print,
    // Ctrl-C still stops the lab and removes its queues, keys and events.
    onCleanup: (cleanup) => process.once('SIGINT', () => void cleanup().finally(() => process.exit(130))),
  });
  print(`\n${formatTable(results)}\n\nresults: ${file}`);
  if (values['no-docs'] || (quick && !values.docs)) return;
  for (const f of await writeBenchDocs(results, docsDir, relative(REPO_ROOT, file))) print(`wrote ${f}`);
});
