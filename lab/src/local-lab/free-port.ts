import { createServer } from 'node:net';
import { portIsFree } from './processes.js';

/** A TCP port nobody listens on right now, chosen by the kernel. */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** The first of `count` consecutive free ports (api-1..3 take three in a row). */
export async function freePortRun(count: number): Promise<number> {
  for (;;) {
    const first = await freeTcpPort();
    if (first + count > 65_535) continue;
    let free = true;
    for (let i = 1; i < count && free; i += 1) free = await portIsFree(first + i);
    if (free) return first;
  }
}
