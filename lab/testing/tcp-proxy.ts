import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePort } from './processes.js';

/**
 * A TCP proxy in front of a real server, so a test can make that server unreachable
 * (cut: every connection reset, new ones refused) or slow (delay per chunk) and then
 * heal it, without stopping the shared service other tests use.
 */
export interface TcpProxy {
  port: number;
  cut(): Promise<void>;
  heal(): Promise<void>;
  setDelay(ms: number): void;
  /**
   * Every connection open now, and every new one until `heal`, silently swallows what is
   * sent, forever: a query on it neither answers nor fails (a hung connection). New
   * connections after `heal` work again.
   */
  blackhole(): void;
  close(): Promise<void>;
}

/** Sees every chunk relayed: the connection's number (from 1, in accept order) and its direction. */
export type ProxyTap = (connection: number, fromClient: boolean, chunk: Buffer) => void;

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1', tap?: ProxyTap): Promise<TcpProxy> {
  const port = await freePort();
  let accepted = 0;
  const sockets = new Set<Socket>();
  let delayMs = 0;
  let server: Server | undefined;
  const hung = new WeakSet<Socket>();
  let swallowNew = false;

  const relay = (from: Socket, to: Socket, connection: number, fromClient: boolean) =>
    from.on('data', (chunk: Buffer) => {
      if (hung.has(from)) return;
      tap?.(connection, fromClient, chunk);
      if (delayMs > 0) setTimeout(() => to.write(chunk), delayMs);
      else to.write(chunk);
    });

  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(targetPort, targetHost);
        sockets.add(client).add(upstream);
        if (swallowNew) hung.add(client).add(upstream);
        accepted += 1;
        relay(client, upstream, accepted, true);
        relay(upstream, client, accepted, false);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
      });
      server.listen(port, '127.0.0.1', resolve);
    });

  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.resetAndDestroy();
      sockets.clear();
      if (!server) return resolve();
      server.close(() => resolve());
      server = undefined;
    });

  await listen();
  return {
    port,
    cut: stop,
    heal: async () => {
      swallowNew = false;
      if (!server) await listen();
    },
    blackhole: () => {
      swallowNew = true;
      for (const s of sockets) hung.add(s);
    },
    setDelay: (ms) => {
      delayMs = ms;
    },
    close: stop,
  };
}
