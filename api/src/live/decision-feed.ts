import type { BackplaneMessageOf, BackplaneSubscriber } from '@stampede/core/backplane';

export type Decided = BackplaneMessageOf<'purchases_decided'>['purchases'][number];

/** What a follower hears: its purchase decided, or that decisions may have been missed. */
export type DecisionSignal = { kind: 'decided'; decision: Decided } | { kind: 'missed' };

export interface DecisionFeed {
  /** Calls `listener` for this purchase; returns the unsubscribe. */
  watch(purchaseId: string, listener: (signal: DecisionSignal) => void): () => void;
  /** True while decisions arrive as they are made; false means followers must read the stored state themselves. */
  isLive(): boolean;
}

/**
 * The worker's decisions as the backplane carries them, handed to the streams following
 * those purchases. Every reconnect of the subscription tells every follower it may have
 * missed its decision, so it reads the stored state again.
 */
export function createDecisionFeed(backplane: BackplaneSubscriber | undefined): DecisionFeed {
  const followers = new Map<string, Set<(signal: DecisionSignal) => void>>();
  if (backplane) {
    backplane.on('purchases_decided', (message) => {
      for (const decision of message.purchases)
        for (const listener of followers.get(decision.purchaseId) ?? []) listener({ kind: 'decided', decision });
    });
    backplane.onSubscribed(() => {
      for (const set of followers.values()) for (const listener of set) listener({ kind: 'missed' });
    });
  }
  return {
    watch(purchaseId, listener) {
      let set = followers.get(purchaseId);
      if (!set) {
        set = new Set();
        followers.set(purchaseId, set);
      }
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0) followers.delete(purchaseId);
      };
    },
    isLive: () => backplane?.state() === 'up',
  };
}
