import type { Logger } from '../logger.js';

export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown> | unknown;
}

/**
 * Ordered, idempotent shutdown: the steps run one after the other in the order given
 * (stop intake → drain in-flight → close clients), each failure logged and skipped,
 * and a forced-exit timer ends the process if they take longer than `timeoutMs`.
 * Calling the returned function again returns the same promise.
 */
export function createShutdown(
  log: Logger,
  steps: ShutdownStep[],
  options: { timeoutMs: number; exit?: (code: number) => void },
) {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let running: Promise<void> | undefined;
  return function shutdown(reason: string): Promise<void> {
    if (running) return running;
    log.info({ event: 'shutdown.start', reason }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ event: 'shutdown.forced', timeoutMs: options.timeoutMs }, 'shutdown took too long, forcing exit');
      exit(1);
    }, options.timeoutMs);
    timer.unref();
    running = (async () => {
      for (const step of steps) {
        try {
          await step.run();
        } catch (err) {
          log.warn({ event: 'shutdown.step_failed', step: step.name, err }, 'shutdown step failed');
        }
      }
      clearTimeout(timer);
      log.info({ event: 'shutdown.done', reason }, 'shutdown complete');
    })();
    return running;
  };
}

/** Runs `shutdown` on SIGTERM and SIGINT, then exits 0. */
export function onTerminationSignals(
  shutdown: (reason: string) => Promise<void>,
  exit: (code: number) => void = (c) => process.exit(c),
): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => void shutdown(signal).then(() => exit(0)));
  }
}
