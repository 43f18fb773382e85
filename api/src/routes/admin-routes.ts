import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { BackplanePublisher } from '@stampede/core/backplane';
import type { Sql } from '@stampede/core/db';
import { AppError, mapPostgresError } from '@stampede/core/errors';
import { createEvent, saleStats, setSaleOpen } from '@stampede/core/events';
import type { Catalog } from '../domain/catalog.js';
import { requireAdminToken } from '../http/admin-auth.js';
import type { AppEnv } from '../http/app-env.js';
import { jsonBody } from '../http/json-body.js';
import { EventWithTiersSchema, IdParam, problems, Timestamp } from '../http/schemas.js';
import { validationHook } from '../http/validation-hook.js';

const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters');

const NewEventSchema = z
  .object({
    name: text(200),
    venue: text(200).default('TBA'),
    startsAt: Timestamp(),
    saleOpensAt: Timestamp().optional().openapi({ description: 'Defaults to now.' }),
    saleClosesAt: Timestamp().nullable().optional(),
    tiers: z
      .array(
        z
          .object({
            name: text(100),
            priceCents: z.number().int().min(0).max(100_000_000),
            capacity: z.number().int().min(1).max(1_000_000),
            buckets: z.number().int().min(1).max(64).optional().openapi({
              description:
                'Buckets its stock is split into, so that several workers decide it in parallel (a hot tier). Defaults to 1; at most its capacity.',
            }),
          })
          .strict(),
      )
      .min(1)
      .max(20)
      .refine((tiers) => new Set(tiers.map((t) => t.name)).size === tiers.length, 'tier names must be unique'),
  })
  .strict()
  .refine(
    (e) => !e.saleClosesAt || Date.parse(e.saleClosesAt) > Date.parse(e.saleOpensAt ?? new Date().toISOString()),
    'saleClosesAt must be after saleOpensAt',
  )
  .openapi('NewEvent');

const StatsSchema = z
  .object({
    eventId: z.uuid(),
    tiers: z.array(
      z.object({
        tierId: z.uuid(),
        name: z.string(),
        capacity: z.number().int(),
        sold: z.number().int(),
        confirmedPurchases: z.number().int(),
        rejected: z.record(z.string(), z.number().int()),
      }),
    ),
  })
  .openapi('SaleStats');

const secured = { security: [{ AdminBearer: [] }] };
const authProblems = problems(401, 403);

/** Admin routes: create an event, open and close its sale, read its statistics. Bearer-token protected. */
export function adminRoutes(deps: { sql: Sql; token: string; catalog: Catalog; backplane: BackplanePublisher }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openAPIRegistry.registerComponent('securitySchemes', 'AdminBearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'ADMIN_TOKEN',
  });
  app.use('/admin/*', requireAdminToken(deps.token));

  const create = createRoute({
    method: 'post',
    path: '/admin/events',
    tags: ['admin'],
    summary: 'Create an event with its tiers',
    ...secured,
    middleware: jsonBody(16_384),
    request: { body: { required: true, content: { 'application/json': { schema: NewEventSchema } } } },
    responses: {
      201: { description: 'Created', content: { 'application/json': { schema: EventWithTiersSchema } } },
      ...authProblems,
      ...problems(400, 413, 415),
    },
  });
  const sale = (action: 'open' | 'close') =>
    createRoute({
      method: 'post',
      path: `/admin/events/{eventId}/sale/${action}`,
      tags: ['admin'],
      summary: `${action === 'open' ? 'Open' : 'Close'} the sale now`,
      ...secured,
      description:
        'Every replica hears of the change on the backplane at once; while the backplane is down, within its catalog TTL (5 s).',
      request: { params: IdParam('eventId') },
      responses: { 204: { description: 'Done' }, ...authProblems, ...problems(400, 404) },
    });
  const stats = createRoute({
    method: 'get',
    path: '/admin/events/{eventId}/stats',
    tags: ['admin'],
    summary: 'Sale statistics per tier (from Postgres)',
    ...secured,
    request: { params: IdParam('eventId') },
    responses: {
      200: { description: 'Statistics', content: { 'application/json': { schema: StatsSchema } } },
      ...authProblems,
      ...problems(400, 404),
    },
  });

  app.openapi(create, async (c) => {
    const b = c.req.valid('json');
    try {
      const event = await createEvent(deps.sql, {
        name: b.name,
        venue: b.venue,
        startsAt: new Date(b.startsAt),
        saleOpensAt: b.saleOpensAt ? new Date(b.saleOpensAt) : new Date(),
        saleClosesAt: b.saleClosesAt ? new Date(b.saleClosesAt) : null,
        tiers: b.tiers,
      });
      // Announced like every admin change: a replica drops whatever it holds under this id.
      await deps.backplane.publish({
        kind: 'event_changed',
        change: 'created',
        eventId: event.id,
        saleOpensAt: event.saleOpensAt.toISOString(),
        saleClosesAt: event.saleClosesAt?.toISOString() ?? null,
      });
      c.env.log.info({ event: 'admin.event_created', eventId: event.id, tiers: event.tiers.length }, 'event created');
      const json = {
        id: event.id,
        name: event.name,
        venue: event.venue,
        startsAt: event.startsAt.toISOString(),
        saleOpensAt: event.saleOpensAt.toISOString(),
        saleClosesAt: event.saleClosesAt?.toISOString() ?? null,
        tiers: event.tiers,
      };
      c.header('Location', `/events/${event.id}`);
      return c.json(json, 201);
    } catch (err) {
      throw mapPostgresError(err);
    }
  });

  for (const action of ['open', 'close'] as const) {
    app.openapi(sale(action), async (c) => {
      const { eventId } = c.req.valid('param');
      const window = await setSaleOpen(deps.sql, eventId, action === 'open');
      if (!window) throw new AppError('event_not_found', `Event ${eventId} does not exist.`);
      deps.catalog.forget(eventId);
      // Committed, so every replica may apply it now; the answer waits for the publish (one round trip).
      await deps.backplane.publish({
        kind: 'event_changed',
        change: action === 'open' ? 'sale_opened' : 'sale_closed',
        eventId,
        saleOpensAt: window.saleOpensAt.toISOString(),
        saleClosesAt: window.saleClosesAt?.toISOString() ?? null,
      });
      c.env.log.info({ event: `admin.sale_${action}ed`, eventId }, `sale ${action}ed`);
      return c.body(null, 204);
    });
  }

  app.openapi(stats, async (c) => {
    const { eventId } = c.req.valid('param');
    const tiers = await saleStats(deps.sql, eventId);
    if (tiers.length === 0) throw new AppError('event_not_found', `Event ${eventId} does not exist.`);
    return c.json({ eventId, tiers }, 200);
  });
  return app;
}
