import type { Sql } from '@stampede/core/db';
import type { Redis } from '@stampede/core/redis';
import type { PurchasePublisher } from '../broker/purchase-publisher.js';
import type { ChaosState } from './chaos-state.js';

/** The error a query meets while chaos says the database is down: transient, like a refused connection. */
function databaseDown(): Error {
  return Object.assign(new Error('chaos: database unreachable'), { code: 'ECONNREFUSED' });
}

async function afterChaos<T>(chaos: ChaosState, run: () => PromiseLike<T>): Promise<T> {
  const { dbLatencyMs, dbDown } = chaos.settings;
  if (dbLatencyMs > 0) await new Promise((r) => setTimeout(r, dbLatencyMs));
  if (dbDown) throw databaseDown();
  return run();
}

/**
 * The replica's Postgres client as chaos sees it: queries and transactions wait the
 * injected latency or fail as unreachable. With chaos off, calls go straight through.
 */
export function chaosSql(sql: Sql, chaos: ChaosState): Sql {
  return new Proxy(sql, {
    apply(target, thisArg, args) {
      if (!chaos.dbAffected) return Reflect.apply(target, thisArg, args);
      return afterChaos(chaos, () => Reflect.apply(target, thisArg, args) as PromiseLike<unknown>);
    },
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== 'begin' || typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        chaos.dbAffected ? afterChaos(chaos, () => value.apply(target, args)) : value.apply(target, args);
    },
  });
}

/**
 * The replica's Redis client as chaos sees it: while the cache is "down" it reports a
 * non-ready status (so callers take their Redis-is-down path) and every command fails.
 */
export function chaosRedis(redis: Redis, chaos: ChaosState): Redis {
  const bound = new Map<PropertyKey, unknown>();
  const failing = () => Promise.reject(new Error('chaos: cache unreachable'));
  return new Proxy(redis, {
    get(target, prop) {
      if (chaos.settings.cacheDown && prop === 'status') return 'reconnecting';
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (
        chaos.settings.cacheDown &&
        typeof prop === 'string' &&
        !['on', 'once', 'off', 'emit', 'quit', 'disconnect', 'close', 'defineCommand'].includes(prop)
      )
        return failing;
      let fn = bound.get(prop);
      if (!fn) bound.set(prop, (fn = (value as (...a: unknown[]) => unknown).bind(target)));
      return fn;
    },
  });
}

/** The publisher as chaos sees it: "broker down" makes it refuse like a lost connection. */
export function chaosPublisher(publisher: PurchasePublisher, chaos: ChaosState): PurchasePublisher {
  return {
    publish: (m) =>
      chaos.settings.brokerDown ? Promise.reject(new Error('chaos: broker unreachable')) : publisher.publish(m),
    isConnected: () => !chaos.settings.brokerDown && publisher.isConnected(),
    close: () => publisher.close(),
  };
}
