import { request } from 'node:http';

export interface Probe {
  ok: boolean;
  status?: number;
  error?: string;
}

/**
 * One GET with a short timeout. `ok` means the answer came and `accept` likes its
 * status; a refused connection or a timeout is an error, never an exception.
 */
export function probeHttp(
  url: string,
  options: { timeoutMs?: number; accept?: (status: number) => boolean } = {},
): Promise<Probe> {
  const accept = options.accept ?? ((s) => s === 200);
  return new Promise((resolve) => {
    const req = request(
      url,
      { method: 'GET', timeout: options.timeoutMs ?? 1_000, headers: { connection: 'close' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ ok: accept(res.statusCode ?? 0), status: res.statusCode }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ ok: false, error: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.end();
  });
}

/**
 * Polls a probe until it is ok. Stops early, with the reason, when `gone()` says the
 * process has exited: there is no point waiting the full timeout for a dead process.
 */
export async function waitHealthy(
  probe: () => Promise<Probe>,
  options: { timeoutMs: number; gone: () => Promise<string | undefined> },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let last: Probe = { ok: false, error: 'not probed' };
  for (;;) {
    last = await probe();
    if (last.ok) return;
    const gone = await options.gone();
    if (gone) throw new Error(gone);
    if (Date.now() > deadline)
      throw new Error(`not healthy after ${options.timeoutMs} ms (${last.error ?? `HTTP ${last.status}`})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
