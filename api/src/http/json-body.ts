import type { IncomingMessage } from 'node:http';
import { AppError } from '@stampede/core/errors';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from './app-env.js';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(;|$)/i;
// Shared and non-streaming; strips a leading BOM as Request.text() does.
const utf8 = new TextDecoder();

function requireJsonType(c: Context<AppEnv>): void {
  if (!JSON_TYPE.test(c.req.header('content-type') ?? ''))
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

const malformed = () => new AppError('malformed_json', 'The body is not valid JSON.');

/** The whole body of a Node request, or null as soon as it passes maxBytes. */
function readLimited(incoming: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        done();
        incoming.pause();
        resolve(null);
      } else chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    incoming.on('data', onData).on('end', onEnd).on('error', onError);
  });
}

/**
 * Body guards of a JSON write route: size first, then content type, then well-formed JSON.
 * Under @hono/node-server the body is read from the Node stream and handed to Hono's body
 * cache (so the validators read it from there): going through the web Request instead
 * builds an undici Request and a web stream per request, the largest cost a profile of
 * the sold-out path showed. Elsewhere (app.request() in tests) Hono's bodyLimit and
 * c.req.json() do the same checks.
 */
export function jsonBody(maxBytes: number): MiddlewareHandler<AppEnv>[] {
  const tooLarge = () => new AppError('payload_too_large', `The body may be at most ${maxBytes} bytes.`);
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw tooLarge();
    },
  });
  const parse: MiddlewareHandler<AppEnv> = async (c, next) => {
    requireJsonType(c);
    try {
      await c.req.json();
    } catch {
      throw malformed();
    }
    await next();
  };
  const guard: MiddlewareHandler<AppEnv> = async (c, next) => {
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    if (
      !incoming ||
      typeof incoming.on !== 'function' ||
      incoming.readableDidRead ||
      Object.keys(c.req.bodyCache).length > 0
    ) {
      requireIdentityEncoding(c.req.header('content-encoding'));
      return limit(c, async () => {
        await parse(c, next);
      });
    }
    requireIdentityEncoding(incoming.headers['content-encoding']);
    const declared = incoming.headers['content-length'];
    if (
      declared !== undefined &&
      incoming.headers['transfer-encoding'] === undefined &&
      parseInt(declared || '0', 10) > maxBytes
    )
      throw tooLarge();
    // A body that cannot be read (the client went away) is malformed, as c.req.json() would say.
    const body = await readLimited(incoming, maxBytes).catch(() => {
      throw malformed();
    });
    if (body === null) throw tooLarge();
    requireJsonType(c);
    const text = utf8.decode(body);
    try {
      JSON.parse(text);
    } catch {
      throw malformed();
    }
    // Hono keeps a promise here at runtime (its type says string).
    (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(text);
    await next();
  };
  return [guard];
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
