/**
 * Coalesces concurrent calls with the same key into one: while a load for a key is in
 * flight, every caller gets the same promise. This is the stampede protection: on a
 * cold key a replica sends one query, however many requests are waiting for it.
 */
export function createSingleFlight<T>() {
  const inFlight = new Map<string, Promise<T>>();
  return {
    run(key: string, load: () => Promise<T>): Promise<T> {
      const pending = inFlight.get(key);
      if (pending) return pending;
      const started = load().finally(() => inFlight.delete(key));
      inFlight.set(key, started);
      return started;
    },
    get size() {
      return inFlight.size;
    },
  };
}
