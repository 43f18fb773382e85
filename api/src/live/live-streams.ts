import type { Context } from 'hono';
import { type SSEStreamingApi, streamSSE } from 'hono/streaming';

/** One open server-sent-events stream, as its handler sees it. */
export interface LiveSession {
  stream: SSEStreamingApi;
  /** Resolves when the stream must end: the client left, the replica is stopping, or it was open too long. */
  ended: Promise<void>;
  isEnded(): boolean;
}

export interface LiveStreams {
  /** Answers with an event stream and runs `body` until it returns or the session ends. */
  open(c: Context, body: (session: LiveSession) => Promise<void>): Response;
  /** Streams open now. */
  count(): number;
}

export interface LiveStreamOptions {
  isShuttingDown: () => boolean;
  /** A comment line this often keeps nginx and other proxies from timing the stream out. */
  heartbeatMs?: number;
  /** A stream is ended after this long; an EventSource reconnects, possibly to another replica. */
  maxMs?: number;
}

/**
 * Every event stream of a replica, kept by one 1 s ticker (not a timer per stream):
 * heartbeats, the longest life of a stream, and the end of them all once the replica is
 * shutting down, so its HTTP server can close.
 */
export function createLiveStreams(options: LiveStreamOptions): LiveStreams {
  const heartbeatMs = options.heartbeatMs ?? 10_000;
  const maxMs = options.maxMs ?? 5 * 60_000;
  const open = new Set<{ session: LiveSession; end: () => void; openedAt: number; beatAt: number }>();
  let ticker: NodeJS.Timeout | undefined;

  function tick(): void {
    const now = Date.now();
    const stopping = options.isShuttingDown();
    for (const s of open) {
      if (stopping || now - s.openedAt >= maxMs) s.end();
      else if (now - s.beatAt >= heartbeatMs) {
        s.beatAt = now;
        s.session.stream.write(': keep-alive\n\n').catch(s.end);
      }
    }
  }

  return {
    open(c, body) {
      // nginx (and other proxies honouring it) passes each event on at once instead of buffering.
      c.header('X-Accel-Buffering', 'no');
      return streamSSE(c, async (stream) => {
        let end = () => {};
        const ended = new Promise<void>((resolve) => {
          end = resolve;
        });
        let isEnded = false;
        const entry = {
          session: { stream, ended, isEnded: () => isEnded },
          end: () => {
            isEnded = true;
            end();
          },
          openedAt: Date.now(),
          beatAt: Date.now(),
        };
        stream.onAbort(entry.end);
        open.add(entry);
        if (!ticker) {
          ticker = setInterval(tick, 1_000);
          ticker.unref();
        }
        try {
          await body(entry.session);
        } finally {
          entry.end();
          open.delete(entry);
          if (open.size === 0 && ticker) {
            clearInterval(ticker);
            ticker = undefined;
          }
        }
      });
    },
    count: () => open.size,
  };
}

/** Resolves after `ms`, or at once when `ended` resolves first. */
export function pause(ms: number, ...wake: Promise<unknown>[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
    ...wake.map((p) => p.then(() => undefined)),
  ]).finally(() => clearTimeout(timer));
}
