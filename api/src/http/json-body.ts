import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { AppError } from '@stampede/core/errors';
import type { AppEnv } from './app-env.js';

/** Body guards of a JSON write route: size first, then content type, then well-formed JSON. */
export function jsonBody(maxBytes: number): MiddlewareHandler<AppEnv>[] {
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => { throw new AppError('payload_too_large', `The body may be at most ${maxBytes} bytes.`); },
  });
  const parse: MiddlewareHandler<AppEnv> = async (c, next) => {
    const type = c.req.header('content-type') ?? '';
    if (!/^application\/(?:[\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
      throw new AppError('unsupported_media_type', 'Send the body as application/json.');
    }
    try {
      await c.req.json();
    } catch {
      throw new AppError('malformed_json', 'The body is not valid JSON.');
    }
    await next();
  };
  return [limit, parse];
}

/** Idempotency keys: 1–128 characters, letters, digits and `-_.:` (a UUID fits). */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Reads and checks the Idempotency-Key header; missing or malformed is a 400 with its own code. */
export function requireIdempotencyKey(header: string | undefined): string {
  if (header === undefined || header === '') throw new AppError('idempotency_key_missing', 'Send an Idempotency-Key header (for example a UUID) so a retry never buys twice.');
  if (!IDEMPOTENCY_KEY.test(header)) throw new AppError('idempotency_key_invalid', 'The Idempotency-Key must be 1–128 characters of letters, digits, and - _ . :');
  return header;
}
