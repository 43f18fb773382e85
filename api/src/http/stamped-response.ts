import { type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** Headers every answer carries, prepared once: a flat [name, value, …] list and its lower-case names. */
export interface Stamp {
  readonly flat: readonly string[];
  readonly names: ReadonlySet<string>;
}

export function createStamp(headers: Readonly<Record<string, string>>): Stamp {
  return {
    flat: Object.entries(headers).flat(),
    names: new Set([...Object.keys(headers), REQUEST_ID].map((k) => k.toLowerCase())),
  };
}

const REQUEST_ID = 'X-Request-Id';

/**
 * Node's response with the headers every answer carries (the security headers, the
 * replica's name, the request id) written in the one step that writes the head. Set one
 * by one with setHeader, each was validated, lower-cased and stored, then read back and
 * validated again into the head: a visible share of a replica's busy time on a route
 * that does nothing. Here they go into the head as one flat list beside the handler's
 * own headers, validated once by Node. A header the handler set itself wins, as before.
 */
export class StampedResponse extends ServerResponse<IncomingMessage> {
  /** Set by requestContext; written with the head. */
  stamp: Stamp | undefined = undefined;
  requestId = '';
  /** Headers the handler set before the head (setResponseHeaders), [name, value, …]; they win over the stamp. */
  private readonly early: string[] = [];

  /** Keeps a header for the head to come, as setHeader would; false when nothing is stamped (then setHeader). */
  keep(name: string, value: string): boolean {
    if (this.stamp === undefined) return false;
    this.early.push(name, value);
    return true;
  }

  override writeHead(
    statusCode: number,
    reason?: string | OutgoingHttpHeaders | OutgoingHttpHeader[],
    headers?: OutgoingHttpHeaders | OutgoingHttpHeader[],
  ): this {
    const message = typeof reason === 'string' ? reason : undefined;
    const given = typeof reason === 'string' ? headers : reason;
    const stamp = this.stamp;
    if (stamp !== undefined) {
      this.stamp = undefined;
      if (!Array.isArray(given) && this.getHeaderNames().length === 0) {
        const flat = merged(stamp, this.requestId, this.early, given);
        return message === undefined ? super.writeHead(statusCode, flat) : super.writeHead(statusCode, message, flat);
      }
      // Headers set with setHeader (or given as a list): Node merges those, so the stamp joins them the same way.
      const pairs = [...stamp.flat, REQUEST_ID, this.requestId];
      for (let i = 0; i < pairs.length; i += 2)
        if (!this.hasHeader(pairs[i]!)) this.setHeader(pairs[i]!, pairs[i + 1]!);
      for (let i = 0; i < this.early.length; i += 2) this.setHeader(this.early[i]!, this.early[i + 1]!);
    }
    return message === undefined ? super.writeHead(statusCode, given) : super.writeHead(statusCode, message, given);
  }
}

/** The stamp's headers, then those kept early, then the handler's, as one flat list; a later one of a name wins. */
function merged(
  stamp: Stamp,
  requestId: string,
  early: readonly string[],
  given: OutgoingHttpHeaders | undefined,
): OutgoingHttpHeader[] {
  const own = given === undefined ? [] : Object.keys(given);
  if (early.length === 0 && !own.some((k) => stamp.names.has(k.toLowerCase()))) {
    const flat: OutgoingHttpHeader[] = [...stamp.flat, REQUEST_ID, requestId];
    for (const k of own) if (given![k] !== undefined) flat.push(k, given![k]!);
    return flat;
  }
  const byName = new Map<string, [string, OutgoingHttpHeader]>();
  const put = (name: string, value: OutgoingHttpHeader | undefined) => {
    if (value !== undefined) byName.set(name.toLowerCase(), [name, value]);
  };
  for (let i = 0; i < stamp.flat.length; i += 2) put(stamp.flat[i]!, stamp.flat[i + 1]);
  put(REQUEST_ID, requestId);
  for (let i = 0; i < early.length; i += 2) put(early[i]!, early[i + 1]);
  for (const k of own) put(k, given![k]);
  return [...byName.values()].flat();
}
