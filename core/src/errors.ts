/**
 * Every error the system answers on purpose: a stable string code that clients can
 * branch on, the HTTP status that goes with it, and a human title. The catalogue is
 * the single list that the error handler and the OpenAPI document read.
 */
export const ERROR_CATALOGUE = {
  /** Not parseable as HTTP at all (answered by nginx or by Node's parser, before any route). */
  bad_request: { status: 400, title: 'The request is malformed' },
  validation_failed: { status: 400, title: 'The request is not valid' },
  malformed_json: { status: 400, title: 'The request body is not valid JSON' },
  invalid_id: { status: 400, title: 'A path id is not a valid id' },
  idempotency_key_missing: { status: 400, title: 'The Idempotency-Key header is required' },
  idempotency_key_invalid: { status: 400, title: 'The Idempotency-Key header is malformed' },
  unauthorized: { status: 401, title: 'Authentication is required' },
  forbidden: { status: 403, title: 'The credentials do not allow this' },
  pass_required: { status: 401, title: 'The waiting room is on: a pass is required to buy' },
  pass_expired: { status: 401, title: 'The waiting-room pass has expired' },
  pass_invalid: { status: 403, title: 'The waiting-room pass is not valid' },
  pass_wrong_event: { status: 403, title: 'The waiting-room pass is for another event' },
  queue_token_invalid: { status: 403, title: 'The queue token is not valid' },
  waiting_room_off: { status: 409, title: 'This event has no waiting room on' },
  left_waiting_room: { status: 410, title: 'This queue token has left the line; join again' },
  not_found: { status: 404, title: 'No such resource' },
  event_not_found: { status: 404, title: 'No such event' },
  tier_not_found: { status: 404, title: 'No such tier in this event' },
  purchase_not_found: { status: 404, title: 'No such purchase' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  request_timeout: { status: 408, title: 'The request took too long to arrive' },
  sold_out: { status: 409, title: 'Sold out' },
  limit_exceeded: { status: 409, title: 'Ticket limit per buyer reached' },
  sale_not_open: { status: 409, title: 'The sale is not open' },
  duplicate: { status: 409, title: 'The resource already exists' },
  length_required: { status: 411, title: 'The request must declare its length' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  uri_too_long: { status: 414, title: 'The request URI is too long' },
  unsupported_media_type: { status: 415, title: 'The request body must be application/json' },
  unsupported_encoding: { status: 415, title: 'The request body must not be content-encoded' },
  idempotency_key_reused: { status: 422, title: 'The Idempotency-Key was used with a different request' },
  rate_limited: { status: 429, title: 'Too many requests' },
  headers_too_large: { status: 431, title: 'The request headers are too large' },
  internal: { status: 500, title: 'Internal server error' },
  not_implemented: { status: 501, title: 'The request uses a feature that is not implemented' },
  upstream_unavailable: { status: 502, title: 'No API replica is available' },
  broker_unavailable: { status: 503, title: 'The purchase could not be queued; retry later' },
  data_unavailable: { status: 503, title: 'The data is unavailable right now; retry later' },
  service_unavailable: { status: 503, title: 'The service is unavailable right now; retry later' },
  upstream_timeout: { status: 504, title: 'No API replica answered in time' },
  http_version_not_supported: { status: 505, title: 'The HTTP version is not supported' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** The one error type the system throws on purpose; the HTTP layer turns it into problem+json. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  /** Extra members of the problem document (e.g. validation issues). */
  readonly extensions: Record<string, unknown>;
  /** Headers to send with the problem (e.g. Retry-After). */
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    detail?: string,
    options: { extensions?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    const entry = ERROR_CATALOGUE[code];
    // A client error's stack is never logged (only 5xx are), and capturing it was a
    // visible share of the CPU of a 409 sold-out answer: skip it below 500.
    const stackTraceLimit = Error.stackTraceLimit;
    if (entry.status < 500) Error.stackTraceLimit = 0;
    try {
      super(detail ?? entry.title, options.cause === undefined ? undefined : { cause: options.cause });
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    this.name = 'AppError';
    this.code = code;
    this.status = entry.status;
    this.title = entry.title;
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }
}

/** SQLSTATE classes that mean "the database is away or overloaded, try again". */
const TRANSIENT_SQLSTATE = /^(08|53|57P0[1-3]|40001|40P01|55P03|57014)/;
const TRANSIENT_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
]);

/** True when a Postgres (postgres.js) or socket error is worth retrying. */
export function isTransientDbError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return TRANSIENT_SQLSTATE.test(code) || TRANSIENT_NODE_CODES.has(code);
}

/** Maps Postgres SQLSTATEs that carry meaning for a client to AppErrors; others pass through. */
export function mapPostgresError(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === '23505') return new AppError('duplicate', undefined, { cause: err });
  if (code === '22P02') return new AppError('invalid_id', undefined, { cause: err });
  if (code === '23503') return new AppError('not_found', undefined, { cause: err });
  // A value Postgres cannot store (a date out of its range, a number too large): the client's.
  if (code === '22008' || code === '22007' || code === '22003')
    return new AppError('validation_failed', 'A value is outside the range that can be stored.', { cause: err });
  if (isTransientDbError(err)) return new AppError('data_unavailable', undefined, { cause: err });
  return err;
}
