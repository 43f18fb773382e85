import type { WireRequest } from './bench-types.js';

/** The bytes of one HTTP/1.1 keep-alive request. */
export function encodeRequest(host: string, r: WireRequest): Buffer {
  let head = `${r.method} ${r.path} HTTP/1.1\r\nHost: ${host}\r\n`;
  for (const [name, value] of Object.entries(r.headers ?? {})) head += `${name}: ${value}\r\n`;
  if (r.body !== undefined) head += `Content-Length: ${Buffer.byteLength(r.body)}\r\n`;
  return Buffer.from(`${head}\r\n${r.body ?? ''}`);
}

/** One complete response off the wire. */
export interface WireResponse {
  status: number;
  body: string;
  /** The server said `Connection: close`: the socket is not reused. */
  close: boolean;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CHUNKED_END = Buffer.from('0\r\n\r\n');

/**
 * Cuts responses out of a keep-alive byte stream. Enough HTTP/1.1 for nginx's answers to
 * the benchmark: a Content-Length body, or a chunked one (whose end is the zero chunk;
 * the body is then returned with its chunk framing, which is fine for finding an id).
 */
export class ResponseParser {
  private buffer: Buffer = Buffer.alloc(0);

  /** Feeds bytes; returns the responses they completed (usually zero or one). */
  push(chunk: Buffer): WireResponse[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const out: WireResponse[] = [];
    for (;;) {
      const end = this.buffer.indexOf(HEADER_END);
      if (end < 0) return out;
      const head = this.buffer.subarray(0, end).toString('latin1');
      const status = Number(head.slice(9, 12));
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      const bodyStart = end + 4;
      let bodyEnd: number;
      if (length) {
        bodyEnd = bodyStart + Number(length[1]);
        if (this.buffer.length < bodyEnd) return out;
      } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
        const zero = this.buffer.indexOf(CHUNKED_END, bodyStart);
        if (zero < 0) return out;
        bodyEnd = zero + CHUNKED_END.length;
      } else {
        bodyEnd = bodyStart; // 204/304 or a body-less error: nothing to wait for
      }
      out.push({
        status,
        body: this.buffer.subarray(bodyStart, bodyEnd).toString('utf8'),
        close: /\r\nconnection:\s*close/i.test(head),
      });
      this.buffer = this.buffer.subarray(bodyEnd);
    }
  }

  reset(): void {
    this.buffer = Buffer.alloc(0);
  }
}
