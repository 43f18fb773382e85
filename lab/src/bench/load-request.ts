import type { RequestSource, WireRequest } from './bench-types.js';

/**
 * What a load phase sends, said as data so that both generators can build it: wrk (whose
 * Lua script makes each request, wrk-script.ts) and the paced open-model generator (which
 * builds them in Node). A purchase has a new Idempotency-Key and buyer per request.
 */
export type LoadRequest =
  | { kind: 'fixed'; request: WireRequest }
  | { kind: 'purchase'; eventId: string; tierId: string; keyPrefix: string };

export const fixedRequest = (method: WireRequest['method'], path: string): LoadRequest => ({
  kind: 'fixed',
  request: { method, path },
});

export const purchaseRequest = (eventId: string, tierId: string, keyPrefix: string): LoadRequest => ({
  kind: 'purchase',
  eventId,
  tierId,
  keyPrefix,
});

/** The path of a request, for the URL wrk is given. */
export function requestPath(r: LoadRequest): string {
  return r.kind === 'fixed' ? r.request.path : `/events/${r.eventId}/purchases`;
}

/** The JSON body of one purchase (the same bytes wrk's script writes). */
export function purchaseBody(tierId: string, key: string): string {
  return `{"tierId":"${tierId}","quantity":1,"buyerId":"b-${key}"}`;
}

/** The same requests as a source for the paced generator: a fresh key and buyer per call. */
export function requestSource(r: LoadRequest): RequestSource {
  if (r.kind === 'fixed') return r.request;
  let n = 0;
  const path = requestPath(r);
  return () => {
    n += 1;
    const key = `${r.keyPrefix}-${n}`;
    return {
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: purchaseBody(r.tierId, key),
    };
  };
}
