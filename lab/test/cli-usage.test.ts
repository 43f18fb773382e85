import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveLabOptions } from '../src/local-lab/lab-options.js';
import { createLabState } from '../src/local-lab/lab-state.js';

/** The built commands, as `npm run <name>` runs them (npm test builds before testing). */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function run(cli: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [`lab/dist/cli/${cli}.js`, ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'silent', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'stampede-cli-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('a command line the commands cannot use', () => {
  it.each([
    ['lab', 'status --prot 1', "Unknown option '--prot'"],
    ['lab', 'frobnicate', 'unknown command "frobnicate"'],
    ['lab', 'stop wrker', 'unknown component "wrker"'],
    ['lab', 'chaos nope', 'unknown scenario "nope"'],
    ['logs', '--levle warn', "Unknown option '--levle'"],
    ['logs', 'sumary', 'unknown command "sumary"'],
    ['migrate', '--sed', "Unknown option '--sed'"],
    ['seed', '--rest', "Unknown option '--rest'"],
    ['reconcile', '--evnt all', "Unknown option '--evnt'"],
  ])(
    'when `%s %s` is mistyped, then it says what is wrong in one line, prints the usage, and exits 2',
    (cli, args, what) => {
      const r = run(cli, args.split(' '));
      expect(r.code).toBe(2);
      const [first, ...rest] = r.stderr.split('\n');
      expect(first?.startsWith(`${cli}: `)).toBe(true);
      expect(first).toContain(what);
      expect(rest.join('\n')).toMatch(/usage/i);
      expect(r.stderr).not.toMatch(/\(?(file:\/\/|node:internal)[^\n]*:\d+:\d+\)?/); // no stack frame
    },
  );

  it.each([
    ['status --port 9000', '--port does not apply to `status`'],
    ['start nginx --port 9000', '--port does not apply to `start`: ports are chosen at `up`'],
    ['restart api-1 --reset', '--reset does not apply to `restart`'],
    ['stop worker --env A=1', '--env does not apply to `stop`'],
    ['start worker --rate-limit 100', "--rate-limit and --rate-burst are nginx's"],
    ['down now', 'unexpected argument "now"'],
  ])('when `lab %s` is given an option it would not use, then it is refused with exit 2', (args, what) => {
    const r = run('lab', [...args.split(' '), '--dir', join(tmp, 'no-lab')]);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toContain(what);
  });
});

describe('help and listings', () => {
  it.each([
    ['migrate', 'usage: npm run migrate'],
    ['seed', 'usage: npm run seed'],
    ['logs', 'usage: npm run logs'],
    ['reconcile', 'usage: npm run reconcile'],
  ])('when `%s --help` is run, then it prints its usage and exits 0 without touching anything', (cli, usage) => {
    // An unreachable database: a command that ran instead of printing help would fail.
    const r = run(cli, ['--help'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(usage);
  });

  it('when `lab chaos --help` is run, then it prints the chaos usage, not the general one', () => {
    const r = run('lab', ['chaos', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: npm run lab -- chaos <scenario>');
    expect(r.stdout).toContain('replica-kill');
  });

  it('when `lab chaos` is run without a scenario, then it lists the scenarios and exits 0', () => {
    const r = run('lab', ['chaos']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('worker-kill');
    expect(r.stderr).toBe('');
  });
});

describe('logs of a lab that is not there', () => {
  it.each([
    ['logs', ['--once']],
    ['logs', ['summary']],
    ['lab', ['logs']],
  ])('when `%s %s` is pointed at a missing --dir, then it says so and exits 1', (cli, args) => {
    const missing = join(tmp, 'typo');
    const r = run(cli, [...args, '--dir', missing]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no lab logs in ${missing}`);
    expect(r.stdout).toBe('');
  });
});

describe('lab status of an `up` that never finished', () => {
  it('when nginx was never started, then status says so and exits 1', async () => {
    const dir = join(tmp, 'half-up');
    // The state an `up` killed before it started anything leaves behind (its pid is gone).
    await createLabState({
      version: 1,
      createdAt: new Date().toISOString(),
      startingPid: 2 ** 22 + 1,
      options: resolveLabOptions({ dir, nginxPort: 1, apiBasePort: 2, workerPort: 5 }, {}),
      desired: { 'api-1': 'stopped', 'api-2': 'stopped', 'api-3': 'stopped', worker: 'stopped' },
    });
    const r = run('lab', ['status', '--json', '--dir', dir]);
    expect(r.code).toBe(1);
    const nginx = JSON.parse(r.stdout).components.find((c: { name: string }) => c.name === 'nginx');
    expect(nginx).toMatchObject({ condition: 'never-started', label: 'never started (`up` did not finish)' });
  });
});

describe('.env', () => {
  it('when a .env is in the working directory, then the commands read it, and the environment wins over it', async () => {
    const cwd = join(tmp, 'with-env');
    await mkdir(cwd, { recursive: true });
    await writeFile(join(cwd, '.env'), 'DATABASE_URL=postgres://nobody@127.0.0.1:1/from-dotenv\nLOG_LEVEL=silent\n');
    const seed = (env: NodeJS.ProcessEnv) =>
      spawnSync(process.execPath, [join(ROOT, 'lab/dist/cli/seed.js')], {
        cwd,
        env: { PATH: process.env.PATH, ...env },
        encoding: 'utf8',
        timeout: 30_000,
      });
    const fromFile = seed({});
    expect(fromFile.status).toBe(1);
    expect(fromFile.stderr).toMatch(/ECONNREFUSED|connect/);
    const overridden = seed({ DATABASE_URL: 'not a url' });
    expect(overridden.status).toBe(1);
    expect(overridden.stderr).toContain('DATABASE_URL');
    expect(await readFile(join(cwd, '.env'), 'utf8')).toContain('from-dotenv');
  });
});
