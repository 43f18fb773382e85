import type { Logger } from '../logger.js';

/** One step of the runbook: a name for the logs and what to do. */
export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown> | unknown;
}

export interface ProcessLifecycle {
  /** The runbook: the steps, in the order they run (stop intake → drain in-flight → close clients). */
  closeWith(steps: ShutdownStep[]): void;
  /** Runs the runbook once, then exits with `code`; a later call gets the same promise. */
  shutdown(reason: string, code?: number): Promise<void>;
}

export interface LifecycleOptions {
  /** The forced exit: the process ends with code 1 if the steps take longer than this. */
  timeoutMs: number;
  exit?: (code: number) => void;
}

/**
 * The process's one way out, modelled on close-with-grace. Every reason to stop takes
 * the same path:
 *
 * 1. SIGTERM or SIGINT → the runbook, then exit 0. A second signal exits 1 at once.
 * 2. An uncaught exception or unhandled rejection → logged as fatal (as a JSON line the
 *    logs tool reads, where Node would print a stack), the runbook, then exit 1. A crash
 *    while the runbook runs makes the exit code 1; the steps carry on.
 * 3. Whatever the reason, a forced-exit timer ends the process with code 1 when the
 *    steps take longer than `timeoutMs` (a step hung on a dead server).
 *
 * Each step runs after the one before it has finished; a failed step is logged and
 * the next one runs. Installed first thing in main, so a crash during boot is guarded
 * too (with no steps yet, it just exits 1).
 */
export function handleProcessLifecycle(log: Logger, options: LifecycleOptions): ProcessLifecycle {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let steps: ShutdownStep[] = [];
  let running: Promise<void> | undefined;
  let exitCode = 0;

  async function runSteps(): Promise<void> {
    for (const step of steps) {
      try {
        await step.run();
      } catch (err) {
        log.warn({ event: 'shutdown.step_failed', step: step.name, err }, 'shutdown step failed');
      }
    }
  }

  function shutdown(reason: string, code = 0): Promise<void> {
    exitCode = Math.max(exitCode, code);
    process.exitCode = exitCode;
    if (running) return running;
    log.info({ event: 'shutdown.start', reason }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ event: 'shutdown.forced', timeoutMs: options.timeoutMs }, 'shutdown took too long, forcing exit');
      exit(1);
    }, options.timeoutMs);
    timer.unref();
    running = runSteps().then(() => {
      clearTimeout(timer);
      log.info({ event: 'shutdown.done', reason }, 'shutdown complete');
      exit(exitCode);
    });
    return running;
  }

  function onSignal(signal: NodeJS.Signals): void {
    if (running) {
      log.error({ event: 'shutdown.second_signal', signal }, `second ${signal} while shutting down, exiting`);
      exit(1);
      return;
    }
    void shutdown(signal, 0);
  }

  function onCrash(err: unknown, origin: string): void {
    log.fatal({ event: 'process.crashed', origin, err }, `${origin}, shutting down`);
    void shutdown(origin, 1);
  }

  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('uncaughtException', (err) => onCrash(err, 'uncaughtException'));
  process.on('unhandledRejection', (reason) => onCrash(reason, 'unhandledRejection'));

  return {
    closeWith(list) {
      steps = list;
    },
    shutdown,
  };
}
