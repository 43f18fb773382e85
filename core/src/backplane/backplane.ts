import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config.js';
import { type Closeable, closeOnce } from '../lifecycle/close-once.js';
import type { Logger } from '../logger.js';
import { redisKeys } from '../redis/redis-keys.js';
import {
  type BackplaneDraft,
  type BackplaneKind,
  type BackplaneMessage,
  type BackplaneMessageOf,
  parseBackplaneMessage,
} from './backplane-messages.js';

type BackplaneConfig = Pick<
  Config,
  | 'REDIS_URL'
  | 'REDIS_CLUSTER_NODES'
  | 'REDIS_KEY_PREFIX'
  | 'REDIS_COMMAND_TIMEOUT_MS'
  | 'REDIS_CONNECT_TIMEOUT_MS'
  | 'INSTANCE_NAME'
  | 'BACKPLANE_HEARTBEAT_MS'
>;

export interface BackplanePublisher {
  /**
   * Publishes a message on the prefix's channel. Never throws: a message that cannot be
   * sent is logged and lost, and receivers fall back to their TTLs. Resolves false then.
   */
  publish(draft: BackplaneDraft): Promise<boolean>;
}

/**
 * The publishing side, over the process's ordinary Redis client (PUBLISH needs no
 * connection of its own). The worker has only this side.
 */
export function createBackplanePublisher(
  redis: Redis,
  config: Pick<BackplaneConfig, 'REDIS_KEY_PREFIX' | 'INSTANCE_NAME'>,
  log: Logger,
): BackplanePublisher {
  const channel = redisKeys(config.REDIS_KEY_PREFIX).backplane();
  return {
    async publish(draft) {
      const message = { v: 1, from: config.INSTANCE_NAME, sentAt: Date.now(), ...draft } as BackplaneMessage;
      try {
        await redis.publish(channel, JSON.stringify(message));
        return true;
      } catch (err) {
        log.debug(
          { event: 'backplane.publish_failed', kind: draft.kind, err: (err as Error).message },
          'backplane message not sent; receivers fall back to TTL expiry',
        );
        return false;
      }
    },
  };
}

export type BackplaneState = 'up' | 'down';

export interface BackplaneSubscriber extends Closeable {
  /** Calls `handler` with every valid message of this kind; returns the unsubscribe. */
  on<K extends BackplaneKind>(kind: K, handler: (message: BackplaneMessageOf<K>) => void): () => void;
  /**
   * Calls `listener` each time the subscription is (re)established, the first time
   * included: messages sent while it was down were missed, so what they would have
   * invalidated must be dropped.
   */
  onSubscribed(listener: () => void): () => void;
  /** Up while subscribed and the heartbeat answers. */
  state(): BackplaneState;
  /** Resolves once subscribed (tests, boot). */
  ready(): Promise<void>;
}

/**
 * The subscribing side: a connection of its own (a subscribed connection takes no other
 * command), subscribed again by us on every reconnect rather than by ioredis, so that
 * "subscribed" is a state we know and report. A PING every BACKPLANE_HEARTBEAT_MS
 * finds a subscription that died silently (a hung server, a dropped route); a failed
 * one reconnects. Each change of state is logged once.
 */
export function subscribeBackplane(config: BackplaneConfig, log: Logger): BackplaneSubscriber {
  const channel = redisKeys(config.REDIS_KEY_PREFIX).backplane();
  const handlers = new Map<BackplaneKind, Set<(m: BackplaneMessage) => void>>();
  const subscribedListeners = new Set<() => void>();
  let current: BackplaneState = 'down';
  let closed = false;
  let everUp = false;
  let invalidSeen = 0;
  let readyWaiters: (() => void)[] = [];

  const connection = subscriberConnection(config, (sub) => {
    sub.on('ready', () => {
      sub.subscribe(channel).then(goUp, (err: Error) => {
        log.warn({ event: 'backplane.subscribe_failed', err: err.message }, 'backplane subscribe failed, reconnecting');
        if (!closed) sub.disconnect(true);
      });
    });
    sub.on('close', () => goDown('connection closed'));
    // Errors are reported through the state change; the listener keeps ioredis from throwing.
    sub.on('error', () => undefined);
    sub.on('message', (_channel: string, raw: string) => onMessage(raw));
  });

  function goDown(reason: string): void {
    if (current === 'down') return;
    current = 'down';
    log.warn(
      { event: 'backplane.down', channel, reason },
      'backplane lost: caches fall back to TTL expiry until it is back',
    );
  }

  function goUp(): void {
    current = 'up';
    log.info(
      { event: everUp ? 'backplane.resubscribed' : 'backplane.subscribed', channel },
      everUp ? 'backplane back: in-memory caches dropped, messages may have been missed' : 'backplane subscribed',
    );
    everUp = true;
    for (const listener of subscribedListeners) listener();
    for (const resolve of readyWaiters) resolve();
    readyWaiters = [];
  }

  function onMessage(raw: string): void {
    const parsed = parseBackplaneMessage(raw);
    if (!parsed.ok) {
      if (parsed.reason === 'unknown_kind') {
        log.debug(
          { event: 'backplane.unknown_kind', kind: parsed.kind },
          'backplane message of an unknown kind ignored',
        );
        return;
      }
      invalidSeen += 1;
      // The first and then every hundredth: a flood of junk must not flood the log.
      if (invalidSeen % 100 === 1)
        log.warn(
          {
            event: 'backplane.invalid_message',
            reason: parsed.reason,
            kind: parsed.kind,
            detail: parsed.detail,
            count: invalidSeen,
          },
          'backplane message dropped',
        );
      return;
    }
    for (const handler of handlers.get(parsed.message.kind) ?? []) {
      try {
        handler(parsed.message);
      } catch (err) {
        log.error(
          { event: 'backplane.handler_failed', kind: parsed.message.kind, err: (err as Error).message },
          'backplane handler failed',
        );
      }
    }
  }

  const heartbeat = setInterval(() => {
    if (current !== 'up') return;
    const sub = connection.current();
    sub.ping().catch((err: Error) => {
      if (closed || current !== 'up') return;
      goDown(`heartbeat failed: ${err.message}`);
      sub.disconnect(true);
    });
  }, config.BACKPLANE_HEARTBEAT_MS);
  heartbeat.unref();

  return {
    on(kind, handler) {
      let set = handlers.get(kind);
      if (!set) {
        set = new Set();
        handlers.set(kind, set);
      }
      const h = handler as (m: BackplaneMessage) => void;
      set.add(h);
      return () => set.delete(h);
    },
    onSubscribed(listener) {
      subscribedListeners.add(listener);
      return () => subscribedListeners.delete(listener);
    },
    state: () => current,
    ready: () => (current === 'up' ? Promise.resolve() : new Promise((resolve) => readyWaiters.push(resolve))),
    close: closeOnce(() => {
      closed = true;
      clearInterval(heartbeat);
      current = 'down';
      connection.close();
    }),
  };
}

/** A reconnect's pause: doubling from 50 ms, at most 2 s. */
const backoff = (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 10), 2_000);

/**
 * The subscribing connection, each new one handed to `wire` for its listeners. One Redis:
 * ioredis reconnects it. A cluster: a plain connection to one node (a cluster delivers every
 * PUBLISH to every node), and once it is lost a new one to the next seed node, as that node
 * may be gone for good. ioredis' Cluster client moves its subscriber to another node too,
 * but silently: the loss, and the messages missed meanwhile, would go unnoticed.
 */
function subscriberConnection(
  config: BackplaneConfig,
  wire: (sub: Redis) => void,
): { current(): Redis; close(): void } {
  const options: RedisOptions = {
    autoResubscribe: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: config.REDIS_CONNECT_TIMEOUT_MS,
    connectionName: `${config.INSTANCE_NAME}:backplane`,
  };
  if (config.REDIS_CLUSTER_NODES.length === 0) {
    const sub = new Redis(config.REDIS_URL, { ...options, retryStrategy: backoff });
    wire(sub);
    return { current: () => sub, close: () => sub.disconnect() };
  }
  const nodes = config.REDIS_CLUSTER_NODES;
  let next = 0;
  let attempt = 0;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const open = (): Redis => {
    const node = nodes[next % nodes.length]!;
    next += 1;
    // No reconnect of its own: its end opens the next node's connection.
    const sub = new Redis(`redis://${node}`, { ...options, retryStrategy: () => null });
    sub.on('ready', () => {
      attempt = 0;
    });
    sub.once('end', () => {
      if (closed) return;
      attempt += 1;
      timer = setTimeout(() => {
        live = open();
      }, backoff(attempt));
      timer.unref();
    });
    wire(sub);
    return sub;
  };
  let live = open();
  return {
    current: () => live,
    close: () => {
      closed = true;
      clearTimeout(timer);
      live.disconnect();
    },
  };
}
