import type { LogMethods } from '@stampede/core/logger';

/** What the request-context middleware puts on every Hono context. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** The request's logger: its lines carry the request id. */
    log: LogMethods;
  };
}
