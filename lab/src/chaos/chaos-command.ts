import { relative } from 'node:path';
import { DEFAULT_RATE_LIMIT_PER_SECOND } from '../local-lab/nginx-config.js';
import { type RunOptions, runScenario } from './run-scenario.js';
import { SCENARIOS } from './scenario-catalog.js';
import { attachLab, type ServiceName, startScenarioLab } from './scenario-lab.js';
import type { Scenario, ScenarioResult } from './scenario-types.js';
import { formatVerdict } from './verdict.js';

export interface ChaosCommandOptions {
  /** The lab to attach to (shared mode), or where the private lab keeps its logs. */
  dir?: string;
  /** Run in a lab of its own with private servers instead of the running lab. */
  private: boolean;
  /** Workers of the private lab (a running lab has those of its own `up --workers`). */
  workers?: number;
  warmupSeconds?: number;
  faultSeconds?: number;
  recoverySeconds?: number;
  purchasesPerSecond?: number;
  readsPerSecond?: number;
  print: (line: string) => void;
}

/** The scenario names' column: the longest name and two spaces. */
const NAME_WIDTH = Math.max(...Object.keys(SCENARIOS).map((n) => n.length)) + 2;

export const CHAOS_USAGE = `Usage: npm run lab -- chaos <scenario> [--private [--workers n]] [--dir <path>] [--warmup s] [--fault s] [--recovery s] [--rate n/s] [--reads n/s]

Scenarios
${Object.values(SCENARIOS)
  .map((s) => `  ${s.name.padEnd(NAME_WIDTH)}${s.summary}`)
  .join('\n')}

Without --private the scenario runs against the lab in --dir (default .lab), which must be up;
faults on Redis, Postgres and RabbitMQ then go through the chaos API of the replicas (start the
lab with --env CHAOS_ENABLED=true --env ADMIN_TOKEN=<token>), because the servers are shared.
With --private it starts a lab of its own (default dir .lab/chaos, free ports, its own prefixes)
with a private redis-server, and for db-outage / broker-restart a private Postgres cluster /
RabbitMQ node, for broker-node-kill a private three-node RabbitMQ cluster, for redis-master-kill
a private Redis Cluster (3 masters, 1 replica each) instead of the redis-server, and the fault
stops the real process; --workers n runs n workers in it (a fault on \`worker\` then hits all
of them, worker-kill-one one of them). See docs/chaos.md.`;

const ms = (s: number | undefined) => (s === undefined ? undefined : s * 1_000);

/**
 * `npm run lab -- chaos <scenario>`: runs it, prints progress every second and the
 * verdict, and throws when the verdict is FAIL (so the command exits 1). Ctrl-C repairs
 * the fault and tears a private lab down before leaving.
 */
export async function runChaosCommand(scenario: Scenario, o: ChaosCommandOptions): Promise<ScenarioResult> {
  const abort = new AbortController();
  const onSigint = () => {
    o.print('interrupted: repairing the fault and stopping');
    abort.abort();
  };
  process.once('SIGINT', onSigint);
  const run: RunOptions = {
    warmupMs: ms(o.warmupSeconds),
    faultMs: ms(o.faultSeconds),
    recoveryMs: ms(o.recoverySeconds),
    purchasesPerSecond: o.purchasesPerSecond,
    readsPerSecond: o.readsPerSecond,
    onLine: o.print,
    signal: abort.signal,
  };
  for (const k of Object.keys(run) as (keyof RunOptions)[]) if (run[k] === undefined) delete run[k];
  if (o.workers !== undefined && !o.private)
    throw new Error('--workers applies to --private; a running lab has the workers of its `up --workers <n>`');
  try {
    let result: ScenarioResult;
    if (o.private) {
      // A private redis-server unless the scenario brings a Redis Cluster instead.
      const redis: ServiceName[] = scenario.service === 'redis-cluster' ? [] : ['redis'];
      const services: ServiceName[] = [
        ...new Set<ServiceName>([...redis, ...(scenario.service ? [scenario.service] : [])]),
      ];
      const dir = o.dir ?? '.lab/chaos';
      o.print(
        `starting a private lab in ${dir} (private ${services.join(', ')}); follow it with: npm run lab -- logs -f --dir ${dir}`,
      );
      const lab = await startScenarioLab({
        services,
        dir,
        env: scenario.labEnv ?? {},
        workers: o.workers ?? scenario.workers,
        onProgress: o.print,
      });
      try {
        result = await runScenario(scenario, lab.target, run);
      } finally {
        o.print('stopping the private lab');
        await lab.close();
      }
    } else {
      const target = await attachLab(o.dir);
      // The edge limits purchases per address: stay under it, or the run measures nginx's 429s.
      const limit = target.state.options.rateLimitPerSecond ?? DEFAULT_RATE_LIMIT_PER_SECOND;
      const wanted = run.purchasesPerSecond ?? 50;
      if (wanted > limit * 0.8) {
        run.purchasesPerSecond = Math.max(1, Math.floor(limit * 0.8));
        o.print(
          `purchases at ${run.purchasesPerSecond}/s: the lab's nginx allows ${limit}/s per address (start it with --rate-limit to go faster, or use --private)`,
        );
      }
      o.print(
        `attached to the lab in ${relative(process.cwd(), target.dir) || '.'} (${target.base}); follow it with: npm run lab -- logs -f`,
      );
      result = await runScenario(scenario, target, run);
    }
    o.print(formatVerdict(result));
    if (!result.pass) throw new Error(`chaos ${scenario.name}: VERDICT FAIL`);
    return result;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
