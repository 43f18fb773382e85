import { randomUUID } from 'node:crypto';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { AppError } from '@stampede/core/errors';
import type { RoomTokens, WaitingRoom } from '@stampede/core/waiting-room';
import { requireAdminToken } from '../http/admin-auth.js';
import type { AppEnv } from '../http/app-env.js';
import { jsonBody } from '../http/json-body.js';
import { setResponseHeaders } from '../http/node-headers.js';
import { IdParam, problems } from '../http/schemas.js';
import { validationHook } from '../http/validation-hook.js';
import type { RoomGuard } from './room-guard.js';
import { roomPage } from './room-page.js';

export interface RoomRoutesDeps {
  room: WaitingRoom;
  tokens: RoomTokens;
  guard: RoomGuard;
  adminToken: string | undefined;
  tokenTtlS: number;
  pollS: number;
  passTtlS: number;
}

const JoinedSchema = z
  .object({
    token: z.string().openapi({ description: 'The signed queue token (docs/waiting-room.md).' }),
    statusUrl: z.string(),
    preQueue: z.boolean().openapi({ description: 'Joined before the opening: the place is drawn at random.' }),
  })
  .openapi('QueueTicket');

const PositionSchema = z
  .object({
    status: z.enum(['waiting', 'admitted', 'open']),
    position: z.number().int().nullable().optional(),
    preQueue: z.boolean().optional(),
    expectedWaitSeconds: z.number().int().nullable().optional(),
    pollAfterSeconds: z.number().int().optional(),
    pass: z.string().optional().openapi({ description: 'Send as Authorization: Bearer <pass> with the purchase.' }),
    expiresAt: z.string().optional(),
  })
  .openapi('QueuePosition');

const SettingsSchema = z
  .object({
    enabled: z.boolean(),
    releasePerMinute: z.number().int().min(0).max(1_000_000).default(0),
    maxInside: z.number().int().min(0).max(1_000_000).default(0),
  })
  .strict()
  .refine((s) => !s.enabled || s.releasePerMinute > 0 || s.maxInside > 0, 'set releasePerMinute or maxInside')
  .openapi('WaitingRoomSettings');

const join = createRoute({
  method: 'post',
  path: '/events/{eventId}/waiting-room',
  tags: ['waiting room'],
  summary: 'Join the line: a signed queue token',
  request: { params: IdParam('eventId') },
  responses: {
    201: { description: 'In line', content: { 'application/json': { schema: JoinedSchema } } },
    ...problems(400, 409, 503),
  },
});

const position = createRoute({
  method: 'get',
  path: '/events/{eventId}/waiting-room',
  tags: ['waiting room'],
  summary: 'Place in line and expected wait (JSON, or an HTML page for a browser)',
  description:
    'One Redis call. 202 while waiting (cacheable for pollAfterSeconds), 200 with a pass once released. Polling is the heartbeat: a buyer who stops is skipped.',
  request: {
    params: IdParam('eventId'),
    query: z.object({
      token: z
        .string()
        .min(1)
        .max(2048)
        .openapi({ param: { name: 'token', in: 'query' } }),
    }),
  },
  responses: {
    202: {
      description: 'Waiting',
      content: { 'application/json': { schema: PositionSchema }, 'text/html': { schema: z.string() } },
    },
    200: {
      description: 'Released, or no room on',
      content: { 'application/json': { schema: PositionSchema }, 'text/html': { schema: z.string() } },
    },
    ...problems(400, 403, 410, 503),
  },
});

const secured = { security: [{ AdminBearer: [] }] };
const configure = createRoute({
  method: 'put',
  path: '/admin/events/{eventId}/waiting-room',
  tags: ['admin'],
  summary: 'Turn the waiting room on or off, with its release rate and/or most buyers inside',
  ...secured,
  middleware: jsonBody(1_024),
  request: {
    params: IdParam('eventId'),
    body: { required: true, content: { 'application/json': { schema: SettingsSchema } } },
  },
  responses: { 204: { description: 'Done' }, ...problems(400, 401, 403, 404, 415) },
});

const RoomStateSchema = z
  .object({
    enabled: z.boolean(),
    releasePerMinute: z.number().int(),
    maxInside: z.number().int(),
    opensAt: z.string(),
    released: z.number().int(),
    skipped: z.number().int(),
    waiting: z.number().int(),
    inside: z.number().int(),
  })
  .openapi('WaitingRoomState');

const inspect = createRoute({
  method: 'get',
  path: '/admin/events/{eventId}/waiting-room',
  tags: ['admin'],
  summary: 'The waiting room of an event: knobs and counts',
  ...secured,
  request: { params: IdParam('eventId') },
  responses: {
    200: { description: 'The room', content: { 'application/json': { schema: RoomStateSchema } } },
    ...problems(400, 401, 403, 404),
  },
});

/**
 * The longer of what the rate and the cap allow: `place` buyers at releasePerMinute, or, with
 * maxInside, a turn of the slots per pass life (the worst case: slots free when passes expire).
 * Null when neither is set.
 */
function expectedWait(place: number, at: { releasePerMinute: number; maxInside: number }, passTtlS: number) {
  const byRate = at.releasePerMinute > 0 ? Math.ceil((place * 60) / at.releasePerMinute) : 0;
  const byCap = at.maxInside > 0 ? Math.ceil(place / at.maxInside) * passTtlS : 0;
  return byRate === 0 && byCap === 0 ? null : Math.max(byRate, byCap);
}

const wantsHtml = (accept: string | undefined) => accept !== undefined && /\btext\/html\b/.test(accept);

/** The waiting room's buyer endpoints (join, position) and its admin knobs. */
export function roomRoutes(deps: RoomRoutesDeps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  /** A call on the line: with Redis away, a 503 that says when to try again, not a 500. */
  async function onLine<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppError('service_unavailable', 'The waiting room cannot be reached right now; try again shortly.', {
        cause: err,
        headers: { 'Retry-After': String(deps.pollS) },
      });
    }
  }

  app.openapi(join, async (c) => {
    const { eventId } = c.req.valid('param');
    let joined = await onLine(() => deps.room.join(eventId));
    // Off, or unknown to a Redis that restarted empty: put back from Postgres, then once more.
    if (joined.kind === 'off' && (await deps.guard.isOn(eventId, true)))
      joined = await onLine(() => deps.room.join(eventId));
    if (joined.kind === 'off') throw new AppError('waiting_room_off', `Event ${eventId} has no waiting room on.`);
    const token = await deps.tokens.signQueueToken({
      eventId,
      place: joined.place,
      jti: joined.jti,
      ttlS: deps.tokenTtlS,
    });
    const statusUrl = `/events/${eventId}/waiting-room?token=${token}`;
    setResponseHeaders(c, { Location: statusUrl, 'Cache-Control': 'no-store' });
    return c.json({ token, statusUrl, preQueue: Date.now() < joined.opensAtMs }, 201);
  });

  app.openapi(position, async (c) => {
    const { eventId } = c.req.valid('param');
    const queued = await deps.tokens.verifyQueueToken(c.req.valid('query').token, eventId);
    const now = Date.now();
    let at = await onLine(() => deps.room.poll(eventId, queued, now));
    if (at.kind === 'off' && (await deps.guard.isOn(eventId, true)))
      at = await onLine(() => deps.room.poll(eventId, queued, now));
    const html = wantsHtml(c.req.header('accept'));
    if (at.kind === 'left')
      throw new AppError(
        'left_waiting_room',
        at.why === 'skipped'
          ? 'Your turn came while this token was not polling; join again.'
          : 'This token was released and its pass has expired; join again.',
      );
    if (at.kind === 'off') {
      setResponseHeaders(c, { 'Cache-Control': 'no-store' });
      return c.json({ status: 'open' as const }, 200);
    }
    if (at.kind === 'admitted') {
      const pass = await deps.tokens.signPass({
        eventId,
        subject: queued.jti,
        jti: randomUUID(),
        expiresAtMs: at.expiresAtMs,
      });
      const expiresAt = new Date(at.expiresAtMs).toISOString();
      // A pass is a credential: never cached anywhere.
      setResponseHeaders(c, { 'Cache-Control': 'no-store' });
      if (html)
        return c.html(roomPage({ eventId, status: 'admitted', pass, expiresAt, refreshSeconds: deps.pollS })) as never;
      return c.json({ status: 'admitted' as const, pass, expiresAt }, 200);
    }
    const preQueue = now < at.opensAtMs;
    const place = preQueue ? null : at.rank + 1;
    const expectedWaitSeconds = place === null ? null : expectedWait(place, at, deps.passTtlS);
    // The answer is the same for pollAfterSeconds: an edge cache keyed by the URL (the token)
    // may answer the repeats, which is why the heartbeat is far longer than a poll.
    setResponseHeaders(c, {
      'Cache-Control': `public, max-age=${deps.pollS}`,
      'Retry-After': String(deps.pollS),
      Vary: 'Accept',
    });
    if (html)
      return c.html(
        roomPage({
          eventId,
          status: 'waiting',
          position: place ?? undefined,
          preQueue,
          expectedWaitSeconds,
          refreshSeconds: deps.pollS,
        }),
        202,
      ) as never;
    return c.json(
      { status: 'waiting' as const, position: place, preQueue, expectedWaitSeconds, pollAfterSeconds: deps.pollS },
      202,
    );
  });

  if (deps.adminToken) {
    app.use('/admin/events/:eventId/waiting-room', requireAdminToken(deps.adminToken));
    app.openapi(configure, async (c) => {
      const { eventId } = c.req.valid('param');
      const s = c.req.valid('json');
      if (!(await deps.guard.configure(eventId, s)))
        throw new AppError('event_not_found', `Event ${eventId} does not exist.`);
      c.env.log.info({ event: 'admin.waiting_room', eventId, ...s }, `waiting room ${s.enabled ? 'on' : 'off'}`);
      return c.body(null, 204);
    });
    app.openapi(inspect, async (c) => {
      const { eventId } = c.req.valid('param');
      const s = await deps.room.state(eventId);
      if (!s) throw new AppError('not_found', `Event ${eventId} has never had a waiting room.`);
      const { opensAtMs, ...rest } = s;
      return c.json({ ...rest, opensAt: new Date(opensAtMs).toISOString() }, 200);
    });
  }
  return app;
}
