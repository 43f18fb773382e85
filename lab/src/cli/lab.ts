import { parseArgs } from 'node:util';
import { runChaosCommand } from '../chaos/chaos-command.js';
import { followLogs, formatLogLine, recentLogs } from '../local-lab/component-logs.js';
import { formatStatus, formatUp, USAGE } from '../local-lab/format.js';
import { probeHttp } from '../local-lab/health.js';
import { killComponent, restartComponent, startComponent, startLab, stopComponent, stopLab } from '../local-lab/lab.js';
import { parseComponent, resolveLabDir } from '../local-lab/lab-options.js';
import { labIsWell, labStatus } from '../local-lab/status.js';
import { runCli } from './run-cli.js';

/** `npm run lab -- <command>`: the local lab without Docker (docs/lab.md). */
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    dir: { type: 'string' },
    port: { type: 'string' },
    'api-base-port': { type: 'string' },
    'worker-port': { type: 'string' },
    'rate-limit': { type: 'string' },
    'rate-burst': { type: 'string' },
    env: { type: 'string', multiple: true },
    reset: { type: 'boolean' },
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
  },
});

const print = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

function int(name: string): number | undefined {
  const raw = values[name as keyof typeof values];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, not "${String(raw)}"`);
  return n;
}

function envPairs(pairs: string[] = []): Record<string, string> {
  return Object.fromEntries(
    pairs.map((p) => {
      const at = p.indexOf('=');
      if (at <= 0) throw new Error(`--env takes KEY=VALUE, not "${p}"`);
      return [p.slice(0, at), p.slice(at + 1)];
    }),
  );
}

async function up(dir: string): Promise<void> {
  // Ctrl-C while starting leaves nothing half-up behind.
  process.once('SIGINT', () => void stopLab(dir).finally(() => process.exit(130)));
  const state = await startLab({
    dir,
    nginxPort: int('port'),
    apiBasePort: int('api-base-port'),
    workerPort: int('worker-port'),
    rateLimitPerSecond: int('rate-limit'),
    rateLimitBurst: int('rate-burst'),
    env: envPairs(values.env),
    resetDemo: values.reset ?? false,
    onProgress: print,
  });
  const rabbitUi = (await probeHttp('http://127.0.0.1:15672/', { accept: (s) => s > 0, timeoutMs: 500 })).ok;
  print(formatUp(dir, state.options.nginxPort, rabbitUi));
}

async function logs(dir: string, name: string | undefined): Promise<void> {
  const component = name ? parseComponent(name) : undefined;
  for (const l of await recentLogs(dir, component, int('lines') ?? 50)) print(formatLogLine(l));
  if (!values.follow) return;
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  await followLogs(dir, component, (l) => print(formatLogLine(l)), abort.signal);
}

runCli('lab', async () => {
  const [command, name] = positionals;
  const dir = resolveLabDir(values.dir);
  const progress = { onProgress: print };
  switch (values.help ? 'help' : command) {
    case 'up':
      return up(dir);
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
      await startComponent(dir, parseComponent(name), progress);
      return;
    case 'restart':
      await restartComponent(dir, parseComponent(name), progress);
      return;
    case 'stop':
      await stopComponent(dir, parseComponent(name));
      return print(`${name} stopped`);
    case 'kill':
      await killComponent(dir, parseComponent(name));
      return print(`${name} killed (SIGKILL)`);
    case 'logs':
      return logs(dir, name);
    case 'chaos': {
      await runChaosCommand(name, {
        dir: values.dir,
        private: values.private ?? false,
        print,
        warmupSeconds: int('warmup'),
        faultSeconds: int('fault'),
        recoverySeconds: int('recovery'),
        purchasesPerSecond: int('rate'),
        readsPerSecond: int('reads'),
      });
      return;
    }
    case 'help':
    case undefined:
      return print(USAGE);
    default:
      throw new Error(`unknown command "${command}"\n\n${USAGE}`);
  }
});
