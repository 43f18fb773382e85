import type { Server } from 'node:http';

/** What every component of a process has, whatever it wraps: one way to let go of it. */
export interface Closeable {
  /** Releases what the component holds. Idempotent: a second call gets the first call's promise. */
  close(): Promise<void>;
}

/**
 * Makes a close idempotent, as bullmq's is: the first call runs it, every later call
 * (a second signal, a crash during shutdown, a test's cleanup after the code's own)
 * gets the same promise instead of closing twice.
 */
export function closeOnce(close: () => Promise<unknown> | unknown): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= Promise.resolve()
      .then(close)
      .then(() => undefined);
    return closing;
  };
}

/**
 * The close of a Node HTTP server: stops accepting, resolves once the requests in flight
 * are answered (idle keep-alive connections are dropped by Node itself). A server that
 * never listened counts as closed.
 */
export function closeServer(server: Server): () => Promise<void> {
  return closeOnce(
    () =>
      new Promise<void>((resolve, reject) =>
        server.close((err?: NodeJS.ErrnoException) =>
          err && err.code !== 'ERR_SERVER_NOT_RUNNING' ? reject(err) : resolve(),
        ),
      ),
  );
}
