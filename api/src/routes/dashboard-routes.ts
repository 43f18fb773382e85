import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { DASHBOARD_PAGE } from '../dashboard/dashboard-page.js';
import type { DashboardSampler, DashboardUpdate } from '../dashboard/sampler.js';
import type { AppEnv } from '../http/app-env.js';
import { setResponseHeaders } from '../http/node-headers.js';
import { CanonicalId, problems } from '../http/schemas.js';
import { validationHook } from '../http/validation-hook.js';
import type { LiveStreams } from '../live/live-streams.js';

const pageRoute = createRoute({
  method: 'get',
  path: '/dashboard',
  tags: ['dashboard'],
  summary: 'The live dashboard of the sale (a page for a browser)',
  description:
    'Charts of the last five minutes, fed by /dashboard/stream. `?event=<id>` picks the event; by default the first one on sale.',
  responses: { 200: { description: 'The page', content: { 'text/html': { schema: z.string() } } } },
});

const streamRoute = createRoute({
  method: 'get',
  path: '/dashboard/stream',
  tags: ['dashboard'],
  summary: "The dashboard's figures, one frame a second (server-sent events)",
  description: [
    'First a `history` event (the frames and timeline marks this replica holds, up to five minutes),',
    'then a `frame` event each second: tickets left per tier of `eventId`, admissions per second by outcome,',
    'queue depth and drain rate, worker up, requests per replica, p50/p99 latency, dependency health, and the marks',
    'detected since the last frame. One sampler per replica serves every viewer; it runs only while someone watches.',
  ].join(' '),
  request: {
    query: z.object({
      eventId: CanonicalId('eventId')
        .optional()
        .openapi({ param: { name: 'eventId', in: 'query' } }),
    }),
  },
  responses: {
    200: {
      description: 'text/event-stream of `history` then `frame` events, JSON data',
      content: { 'text/event-stream': { schema: z.string() } },
    },
    ...problems(400),
  },
});

/** GET /dashboard (the page) and /dashboard/stream (its figures). */
export function dashboardRoutes(deps: { sampler: DashboardSampler; live: LiveStreams; instance: string }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.openapi(pageRoute, (c) => {
    setResponseHeaders(c, { 'Cache-Control': 'no-cache' });
    return c.html(DASHBOARD_PAGE, 200);
  });

  app.openapi(streamRoute, (c) => {
    const { eventId } = c.req.valid('query');
    return deps.live.open(c, async (session) => {
      let sending = Promise.resolve();
      const viewer = (u: DashboardUpdate) => {
        // In order, one write at a time. A stalled viewer holds at most the frames of one stream's life (5 min).
        sending = sending
          .then(() => session.stream.writeSSE({ event: 'frame', data: JSON.stringify(u) }))
          .catch(() => undefined);
      };
      const watching = deps.sampler.watch(eventId, viewer);
      try {
        await session.stream.writeSSE({
          event: 'history',
          retry: 2_000,
          data: JSON.stringify({ instance: deps.instance, frames: watching.frames, marks: watching.marks }),
        });
        await session.ended;
      } finally {
        watching.stop();
      }
    }) as never;
  });

  return app;
}
