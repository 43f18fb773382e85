import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError } from '@stampede/core/errors';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './app-env.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Bearer-token guard of the admin routes: 401 without credentials, 403 with wrong ones.
 * Both sides are hashed first so the comparison is constant-time whatever the lengths.
 */
export function requireAdminToken(token: string): MiddlewareHandler<AppEnv> {
  const expected = digest(token);
  return async (c, next) => {
    const header = c.req.header('authorization');
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) {
      throw new AppError('unauthorized', 'Send Authorization: Bearer <ADMIN_TOKEN>.', {
        headers: { 'WWW-Authenticate': 'Bearer realm="stampede-admin"' },
      });
    }
    if (!timingSafeEqual(digest(match[1]!), expected))
      throw new AppError('forbidden', 'The token is not the admin token.');
    await next();
  };
}
