import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Sql } from '@stampede/core/db';
import { AppError, mapPostgresError } from '@stampede/core/errors';
import { type Availability, type EventRow, findEventWithTiers, listEvents } from '@stampede/core/events';
import type { AvailabilityService } from '../domain/availability-service.js';
import type { AppEnv } from '../http/app-env.js';
import { setResponseHeaders } from '../http/node-headers.js';
import { AvailabilitySchema, EventSchema, EventWithTiersSchema, IdParam, problems } from '../http/schemas.js';
import { pathId, validationHook } from '../http/validation-hook.js';

const listRoute = createRoute({
  method: 'get',
  path: '/events',
  tags: ['events'],
  summary: 'List events',
  responses: {
    200: {
      description: 'Events, soonest first',
      content: { 'application/json': { schema: z.object({ events: z.array(EventSchema) }) } },
    },
    ...problems(503),
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/events/{eventId}',
  tags: ['events'],
  summary: 'An event with its tiers',
  request: { params: IdParam('eventId') },
  responses: {
    200: { description: 'The event', content: { 'application/json': { schema: EventWithTiersSchema } } },
    ...problems(400, 404, 503),
  },
});

const availabilityRoute = createRoute({
  method: 'get',
  path: '/events/{eventId}/availability',
  tags: ['events'],
  summary: 'Remaining tickets per tier (cached)',
  description:
    "Cache-aside in two levels, the replica's memory (L1) and Redis (L2). X-Cache says hit (X-Cache-Level: l1 or l2), miss, bypass (Redis unavailable) or stale (Postgres unavailable, last known value).",
  request: { params: IdParam('eventId') },
  responses: {
    200: { description: 'Availability', content: { 'application/json': { schema: AvailabilitySchema } } },
    ...problems(400, 404, 503),
  },
});

function eventJson(e: EventRow) {
  return {
    id: e.id,
    name: e.name,
    venue: e.venue,
    startsAt: e.startsAt.toISOString(),
    saleOpensAt: e.saleOpensAt.toISOString(),
    saleClosesAt: e.saleClosesAt?.toISOString() ?? null,
  };
}

/** Reads from Postgres, turning an unreachable database into a 503 problem. */
async function fromDatabase<T>(query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (err) {
    throw mapPostgresError(err);
  }
}

/** GET routes of the read path: events, one event, availability. */
export function eventRoutes(deps: { sql: Sql; availability: AvailabilityService }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.openapi(listRoute, async (c) => {
    const events = await fromDatabase(() => listEvents(deps.sql));
    return c.json({ events: events.map(eventJson) }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { eventId } = c.req.valid('param');
    const event = await fromDatabase(() => findEventWithTiers(deps.sql, eventId));
    if (!event) throw new AppError('event_not_found', `Event ${eventId} does not exist.`);
    return c.json({ ...eventJson(event), tiers: event.tiers }, 200);
  });

  // A hit answers the same document object until it is replaced, so its JSON is written once.
  const bodies = new WeakMap<Availability, string>();
  // Documented as an OpenAPI route, served as a plain one that checks its id in the handler:
  // zod's async validator middleware was a twentieth of a cached read's CPU.
  app.openAPIRegistry.registerPath(availabilityRoute);
  const availabilityParams = IdParam('eventId');
  app.get('/events/:eventId/availability', async (c) => {
    const eventId = pathId(availabilityParams, 'eventId', c.req.param('eventId'));
    const { value, source, level } = await deps.availability.get(eventId);
    const stale = source === 'stale';
    let body = stale ? undefined : bodies.get(value);
    if (body === undefined) {
      body = JSON.stringify({ ...value, stale });
      if (!stale) bodies.set(value, body);
    }
    setResponseHeaders(c, {
      'X-Cache': source,
      ...(level ? { 'X-Cache-Level': level } : {}),
      'Cache-Control': 'no-store',
    });
    return c.body(body, 200, { 'Content-Type': 'application/json' }) as never;
  });

  return app;
}
