import type { BackplanePublisher } from '@stampede/core/backplane';
import { type Closeable, closeOnce } from '@stampede/core/lifecycle';

/**
 * Says on the backplane, each interval, how many deliveries the worker holds
 * unacknowledged: the broker's passive queue check counts only the ready ones, and the
 * dashboard shows both. One small message a second; its absence is how a replica sees
 * the worker gone.
 */
export function startWorkerStatus(deps: {
  backplane: BackplanePublisher;
  unacked: () => number;
  intervalMs: number;
}): Closeable {
  const say = () => void deps.backplane.publish({ kind: 'worker_status', unacked: deps.unacked() });
  const timer = setInterval(say, deps.intervalMs);
  timer.unref();
  say();
  return { close: closeOnce(() => clearInterval(timer)) };
}
