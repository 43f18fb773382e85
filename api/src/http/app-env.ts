import type { Logger } from '@stampede/core/logger';

/** What the request-context middleware puts on every Hono context. */
export interface AppEnv {
  Variables: {
    requestId: string;
    log: Logger;
  };
}
