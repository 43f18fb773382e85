/**
 * Which HTTP statuses each kind of request may answer by design, and what a purchase
 * answer means. Pure module, shared by k6 and Node.
 *
 * k6 counts a response in `http_req_failed` unless its status is declared expected
 * (http.expectedStatuses). A flash sale answers most buyers "sold out" (409) and the edge
 * turns away the excess (429): both are the system working, not failing. A 5xx never is.
 */

/** Expected statuses per request kind (the `kind` tag of every request). */
export const EXPECTED_STATUSES = Object.freeze({
  events: Object.freeze([200]),
  event: Object.freeze([200]),
  availability: Object.freeze([200]),
  // 202 queued; 200 a replayed key whose purchase is decided; 409 sold_out / limit_exceeded;
  // 429 the edge rate limit. A 503 broker_unavailable is a failure: nothing was sold.
  purchase: Object.freeze([200, 202, 409, 429]),
  status: Object.freeze([200]),
});

/** The request kinds, as used in tags and thresholds. */
export const KINDS = Object.freeze(Object.keys(EXPECTED_STATUSES));

/** True when `status` is an answer `kind` gives by design. */
export function isExpectedStatus(kind, status) {
  const list = EXPECTED_STATUSES[kind];
  if (!list) throw new Error(`unknown request kind ${kind}`);
  return list.includes(status);
}

/** Problem codes a 409 may carry for a well-formed purchase. */
export const CONFLICT_CODES = Object.freeze(['sold_out', 'limit_exceeded']);

/**
 * What a purchase answer means.
 * @param {number} status the HTTP status (0 when the request never got an answer)
 * @param {{code?: string}|null} problem the parsed problem+json body, if any
 * @returns {'accepted'|'replayed'|'sold_out'|'limit_exceeded'|'conflict'|'rate_limited'|'unavailable'|'invalid'|'error'}
 */
export function purchaseOutcome(status, problem) {
  if (status === 202) return 'accepted';
  if (status === 200) return 'replayed';
  if (status === 409) {
    const code = problem?.code;
    return CONFLICT_CODES.includes(code) ? code : 'conflict';
  }
  if (status === 429) return 'rate_limited';
  if (status === 503) return 'unavailable';
  if (status >= 400 && status < 500) return 'invalid';
  return 'error';
}

/** Outcomes that are the system answering as designed (what the purchase check accepts). */
export const DESIGNED_OUTCOMES = Object.freeze(['accepted', 'replayed', 'sold_out', 'limit_exceeded', 'rate_limited']);

/** Final states of a purchase (GET /purchases/:id). */
export const FINAL_STATES = Object.freeze(['confirmed', 'rejected']);
export const PURCHASE_STATES = Object.freeze(['queued', ...FINAL_STATES]);

/** A response header by name, whatever case the client or server gave it. */
export function header(res, name) {
  const headers = res?.headers || {};
  const wanted = name.toLowerCase();
  for (const key of Object.keys(headers)) if (key.toLowerCase() === wanted) return headers[key];
  return undefined;
}

/** The body of a response as JSON, or null when it is not JSON (k6 throws on res.json()). */
export function jsonBody(res) {
  if (!res || typeof res.body !== 'string' || res.body === '') return null;
  try {
    return JSON.parse(res.body);
  } catch (_err) {
    return null;
  }
}

/** Seconds to wait after a 503, from Retry-After (seconds form), bounded to 1..30. */
export function retryAfterSeconds(res, fallback = 1) {
  const value = Number(header(res, 'Retry-After'));
  return Number.isFinite(value) && value > 0 ? Math.min(30, value) : fallback;
}
