import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStamp, StampedResponse } from '../src/http/stamped-response.js';

// Each request's path says how its handler answers: the stamp must join every way a
// head is written, once per header, and a header the handler gave itself must win.
const stamp = createStamp({ 'X-Served-By': 'api-t', 'X-Frame-Options': 'SAMEORIGIN', 'X-XSS-Protection': '0' });
const handlers: Record<string, (res: StampedResponse) => void> = {
  '/plain': (res) => res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok'),
  '/none': (res) => res.writeHead(204).end(),
  '/implicit': (res) => res.end('ok'),
  '/own': (res) => res.writeHead(200, { 'x-frame-options': 'DENY', 'X-Request-Id': 'mine' }).end('ok'),
  '/progressive': (res) => {
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Location', '/there');
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
  },
  '/kept': (res) => {
    res.keep('X-Frame-Options', 'DENY');
    res.keep('Location', '/there');
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
  },
  '/kept-then-own': (res) => {
    res.keep('Location', '/first');
    res.keep('Location', '/there');
    res.keep('X-Request-Id', 'kept');
    res.writeHead(200, { 'x-request-id': 'mine', 'x-frame-options': 'DENY' }).end('ok');
  },
  '/kept-apart': (res) => {
    res.keep('Location', '/first');
    res.keep('Cache-Control', 'no-store');
    res.writeHead(200, { Location: '/there', 'Content-Type': 'text/plain' }).end('ok');
  },
  '/list': (res) => res.writeHead(200, 'Fine', ['Content-Type', 'text/plain']).end('ok'),
};

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer({ ServerResponse: StampedResponse }, (req, res) => {
    res.stamp = stamp;
    res.requestId = 'req-1';
    handlers[req.url ?? '']!(res as StampedResponse);
  }) as unknown as Server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('StampedResponse', () => {
  it('when a stamped header is not a valid header, then the stamp is refused when it is made, not on a response', () => {
    expect(() => createStamp({ 'X-Served-By': 'api\r\nSet-Cookie: x=1' })).toThrow();
    expect(() => createStamp({ 'Bad Name': 'x' })).toThrow();
  });

  it.each([
    ['/plain', 'SAMEORIGIN', 'req-1'],
    ['/none', 'SAMEORIGIN', 'req-1'],
    ['/implicit', 'SAMEORIGIN', 'req-1'],
    ['/own', 'DENY', 'mine'],
    ['/progressive', 'DENY', 'req-1'],
    ['/kept', 'DENY', 'req-1'],
    ['/kept-then-own', 'DENY', 'mine'],
    ['/kept-apart', 'SAMEORIGIN', 'req-1'],
    ['/list', 'SAMEORIGIN', 'req-1'],
  ])('when a handler answers %s, then every stamped header is sent once and its own win', async (path, frame, id) => {
    const res = await fetch(`${base}${path}`);
    await res.arrayBuffer();
    expect(res.headers.get('x-served-by')).toBe('api-t');
    expect(res.headers.get('x-xss-protection')).toBe('0');
    expect(res.headers.get('x-frame-options')).toBe(frame);
    expect(res.headers.get('x-request-id')).toBe(id);
    if (path === '/progressive' || path.startsWith('/kept')) expect(res.headers.get('location')).toBe('/there');
    if (path === '/kept-apart') expect(res.headers.get('cache-control')).toBe('no-store');
  });
});
