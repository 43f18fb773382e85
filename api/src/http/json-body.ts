import { AppError } from '@stampede/core/errors';
import type { Context, MiddlewareHandler, Next } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from './app-env.js';
import { requestHeader } from './node-headers.js';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(;|$)/i;

function requireJsonType(c: Context<AppEnv>): void {
  if (!JSON_TYPE.test(requestHeader(c, 'content-type') ?? ''))
    throw new AppError('unsupported_media_type', 'Send the body as application/json.');
}

/**
 * No content coding is decoded here: a gzip or br body would be read as if it were plain
 * JSON (or refused as malformed). RFC 9110 answers it 415 with the codings accepted.
 */
function requireIdentityEncoding(encoding: string | undefined): void {
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity')
    throw new AppError('unsupported_encoding', 'Send the body without a Content-Encoding.', {
      headers: { 'Accept-Encoding': 'identity' },
    });
}

/**
 * Body guards of a JSON write route: no content coding, size, content type, then well-formed
 * JSON. Under @hono/node-server 2, `c.req.json()` reads the Node stream directly (no web
 * Request or stream per request) and Hono keeps what it read for the validators. A body
 * with a Content-Length is sized by its header before a byte is read (Node's parser holds
 * the body to that length); only a chunked one goes through Hono's bodyLimit, which counts
 * the bytes as they arrive but builds the web Request to do so.
 */
export function jsonBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  const tooLarge = () => new AppError('payload_too_large', `The body may be at most ${maxBytes} bytes.`);
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw tooLarge();
    },
  });
  const parse = async (c: Context<AppEnv>, next: Next) => {
    requireJsonType(c);
    // A body that cannot be read (the client went away) is malformed too.
    try {
      await c.req.json();
    } catch {
      throw new AppError('malformed_json', 'The body is not valid JSON.');
    }
    await next();
  };
  const guard: MiddlewareHandler<AppEnv> = async (c, next) => {
    requireIdentityEncoding(requestHeader(c, 'content-encoding'));
    const declared = requestHeader(c, 'content-length');
    if (declared === undefined || requestHeader(c, 'transfer-encoding') !== undefined)
      return limit(c, () => parse(c, next));
    if (Number.parseInt(declared || '0', 10) > maxBytes) throw tooLarge();
    await parse(c, next);
  };
  return guard;
}

/** Idempotency keys: 1–128 characters, letters, digits and `-_.:` (a UUID fits). */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Reads and checks the Idempotency-Key header; missing or malformed is a 400 with its own code. */
export function requireIdempotencyKey(header: string | undefined): string {
  if (header === undefined || header === '')
    throw new AppError(
      'idempotency_key_missing',
      'Send an Idempotency-Key header (for example a UUID) so a retry never buys twice.',
    );
  if (!IDEMPOTENCY_KEY.test(header))
    throw new AppError(
      'idempotency_key_invalid',
      'The Idempotency-Key must be 1–128 characters of letters, digits, and - _ . :',
    );
  return header;
}
