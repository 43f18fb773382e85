import { AppError, ERROR_CATALOGUE, type ErrorCode } from '@stampede/core/errors';
import type { LogMethods } from '@stampede/core/logger';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from './app-env.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** An RFC 9457 problem document with Stampede's stable `code` member. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  requestId?: string;
  [extension: string]: unknown;
}

/** The `type` URI of a problem code: a stable, documented identifier. */
export function problemType(code: ErrorCode): string {
  return `https://stampede.dev/problems/${code.replaceAll('_', '-')}`;
}

/** Builds the problem document of an AppError for a request. */
export function toProblem(err: AppError, instance?: string, requestId?: string): Problem {
  return {
    type: problemType(err.code),
    title: err.title,
    status: err.status,
    detail: err.message,
    code: err.code,
    ...(instance ? { instance } : {}),
    ...(requestId ? { requestId } : {}),
    ...err.extensions,
  };
}

/**
 * The request's path as it came, percent-encoded (Hono's `c.req.path` is decoded): the
 * problem's `instance` then carries no character a client put there to be echoed.
 */
function encodedPath(url: string): string {
  const start = url.indexOf('/', url.indexOf('://') + 3);
  if (start < 0) return '/';
  const query = url.indexOf('?', start);
  return url.slice(start, query < 0 ? undefined : query);
}

/** Sends an AppError as application/problem+json. */
export function sendProblem(c: Context<AppEnv>, err: AppError): Response {
  const body = toProblem(err, encodedPath(c.req.url), c.env?.requestId);
  return new Response(JSON.stringify(body), {
    status: err.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, ...err.headers },
  });
}

/** Maps Hono's own HTTP exceptions (body limit, malformed JSON) to catalogue codes. */
function fromHttpException(err: HTTPException): AppError {
  const byStatus: Partial<Record<number, ErrorCode>> = {
    400: 'malformed_json',
    401: 'unauthorized',
    404: 'not_found',
    413: 'payload_too_large',
    415: 'unsupported_media_type',
  };
  const code = byStatus[err.status] ?? (err.status >= 500 ? 'internal' : 'validation_failed');
  const known = ERROR_CATALOGUE[code].status === err.status;
  return new AppError(known ? code : 'validation_failed', err.message || undefined, { cause: err });
}

/**
 * The one error handler: AppErrors become their problem; Hono's HTTP exceptions are
 * mapped to codes; anything else is logged with its stack and answered as a bare 500
 * that shows no internals.
 */
export function handleError(err: Error, c: Context<AppEnv>, fallbackLog: LogMethods): Response {
  if (err instanceof AppError) {
    const log = c.env?.log ?? fallbackLog;
    if (err.status >= 500) log.warn({ event: 'request.failed', code: err.code, err: err.cause ?? err }, err.message);
    return sendProblem(c, err);
  }
  if (err instanceof HTTPException) return sendProblem(c, fromHttpException(err));
  (c.env?.log ?? fallbackLog).error({ event: 'request.crashed', err }, 'unhandled error');
  return sendProblem(c, new AppError('internal', 'An unexpected error occurred. It has been logged.'));
}
