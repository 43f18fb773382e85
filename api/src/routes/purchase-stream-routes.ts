import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { PurchaseView } from '../domain/purchase-status.js';
import type { AppEnv } from '../http/app-env.js';
import { IdParam, problems } from '../http/schemas.js';
import { validationHook } from '../http/validation-hook.js';
import type { DecisionFeed, DecisionSignal } from '../live/decision-feed.js';
import { type LiveStreams, pause } from '../live/live-streams.js';

/** How often a follower reads the stored state while decisions do not arrive live (backplane down). */
const OFFLINE_POLL_MS = 2_000;
/** ...and while they do: a decision message is best effort, so the stored state is read now and then anyway. */
const LIVE_POLL_MS = 15_000;
/** The client's reconnection delay, sent with the first event. */
const RETRY_MS = 2_000;

const streamRoute = createRoute({
  method: 'get',
  path: '/purchases/{purchaseId}/events',
  tags: ['purchases'],
  summary: 'Follow a purchase until it is decided (server-sent events)',
  description: [
    'An event stream: first the stored state (event `queued`, `confirmed` or `rejected`, data the Purchase as JSON),',
    'then, while queued, the decision the moment the worker commits it; the stream ends after a final state.',
    'A reconnect starts again from the stored state, so nothing is missed. Comment lines keep the stream alive.',
    'An EventSource reconnects whenever a stream ends: close it on `confirmed` or `rejected`.',
  ].join(' '),
  request: { params: IdParam('purchaseId') },
  responses: {
    200: {
      description: 'text/event-stream of `queued`, `confirmed`, `rejected` events, each with the Purchase as data',
      content: {
        'text/event-stream': {
          schema: z.string().openapi({
            example:
              'retry: 2000\nevent: queued\ndata: {"purchaseId":"…","status":"queued",…}\n\nevent: confirmed\ndata: {"purchaseId":"…","status":"confirmed",…}\n\n',
          }),
        },
      },
    },
    ...problems(400, 404, 503),
  },
});

/** GET /purchases/{id}/events: the purchase's state pushed, from the stored one to the decision. */
export function purchaseStreamRoutes(deps: {
  status: (purchaseId: string) => Promise<PurchaseView>;
  feed: DecisionFeed;
  live: LiveStreams;
}) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.openapi(streamRoute, async (c) => {
    const { purchaseId } = c.req.valid('param');
    // Watching before the first read: a decision made between the two is not lost.
    const heard: DecisionSignal[] = [];
    let wake = () => {};
    const unwatch = deps.feed.watch(purchaseId, (signal) => {
      heard.push(signal);
      wake();
    });
    let view: PurchaseView;
    try {
      // Unknown purchase, bad id, Postgres away with nothing in Redis: problem+json, not a stream.
      view = await deps.status(purchaseId);
    } catch (err) {
      unwatch();
      throw err;
    }

    return deps.live.open(c, async (session) => {
      const send = (v: PurchaseView, first = false) =>
        session.stream.writeSSE({ event: v.status, data: JSON.stringify(v), ...(first ? { retry: RETRY_MS } : {}) });
      try {
        await send(view, true);
        while (view.status === 'queued' && !session.isEnded()) {
          if (heard.length === 0) {
            const signalled = new Promise<void>((resolve) => {
              wake = resolve;
            });
            await pause(deps.feed.isLive() ? LIVE_POLL_MS : OFFLINE_POLL_MS, signalled, session.ended);
          }
          if (session.isEnded()) break;
          const signal = heard.shift();
          if (signal?.kind === 'decided') {
            const d = signal.decision;
            view = { ...view, status: d.status, reason: d.reason, decidedAt: d.decidedAt };
          } else {
            // Missed decisions, or time to look: the stored state, as a new request would read it.
            view = await deps.status(purchaseId).catch(() => view);
          }
          if (view.status !== 'queued') await send(view);
        }
      } finally {
        unwatch();
      }
    }) as never;
  });

  return app;
}
