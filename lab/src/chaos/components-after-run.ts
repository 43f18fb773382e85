import { recentLogs } from '../local-lab/component-logs.js';
import type { ComponentName } from '../local-lab/lab-options.js';
import { componentStatuses } from '../local-lab/status.js';
import type { ScenarioResult } from './scenario-types.js';

/** How many log lines per component a failed verdict shows. */
const TAIL_LINES = 15;

/** Each component of the lab after a run: up, or how it ended (a worker that died explains a queue that never drained). */
export async function componentsAfterRun(dir: string): Promise<ScenarioResult['components']> {
  try {
    return (await componentStatuses(dir)).map((c) => ({ name: c.name, condition: c.condition, label: c.label }));
  } catch (err) {
    return [{ name: 'lab', condition: 'unknown', label: `status unreadable (${(err as Error).message})` }];
  }
}

/**
 * The last log lines of the worker and of every component not up: printed with a failed
 * verdict, so the failure can be understood once a throwaway lab is gone.
 */
export async function logTailsOf(
  dir: string,
  components: ScenarioResult['components'],
): Promise<ScenarioResult['logTails']> {
  const names = new Set<string>([
    'worker',
    ...components.filter((c) => c.condition !== 'up' && c.name !== 'lab').map((c) => c.name),
  ]);
  const tails: ScenarioResult['logTails'] = {};
  for (const name of names) {
    try {
      tails[name] = (await recentLogs(dir, name as ComponentName, TAIL_LINES)).map((l) => l.line);
    } catch (err) {
      tails[name] = [`(log unreadable: ${(err as Error).message})`];
    }
  }
  return tails;
}
