import { readFileSync } from 'node:fs';
import { portIsFree } from './processes.js';

/**
 * Where ports are chosen: just below the kernel's ephemeral range. A port from that range
 * (what listen(0) hands out) can be taken by any outgoing connection between the check and
 * the child's own listen, which a loaded machine makes often (a replica then exits with
 * EADDRINUSE); below it the kernel never assigns one by itself.
 */
function chosenRange(): { from: number; to: number } {
  let ephemeralFrom = 32_768;
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(first) && first > 2_048) ephemeralFrom = first;
  } catch {
    // not Linux: the IANA default range starts higher still
  }
  return { from: Math.max(1_024, ephemeralFrom - 12_000), to: ephemeralFrom };
}

const RANGE = chosenRange();

/** A TCP port nobody listens on right now, outside the range the kernel assigns. */
export async function freeTcpPort(): Promise<number> {
  for (;;) {
    const port = RANGE.from + Math.floor(Math.random() * (RANGE.to - RANGE.from));
    if (await portIsFree(port)) return port;
  }
}

/** The first of `count` consecutive free ports (api-1..3 take three in a row). */
export async function freePortRun(count: number): Promise<number> {
  for (;;) {
    const first = await freeTcpPort();
    if (first + count > RANGE.to) continue;
    let free = true;
    for (let i = 1; i < count && free; i += 1) free = await portIsFree(first + i);
    if (free) return first;
  }
}
