import { readLabState } from '../local-lab/lab-state.js';
import { field, type LogEntry } from './log-entry.js';

/** How many request ids each side remembers while waiting for the other side's line. */
const PENDING_LIMIT = 20_000;

/**
 * A bounded memory of recent request ids: two generations, the older dropped whole when
 * the newer is full (deleting a Map's oldest keys one by one gets slow in V8).
 */
class RecentIds {
  private current = new Map<string, string>();
  private previous = new Map<string, string>();

  get(key: string): string | undefined {
    return this.current.get(key) ?? this.previous.get(key);
  }

  set(key: string, value: string): void {
    if (this.current.size >= PENDING_LIMIT) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(key, value);
  }
}

/**
 * Names nginx's upstream addresses. The local lab's state knows its ports
 * (127.0.0.1:3001 → api-1), and so does each replica's `api.listening` line; elsewhere
 * (Docker: 172.18.0.5:3000) the name is learned from lines that share a request id: nginx's access line says which address served it,
 * the API's line for the same request says which instance it was.
 */
export class ReplicaNames {
  private readonly known = new Map<string, string>();
  private readonly nginxByRequest = new RecentIds();
  private readonly apiByRequest = new RecentIds();
  /** Port → instances that said they listen on it (`api.listening`); used when only one did. */
  private readonly byPort = new Map<string, Set<string>>();

  /** Takes the port → replica map of a local lab in `labDir`, when there is one. */
  async loadLab(labDir: string): Promise<void> {
    const state = await readLabState(labDir).catch(() => undefined);
    for (const [name, port] of Object.entries(state?.options.apiPorts ?? {})) {
      for (const host of ['127.0.0.1', 'localhost', '[::1]']) this.known.set(`${host}:${port}`, name);
    }
  }

  /** Learns from a line: an access line's address or an API line's instance, by request id. */
  observe(e: LogEntry, upstream?: string): void {
    const port = e.json?.port;
    const listening = field(e, 'instance');
    if (e.event === 'api.listening' && listening && typeof port === 'number') {
      const names = this.byPort.get(String(port)) ?? new Set<string>();
      this.byPort.set(String(port), names.add(listening));
    }
    const requestId = field(e, 'requestId');
    if (!requestId) return;
    if (upstream !== undefined) {
      const name = this.apiByRequest.get(requestId);
      if (name) this.learn(upstream, name);
      else this.nginxByRequest.set(requestId, upstream);
      return;
    }
    const instance = field(e, 'instance');
    if (e.component !== 'api' || !instance) return;
    const address = this.nginxByRequest.get(requestId);
    if (address) this.learn(address, instance);
    else this.apiByRequest.set(requestId, instance);
  }

  private learn(address: string, name: string): void {
    if (!this.known.has(address)) this.known.set(address, name);
  }

  /** The replica's name, or undefined when nothing told it. */
  nameOf(address: string): string | undefined {
    const known = this.known.get(address);
    if (known) return known;
    // In Docker every replica listens on 3000: a port names a replica only when just one said it.
    const names = this.byPort.get(address.slice(address.lastIndexOf(':') + 1));
    return names?.size === 1 ? [...names][0] : undefined;
  }
}
