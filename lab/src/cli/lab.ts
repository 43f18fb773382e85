import { CHAOS_USAGE, runChaosCommand } from '../chaos/chaos-command.js';
import { parseScenario } from '../chaos/scenario-catalog.js';
import { followLogs, formatLogLine, recentLogs } from '../local-lab/component-logs.js';
import { formatStatus, formatUp, USAGE } from '../local-lab/format.js';
import { probeHttp } from '../local-lab/health.js';
import {
  changeLabSettings,
  killComponent,
  restartComponent,
  type SettingChanges,
  startComponent,
  startLab,
  stopComponent,
  stopLab,
} from '../local-lab/lab.js';
import { type ComponentName, parseComponent, resolveLabDir } from '../local-lab/lab-options.js';
import { readRunRecord, requireLogDir } from '../local-lab/lab-state.js';
import { componentRunning } from '../local-lab/processes.js';
import { labIsWell, labStatus } from '../local-lab/status.js';
import { asUsage, parseCommandLine, runCli, UsageError } from './run-cli.js';

const OPTIONS = {
  dir: { type: 'string' },
  port: { type: 'string' },
  'api-base-port': { type: 'string' },
  'worker-port': { type: 'string' },
  workers: { type: 'string' },
  'rate-limit': { type: 'string' },
  'rate-burst': { type: 'string' },
  env: { type: 'string', multiple: true },
  reset: { type: 'boolean' },
  'edge-cache': { type: 'boolean' },
  event: { type: 'string' },
  json: { type: 'boolean' },
  follow: { type: 'boolean', short: 'f' },
  lines: { type: 'string', short: 'n' },
  help: { type: 'boolean', short: 'h' },
  // chaos <scenario>
  private: { type: 'boolean' },
  warmup: { type: 'string' },
  fault: { type: 'string' },
  recovery: { type: 'string' },
  rate: { type: 'string' },
  reads: { type: 'string' },
} as const;
type OptionName = keyof typeof OPTIONS;

/**
 * What each command reads, besides --dir and --help. Any other option is refused rather
 * than ignored: `start nginx --port 9000` must not look as if it had moved nginx.
 */
const COMMANDS = {
  up: ['port', 'api-base-port', 'worker-port', 'workers', 'rate-limit', 'rate-burst', 'edge-cache', 'env', 'reset'],
  down: [],
  status: ['event', 'json'],
  start: ['env', 'rate-limit', 'rate-burst'],
  restart: ['env', 'rate-limit', 'rate-burst'],
  stop: [],
  kill: [],
  logs: ['follow', 'lines'],
  chaos: ['private', 'workers', 'warmup', 'fault', 'recovery', 'rate', 'reads'],
  help: [],
} as const satisfies Record<string, readonly OptionName[]>;
type Command = keyof typeof COMMANDS;

/** Arguments after the command: a component name, a scenario, nothing. */
const ARGUMENTS: Record<Command, 'none' | 'component' | 'optional component' | 'scenario'> = {
  up: 'none',
  down: 'none',
  status: 'none',
  start: 'component',
  restart: 'component',
  stop: 'component',
  kill: 'component',
  logs: 'optional component',
  chaos: 'scenario',
  help: 'none',
};

const print = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

type Values = ReturnType<typeof parseCommandLine<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function int(values: Values, name: OptionName): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`--${name} must be a whole number, not "${String(raw)}"`, USAGE);
  return n;
}

function envPairs(pairs: string[] = []): Record<string, string> {
  return Object.fromEntries(
    pairs.map((p) => {
      const at = p.indexOf('=');
      if (at <= 0) throw new UsageError(`--env takes KEY=VALUE, not "${p}"`, USAGE);
      return [p.slice(0, at), p.slice(at + 1)];
    }),
  );
}

function whyNot(command: Command, option: OptionName): string {
  if (command !== 'up' && (COMMANDS.up as readonly string[]).includes(option)) {
    const hint = option.endsWith('port') ? 'ports are chosen at `up`' : `it is an option of \`up\``;
    return `--${option} does not apply to \`${command}\`: ${hint}`;
  }
  const own = COMMANDS[command].map((o) => `--${o}`).join(', ');
  return `--${option} does not apply to \`${command}\`${own ? ` (its options: ${own}, --dir)` : ''}`;
}

function parseCommand(raw: string | undefined): Command {
  if (raw === undefined) return 'help';
  if (Object.hasOwn(COMMANDS, raw)) return raw as Command;
  throw new UsageError(`unknown command "${raw}"`, USAGE);
}

/** The command line, checked against the command: every option is read, or refused. */
function parse() {
  const { values, positionals } = parseCommandLine({ options: OPTIONS, allowPositionals: true }, USAGE);
  const command = parseCommand(positionals[0]);
  const usage = command === 'chaos' ? CHAOS_USAGE : USAGE;
  const given = (Object.keys(values) as OptionName[]).filter((k) => values[k] !== undefined);
  for (const option of given) {
    if (option !== 'dir' && option !== 'help' && !(COMMANDS[command] as readonly string[]).includes(option))
      throw new UsageError(whyNot(command, option), usage);
  }
  const args = positionals.slice(1);
  const takes = ARGUMENTS[command];
  const max = takes === 'none' ? 0 : 1;
  if (args.length > max) throw new UsageError(`unexpected argument "${args[max]}" after \`${command}\``, usage);
  const component =
    takes === 'component' || (takes === 'optional component' && args[0] !== undefined)
      ? asUsage(() => parseComponent(args[0]), usage)
      : undefined;
  const name = takes === 'scenario' ? args[0] : undefined;
  const scenario = name === undefined ? undefined : asUsage(() => parseScenario(name), usage);
  return { command, values, component, scenario, usage };
}

/**
 * `start`/`restart` with --env or a rate limit: the lab remembers the new settings, and
 * the component starts with them. A `start` of a running component would leave it as it
 * is, so it is refused instead of pretending; the rate limits are nginx's alone.
 */
async function applySettings(dir: string, command: Command, name: ComponentName, values: Values): Promise<void> {
  const changes: SettingChanges = {
    ...(values.env ? { env: envPairs(values.env) } : {}),
    ...(values['rate-limit'] !== undefined ? { rateLimitPerSecond: int(values, 'rate-limit') } : {}),
    ...(values['rate-burst'] !== undefined ? { rateLimitBurst: int(values, 'rate-burst') } : {}),
  };
  if (Object.keys(changes).length === 0) return;
  if (name !== 'nginx' && (changes.rateLimitPerSecond !== undefined || changes.rateLimitBurst !== undefined))
    throw new UsageError(
      `--rate-limit and --rate-burst are nginx's: \`${command} nginx --rate-limit <n>\` applies them`,
      USAGE,
    );
  if (command === 'start' && componentRunning(await readRunRecord(dir, name)))
    throw new UsageError(`${name} is already running; \`restart ${name}\` starts it with the new settings`, USAGE);
  await changeLabSettings(dir, changes);
}

async function up(dir: string, values: Values): Promise<void> {
  // Ctrl-C while starting leaves nothing half-up behind.
  process.once('SIGINT', () => void stopLab(dir).finally(() => process.exit(130)));
  const state = await startLab({
    dir,
    nginxPort: int(values, 'port'),
    apiBasePort: int(values, 'api-base-port'),
    workerPort: int(values, 'worker-port'),
    workers: int(values, 'workers'),
    rateLimitPerSecond: int(values, 'rate-limit'),
    rateLimitBurst: int(values, 'rate-burst'),
    edgeCache: values['edge-cache'] ?? false,
    env: envPairs(values.env),
    resetDemo: values.reset ?? false,
    onProgress: print,
  });
  const rabbitUi = (await probeHttp('http://127.0.0.1:15672/', { accept: (s) => s > 0, timeoutMs: 500 })).ok;
  print(formatUp(dir, state.options.nginxPort, rabbitUi));
}

async function logs(dir: string, component: ComponentName | undefined, values: Values): Promise<void> {
  requireLogDir(dir);
  for (const l of await recentLogs(dir, component, int(values, 'lines') ?? 50)) print(formatLogLine(l));
  if (!values.follow) return;
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  await followLogs(dir, component, (l) => print(formatLogLine(l)), abort.signal);
}

/** `npm run lab -- <command>`: the local lab without Docker (docs/lab.md). */
runCli('lab', async () => {
  const { command, values, component, scenario, usage } = parse();
  const dir = resolveLabDir(values.dir);
  const progress = { onProgress: print };
  if (values.help || command === 'help') return print(usage);
  switch (command) {
    case 'up':
      return up(dir, values);
    case 'down': {
      const stopped = await stopLab(dir);
      return print(stopped.length ? `stopped ${stopped.join(', ')}` : 'nothing was running');
    }
    case 'status': {
      const status = await labStatus(dir, values.event ? { eventId: values.event } : {});
      if (!labIsWell(status)) process.exitCode = 1;
      return print(values.json ? JSON.stringify(status, null, 2) : formatStatus(status));
    }
    case 'start':
      await applySettings(dir, command, component!, values);
      await startComponent(dir, component!, progress);
      return;
    case 'restart':
      await applySettings(dir, command, component!, values);
      await restartComponent(dir, component!, progress);
      return;
    case 'stop':
      await stopComponent(dir, component!);
      return print(`${component} stopped`);
    case 'kill':
      await killComponent(dir, component!);
      return print(`${component} killed (SIGKILL)`);
    case 'logs':
      return logs(dir, component, values);
    case 'chaos': {
      // `chaos` alone is how the scenarios are listed: that is an answer, not an error.
      if (!scenario) return print(CHAOS_USAGE);
      await runChaosCommand(scenario, {
        dir: values.dir,
        private: values.private ?? false,
        workers: int(values, 'workers'),
        print,
        warmupSeconds: int(values, 'warmup'),
        faultSeconds: int(values, 'fault'),
        recoverySeconds: int(values, 'recovery'),
        purchasesPerSecond: int(values, 'rate'),
        readsPerSecond: int(values, 'reads'),
      });
      return;
    }
  }
});
