/**
 * Rejects with a transient ETIMEDOUT error when `work` has not settled in `ms`.
 * postgres.js 3.4.9 can leave a query pending forever when the server restarts under it
 * (a query sent while the server is still starting up, or queued on a reserved connection
 * that closed): no error, no statement timeout, because the server never saw it. Without
 * a deadline such a batch would never finish and the worker would drain nothing. Giving
 * up is safe: a retried batch finds anything that did commit by its idempotency keys.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  // If the deadline wins, a later failure of `work` must not become an unhandled rejection.
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error(`${what}: no answer from postgres within ${ms} ms`), { code: 'ETIMEDOUT' })),
      ms,
    );
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
