import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../src/local-lab/lab-options.js';
import { waitFor } from './fixtures.js';

export { REPO_ROOT };

/** A pino line: every one has its event name (most) and its time. */
export type LogLine = Record<string, unknown> & { event?: string; time: string };

/** A Node process of a test's own whose stdout is pino's JSON lines. */
export interface NodeProcess {
  /** Every JSON line written to stdout so far. */
  logs: LogLine[];
  stderr(): string;
  /** Resolves with the exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  /** The first line that matches; fails at once when the process has exited. */
  waitForLog(match: (l: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  /** Sends a signal (if it still runs) and resolves with the exit code. */
  kill(signal: NodeJS.Signals): Promise<number | null>;
  /** Sends a signal and returns at once. */
  signal(signal: NodeJS.Signals): void;
}

/** Starts `node <args>` from the repository's root, SIGKILLed if the test process exits first. */
export function startNodeProcess(args: string[], env: NodeJS.ProcessEnv = { PATH: process.env.PATH }): NodeProcess {
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('{')) logs.push(JSON.parse(line) as LogLine);
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    logs,
    stderr: () => stderr,
    exited,
    waitForLog: (match, what, timeoutMs = 20_000) =>
      waitFor(
        () => {
          const line = logs.find(match);
          if (!line && !running()) throw new Error(`process exited ${child.exitCode}: ${stderr}`);
          return line;
        },
        { timeoutMs, what },
      ),
    signal(signal) {
      if (running()) child.kill(signal);
    },
    async kill(signal) {
      if (running()) child.kill(signal);
      return exited;
    },
  };
}

/**
 * Runs `source` as an ES module in a process of its own. The file is written under the
 * repository (`dir`, relative to its root), so `@stampede/core/...` and the
 * dependencies resolve as in the services (core's dist: build it first); it is removed
 * once the process has exited.
 */
export function runNodeScript(source: string, options: { dir: string; name: string; env?: NodeJS.ProcessEnv }) {
  const file = join(REPO_ROOT, options.dir, `${options.name}-${process.pid}-${Date.now()}.mjs`);
  writeFileSync(file, source);
  const proc = startNodeProcess([file], options.env);
  void proc.exited.finally(() => rmSync(file, { force: true }));
  return proc;
}
