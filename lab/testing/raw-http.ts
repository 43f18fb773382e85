import { connect } from 'node:net';

/** The first response read off a raw connection, or how the connection ended without one. */
export interface RawResponse {
  /** 0 when the server closed or reset the connection without answering. */
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Milliseconds from connecting to the end of the response or of the connection. */
  ms: number;
  /** True when the connection was closed or reset by the server (not by the timeout). */
  closedByServer: boolean;
}

/**
 * Sends bytes exactly as given over a new TCP connection (what fetch refuses to send:
 * malformed request lines, odd methods, raw UTF-8, HTTP/1.0 without Host) and reads the
 * first response. With `everyMs`, the parts are written one by one that far apart (a
 * slow client); writing stops once the server answered or closed.
 */
export function rawHttp(
  port: number,
  parts: (string | Buffer)[],
  options: { everyMs?: number; timeoutMs?: number; host?: string } = {},
): Promise<RawResponse> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 5_000;
  return new Promise((resolve) => {
    const socket = connect(port, options.host ?? '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(deadline);
      socket.destroy();
      resolve({ ...parseResponse(Buffer.concat(chunks)), ms: Date.now() - started, closedByServer });
    };
    const deadline = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      if (responseComplete(Buffer.concat(chunks))) finish(false);
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    let next = 0;
    const writeNext = () => {
      if (done || next >= parts.length) return;
      socket.write(parts[next++]!);
      if (options.everyMs !== undefined) timer = setTimeout(writeNext, options.everyMs);
      else writeNext();
    };
    socket.on('connect', writeNext);
  });
}

function splitHead(raw: Buffer): { head: string; body: Buffer } | undefined {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  return { head: raw.subarray(0, end).toString('latin1'), body: raw.subarray(end + 4) };
}

function headersOf(head: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function responseComplete(raw: Buffer): boolean {
  const parts = splitHead(raw);
  if (!parts) return false;
  const length = headersOf(parts.head)['content-length'];
  return length !== undefined && parts.body.length >= Number(length);
}

function parseResponse(raw: Buffer): Pick<RawResponse, 'status' | 'headers' | 'body'> {
  const parts = splitHead(raw);
  if (!parts) return { status: 0, headers: {}, body: raw.toString('utf8') };
  const status = Number(/^HTTP\/\d(?:\.\d)? (\d{3})/.exec(parts.head)?.[1] ?? 0);
  const headers = headersOf(parts.head);
  const length = headers['content-length'];
  const body = length === undefined ? parts.body : parts.body.subarray(0, Number(length));
  return { status, headers, body: body.toString('utf8') };
}
