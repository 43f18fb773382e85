/**
 * Run ids, Idempotency-Keys and buyer ids. Pure module, shared by k6 and Node.
 *
 * A key is `<runId>-<scenario>-<vu>-<iteration>`: k6 numbers VUs uniquely in a test
 * (exec.vu.idInTest) and iterations uniquely in a scenario (exec.scenario.iterationInTest),
 * so no two requests of a run share a key, and the run id keeps runs apart. Because the
 * API derives the purchase id from the key, a key names its purchase for good.
 */

/** What the API accepts in the Idempotency-Key header. */
export const KEY_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
/** What the API accepts as a buyerId (a subset: the scripts only use ASCII). */
export const BUYER_PATTERN = /^[A-Za-z0-9_.@:+-]{1,64}$/;
/** Run ids stay short and free of the key separator so keys stay parseable and bounded. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9_]{1,24}$/;

/**
 * A new run id: the time in base 36 and a random tail, e.g. `rm3x1k2a93k9z1q`.
 * @param {number} nowMs Date.now()
 * @param {number} random a number in [0, 1)
 */
export function newRunId(nowMs, random) {
  const tail = Math.floor(random * 36 ** 6)
    .toString(36)
    .padStart(6, '0');
  return `r${Math.floor(nowMs).toString(36)}${tail}`;
}

/** The run id to use: the one given (validated) or a new one. */
export function resolveRunId(given, nowMs, random) {
  if (given === undefined || given === null || given === '') return newRunId(nowMs, random);
  if (!RUN_ID_PATTERN.test(given)) throw new Error(`RUN_ID=${given} must be 1..24 letters, digits or _`);
  return given;
}

/** The scenario part of a key: letters and digits of the name, at most 8. */
export function scenarioTag(name) {
  const tag = String(name || 'default')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 8);
  return tag || 'default';
}

function counter(name, n) {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${n}`);
  return n.toString(36);
}

/**
 * The Idempotency-Key of one request.
 * @param {{runId: string, scenario: string, vu: number, iteration: number}} at
 */
export function idempotencyKey({ runId, scenario, vu, iteration }) {
  const key = `${runId}-${scenarioTag(scenario)}-${counter('vu', vu)}-${counter('iteration', iteration)}`;
  if (!KEY_PATTERN.test(key)) throw new Error(`generated key ${key} is not a valid Idempotency-Key`);
  return key;
}

/**
 * The buyer of one request: unique per request by default, so the 6-per-buyer limit never
 * decides a run by accident; with a pool of N, buyers repeat and some purchases meet
 * `limit_exceeded` on purpose.
 * @param {{runId: string, scenario: string, vu: number, iteration: number, pool?: number}} at
 */
export function buyerId({ runId, scenario, vu, iteration, pool = 0 }) {
  const id =
    pool > 0
      ? `${runId}-buyer-${counter('iteration', iteration % pool)}`
      : `${runId}-${scenarioTag(scenario)}-${counter('vu', vu)}-${counter('iteration', iteration)}`;
  if (!BUYER_PATTERN.test(id)) throw new Error(`generated buyer ${id} is not a valid buyerId`);
  return id;
}
