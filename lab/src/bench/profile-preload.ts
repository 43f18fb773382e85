import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

/**
 * Preloaded into an API replica with `NODE_OPTIONS=--import=<this file>` by the benchmark
 * (`--cpu-prof` itself is not allowed in NODE_OPTIONS): profiles the process from the
 * moment it gets SIGUSR2 (after the warm-up, so boot and module loading stay out) to its
 * exit, through the in-process inspector, and writes `<pid>.cpuprofile` into
 * STAMPEDE_CPU_PROFILE_DIR. Other processes that inherit the variable (the lab's
 * watcher) are left alone.
 */
const dir = process.env.STAMPEDE_CPU_PROFILE_DIR;
if (dir && /(api[\\/]dist[\\/]main|bench[\\/]reference[\\/]reference-main)\.js$/.test(process.argv[1] ?? '')) {
  const session = new Session();
  session.connect();
  let started = false;
  process.on('SIGUSR2', () => {
    if (started) return;
    started = true;
    session.post('Profiler.enable');
    session.post('Profiler.start');
  });
  // The in-process session answers synchronously, so this works inside 'exit'.
  process.on('exit', () => {
    if (!started) return;
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
