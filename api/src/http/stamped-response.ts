import {
  type IncomingMessage,
  type OutgoingHttpHeader,
  type OutgoingHttpHeaders,
  ServerResponse,
  validateHeaderName,
  validateHeaderValue,
} from 'node:http';

const REQUEST_ID = 'X-Request-Id';

/**
 * Headers every answer carries, prepared once: a flat [name, value, …] list ending with the
 * request id's slot, the lower-case name of each pair, and the fixed ones as the text of
 * a head (validated here, once).
 */
export interface Stamp {
  readonly flat: readonly string[];
  readonly names: readonly string[];
  readonly block: string;
}

export function createStamp(headers: Readonly<Record<string, string>>): Stamp {
  for (const [name, value] of Object.entries(headers)) {
    validateHeaderName(name);
    validateHeaderValue(name, value);
  }
  const pairs = [...Object.entries(headers), [REQUEST_ID, '']];
  return {
    flat: pairs.flat(),
    names: pairs.map(([k]) => k!.toLowerCase()),
    block: Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join(''),
  };
}

/** Node's own step that turns the status line and headers into the head's text (OutgoingMessage). */
type StoreHeader = (this: ServerResponse, firstLine: string, headers: unknown) => void;
const storeHeader = (ServerResponse.prototype as unknown as { _storeHeader: StoreHeader })._storeHeader;

/**
 * Node's response with the headers every answer carries (the security headers, the
 * replica's name, the request id) written in the one step that writes the head. Set one
 * by one with setHeader, each was validated, lower-cased and stored, then read back and
 * validated again into the head: a visible share of a replica's busy time on a route
 * that does nothing. Here the fixed ones are written into the head as text validated once
 * (createStamp), right after the status line, and only the request id and the handler's
 * own headers go through Node's checks. When the handler set one of the stamp's names
 * itself, or headers Node merges (setHeader), the stamp joins them as a list instead, and
 * the handler's wins.
 *
 * The text goes in through `_storeHeader`, the step of Node's OutgoingMessage that
 * `writeHead` ends with (Node 20 to 24); response-headers.test.ts checks the head on each.
 */
export class StampedResponse extends ServerResponse<IncomingMessage> {
  /** Set by withRequestContext (request-context.ts); written with the head. */
  stamp: Stamp | undefined = undefined;
  requestId = '';
  /** Headers the handler set before the head (setResponseHeaders), [name, value, …]; they win over the stamp. */
  private readonly early: string[] = [];
  /** The stamp's text, for the head being written (writeHead → _storeHeader). */
  private block = '';

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
        const own = ownHeaders(stamp, this.early, given);
        if (own) this.block = `${stamp.block}${REQUEST_ID}: ${this.requestId}\r\n`;
        const flat = own ?? merged(stamp, this.requestId, this.early, given);
        return message === undefined ? super.writeHead(statusCode, flat) : super.writeHead(statusCode, message, flat);
      }
      // Headers set with setHeader (or given as a list): Node merges those, so the stamp joins them the same way.
      const pairs = stamp.flat;
      for (let i = 0; i < pairs.length; i += 2) {
        const value = i === pairs.length - 2 ? this.requestId : pairs[i + 1]!;
        if (!this.hasHeader(pairs[i]!)) this.setHeader(pairs[i]!, value);
      }
      for (let i = 0; i < this.early.length; i += 2) this.setHeader(this.early[i]!, this.early[i + 1]!);
    }
    return message === undefined ? super.writeHead(statusCode, given) : super.writeHead(statusCode, message, given);
  }

  /** The head's text: the stamp's right after the status line, then what Node makes of the rest. */
  _storeHeader(firstLine: string, headers: unknown): void {
    const block = this.block;
    this.block = '';
    storeHeader.call(this, block === '' ? firstLine : firstLine + block, headers);
  }
}

/**
 * The handler's headers (those kept early, then those given) as one flat list when none
 * has a name of the stamp's (the stamp then goes in as text); undefined when one has.
 */
function ownHeaders(
  stamp: Stamp,
  early: readonly string[],
  given: OutgoingHttpHeaders | undefined,
): OutgoingHttpHeader[] | undefined {
  const flat: OutgoingHttpHeader[] = [];
  for (let i = 0; i < early.length; i += 2) {
    if (stamp.names.includes(early[i]!.toLowerCase())) return undefined;
    flat.push(early[i]!, early[i + 1]!);
  }
  if (given !== undefined)
    for (const k in given) {
      const value = given[k];
      if (value === undefined) continue;
      const lower = k.toLowerCase();
      if (stamp.names.includes(lower)) return undefined;
      // A name given twice (early, then to writeHead): the later one wins, as in merged().
      const at = flat.findIndex((v, j) => j % 2 === 0 && (v as string).toLowerCase() === lower);
      if (at >= 0) flat.splice(at, 2);
      flat.push(k, value);
    }
  return flat;
}

/**
 * The stamp's headers, then those kept early, then the handler's, as one flat list; a later
 * one of a name takes the earlier one's place. A linear search over a dozen names: a Map
 * and its spread were a seventh of a cached read's CPU.
 */
function merged(
  stamp: Stamp,
  requestId: string,
  early: readonly string[],
  given: OutgoingHttpHeaders | undefined,
): OutgoingHttpHeader[] {
  const flat: OutgoingHttpHeader[] = stamp.flat.slice();
  flat[flat.length - 1] = requestId;
  let names: string[] | undefined;
  const put = (name: string, value: OutgoingHttpHeader | undefined) => {
    if (value === undefined) return;
    names ??= stamp.names.slice();
    const at = names.indexOf(name.toLowerCase());
    if (at < 0) {
      names.push(name.toLowerCase());
      flat.push(name, value);
    } else {
      flat[2 * at] = name;
      flat[2 * at + 1] = value;
    }
  };
  for (let i = 0; i < early.length; i += 2) put(early[i]!, early[i + 1]);
  if (given !== undefined) for (const k in given) put(k, given[k]);
  return flat;
}
