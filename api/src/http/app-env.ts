import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LogMethods } from '@stampede/core/logger';

/** What every request's `c.env` holds (request-context.ts puts the id and logger there). */
export interface RequestBindings {
  requestId: string;
  /** The request's logger: its lines carry the request id. */
  log: LogMethods;
  /** Node's request and response, under @hono/node-server; absent under app.request(). */
  incoming?: IncomingMessage;
  outgoing?: ServerResponse;
}

export interface AppEnv {
  Bindings: RequestBindings;
}
