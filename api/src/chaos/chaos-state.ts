/** Faults a replica can be told to fake, each off by default. */
export interface ChaosSettings {
  /** Added before every Postgres query of this replica. */
  dbLatencyMs: number;
  /** Every Postgres query of this replica fails as if the server were unreachable. */
  dbDown: boolean;
  /** This replica behaves as if Redis were unreachable. */
  cacheDown: boolean;
  /** This replica behaves as if the broker were unreachable (purchases answer 503). */
  brokerDown: boolean;
}

export const CHAOS_OFF: Readonly<ChaosSettings> = Object.freeze({
  dbLatencyMs: 0,
  dbDown: false,
  cacheDown: false,
  brokerDown: false,
});

/** The replica's current chaos settings; `reset` always returns it to healthy. */
export function createChaosState() {
  let settings: ChaosSettings = { ...CHAOS_OFF };
  return {
    get settings(): Readonly<ChaosSettings> {
      return settings;
    },
    /** True when any database fault is on (the fast path skips all chaos work otherwise). */
    get dbAffected(): boolean {
      return settings.dbDown || settings.dbLatencyMs > 0;
    },
    update(partial: Partial<ChaosSettings>): Readonly<ChaosSettings> {
      settings = { ...settings, ...partial };
      return settings;
    },
    reset(): Readonly<ChaosSettings> {
      settings = { ...CHAOS_OFF };
      return settings;
    },
  };
}

export type ChaosState = ReturnType<typeof createChaosState>;
