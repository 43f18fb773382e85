import { API_REPLICAS } from '../local-lab/lab-options.js';
import type { LabTarget } from './scenario-lab.js';

/** What POST /admin/chaos takes (api/src/routes/chaos-routes.ts). */
export interface ChaosChange {
  dbLatencyMs?: number;
  dbDown?: boolean;
  cacheDown?: boolean;
  brokerDown?: boolean;
}

/** True when the lab's replicas have the chaos API (CHAOS_ENABLED and ADMIN_TOKEN in its environment). */
export function hasChaosApi(target: LabTarget): boolean {
  return target.config.CHAOS_ENABLED && Boolean(target.config.ADMIN_TOKEN);
}

/** Why a scenario cannot use the chaos API of this lab, as advice. */
export const NO_CHAOS_API =
  'the lab was started without the chaos API: start it with `npm run lab -- up --env CHAOS_ENABLED=true --env ADMIN_TOKEN=<token>`, or run the scenario with --private';

async function post(target: LabTarget, path: string, body?: ChaosChange): Promise<void> {
  if (!hasChaosApi(target)) throw new Error(NO_CHAOS_API);
  // Each replica directly: through nginx a POST reaches one replica, not all of them.
  await Promise.all(
    API_REPLICAS.map(async (replica) => {
      const res = await fetch(`http://127.0.0.1:${target.state.options.apiPorts[replica]}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${target.config.ADMIN_TOKEN}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(5_000),
      });
      if (res.status !== 200) throw new Error(`chaos API of ${replica} answered ${res.status}: ${await res.text()}`);
    }),
  );
}

/** Sets a fault on every replica of the lab. */
export function setChaos(target: LabTarget, change: ChaosChange): Promise<void> {
  return post(target, '/admin/chaos', change);
}

/** Every replica back to healthy. */
export function resetChaos(target: LabTarget): Promise<void> {
  return post(target, '/admin/chaos/reset');
}
