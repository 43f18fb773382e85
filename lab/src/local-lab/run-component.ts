import { spawn } from 'node:child_process';
import type { ComponentName } from './lab-options.js';
import { labPaths, type RunRecord, writeJsonAtomic } from './lab-state.js';

/**
 * The watcher of one lab component: `node run-component.js <dir> <name> <command> [args…]`.
 * It starts the component in a process group of its own (so a signal reaches nginx's
 * workers too), writes the pids to `<dir>/run/<name>.json`, and when the component
 * exits, for whatever reason, writes the exit code or signal there. That record is how
 * `lab status` tells a component that died on its own from one that was stopped,
 * without a supervisor that must itself stay alive. Its stdout is the component's log.
 */
const [dir, name, command, ...args] = process.argv.slice(2) as [string, ComponentName, string, ...string[]];
const path = labPaths(dir).run(name);
const record: RunRecord = { component: name, watcherPid: process.pid, startedAt: new Date().toISOString() };

/** One JSON line in the component's log, in the shape of the services' pino lines. */
const note = (level: string, event: string, fields: Record<string, unknown>, msg: string) =>
  process.stdout.write(
    `${JSON.stringify({ level, time: new Date().toISOString(), component: 'lab', instance: name, event, ...fields, msg })}\n`,
  );

// Writes are chained: the exit record must never be overwritten by the start record.
let saving: Promise<void> = Promise.resolve();
const save = () => (saving = saving.then(() => writeJsonAtomic(path, { ...record })));

const child = spawn(command, args, { stdio: 'inherit', detached: true });
let exited = false;

const finish = async (code: number | null, signal: string | null, error?: string) => {
  if (exited) return;
  exited = true;
  record.exit = { code, signal, at: new Date().toISOString(), ...(error ? { error } : {}) };
  await save();
  note(
    code === 0 ? 'info' : 'warn',
    'lab.component_exited',
    { code, signal, error },
    `${name} exited (${signal ?? `code ${code}`})`,
  );
  process.exit(0);
};

child.on('error', (err) => void finish(127, null, err.message));
child.on('exit', (code, signal) => void finish(code, signal));

// A signal sent to the watcher (Ctrl-C in the terminal that ran `up`, a stray kill)
// is passed on to the component's group; the watcher itself stays to record the exit.
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (child.pid) {
      try {
        process.kill(-child.pid, signal === 'SIGHUP' ? 'SIGTERM' : signal);
      } catch {
        /* already gone */
      }
    }
  });
}

if (child.pid) {
  record.pid = child.pid;
  await save();
  note(
    'info',
    'lab.component_started',
    { pid: child.pid, command: [command, ...args].join(' ') },
    `${name} started (pid ${child.pid})`,
  );
}
