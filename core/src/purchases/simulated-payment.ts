import type { Config } from '../config.js';
import type { Payment } from './plan-batch.js';

/**
 * The lab's stand-in for a payment provider: waits PAYMENT_LATENCY_MS, then fails with
 * probability PAYMENT_FAILURE_RATE. Undefined when both are 0 (the default), so the
 * decision skips the step entirely instead of awaiting a no-op per purchase.
 */
export function simulatedPayment(
  config: Pick<Config, 'PAYMENT_LATENCY_MS' | 'PAYMENT_FAILURE_RATE'>,
  random: () => number = Math.random,
): Payment | undefined {
  const latency = config.PAYMENT_LATENCY_MS;
  const failureRate = config.PAYMENT_FAILURE_RATE;
  if (latency === 0 && failureRate === 0) return undefined;
  return async () => {
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    return random() >= failureRate;
  };
}
