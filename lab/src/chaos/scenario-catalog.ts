import { brokerNodeKill } from './cluster-scenarios.js';
import { replicaKill, workerKill, workerKillOne, workerRestart } from './process-scenarios.js';
import { redisMasterKill } from './redis-master-kill.js';
import { waitingRoomRedisRestart, waitingRoomReplicaKill } from './room-scenarios.js';
import { SCENARIO_NAMES, type Scenario, type ScenarioName } from './scenario-types.js';
import { brokerRestart, dbOutage, dbSlow, redisFlush, redisOutage } from './service-scenarios.js';

/** Every scenario `npm run lab -- chaos <name>` knows, in the order of the docs. */
export const SCENARIOS: Record<ScenarioName, Scenario> = {
  'worker-restart': workerRestart,
  'worker-kill': workerKill,
  'worker-kill-one': workerKillOne,
  'redis-outage': redisOutage,
  'redis-flush': redisFlush,
  'broker-restart': brokerRestart,
  'broker-node-kill': brokerNodeKill,
  'redis-master-kill': redisMasterKill,
  'db-outage': dbOutage,
  'db-slow': dbSlow(),
  'replica-kill': replicaKill,
  'waiting-room-redis-restart': waitingRoomRedisRestart(),
  'waiting-room-replica-kill': waitingRoomReplicaKill(),
};

/** The scenario of a user-typed name, or an error listing them all. */
export function parseScenario(name: string | undefined): Scenario {
  if (name && (SCENARIO_NAMES as readonly string[]).includes(name)) return SCENARIOS[name as ScenarioName];
  throw new Error(
    `unknown scenario ${name ? `"${name}"` : '(none given)'}; expected one of: ${SCENARIO_NAMES.join(', ')}`,
  );
}
