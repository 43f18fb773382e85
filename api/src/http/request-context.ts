import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from '@stampede/core/logger';
import type { AppEnv } from './app-env.js';

/** An incoming X-Request-Id is trusted only when it looks like an id, never as free text. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives every request an id (nginx's X-Request-Id when present, a new UUID otherwise)
 * and a child logger that carries it; echoes the id and names the serving replica.
 */
export function requestContext(log: Logger, instanceName: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    c.set('requestId', requestId);
    c.set('log', log.child({ requestId }));
    await next();
    // On the finished response's headers, not c.header(): after the handler, c.header()
    // checks bodyUsed, which turns node-server's lightweight response into a full web
    // Response whose body is then streamed out — the largest per-request cost in a profile.
    c.res.headers.set('X-Request-Id', requestId);
    c.res.headers.set('X-Served-By', instanceName);
  };
}
