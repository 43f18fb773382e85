import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { AppError } from '@stampede/core/errors';
import { CANONICAL_UUID, PURCHASE_STATUSES, REJECTION_REASONS } from '@stampede/core/purchases';
import type { PurchaseOutcome, PurchaseService } from '../domain/purchase-service.js';
import type { createPurchaseStatus } from '../domain/purchase-status.js';
import type { AppEnv } from '../http/app-env.js';
import { jsonBodyReader, requireIdempotencyKey } from '../http/json-body.js';
import { requestHeader, setResponseHeaders } from '../http/node-headers.js';
import { handleError } from '../http/problem.js';
import { CanonicalId, IdParam, problems } from '../http/schemas.js';
import { pathId, validated, validationHook } from '../http/validation-hook.js';
import type { RoomGuard } from '../waiting-room/room-guard.js';

/** Buyer ids: printable, no control characters, bounded. */
const BUYER_ID = /^[\p{L}\p{N}_.@:+-]{1,64}$/u;

export function purchaseBodySchema(maxQuantity: number) {
  return z
    .object({
      tierId: CanonicalId('tierId').openapi({ example: '00000000-0000-4000-8000-0000000000a2' }),
      quantity: z.number().int().min(1).max(maxQuantity).openapi({ example: 2 }),
      buyerId: z
        .string()
        .regex(BUYER_ID, 'buyerId must be 1–64 letters, digits or _ . @ : + -')
        .openapi({ example: 'buyer-42' }),
    })
    .strict()
    .openapi('PurchaseRequest');
}

type PurchaseBody = z.output<ReturnType<typeof purchaseBodySchema>>;

/**
 * The purchase body checked by hand when it is already in the form the schema outputs
 * (nearly every request's): only what purchaseBodySchema accepts, returned as it returns
 * it. Anything else is undefined and goes to the schema, which decides and says why.
 * zod's parse was a tenth of a sold-out answer's CPU.
 */
export function canonicalPurchaseBody(value: unknown, maxQuantity: number): PurchaseBody | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { tierId, quantity, buyerId } = value as Record<string, unknown>;
  if (Object.keys(value).length !== 3) return undefined;
  if (typeof tierId !== 'string' || !CANONICAL_UUID.test(tierId)) return undefined;
  if (typeof quantity !== 'number' || !Number.isSafeInteger(quantity) || quantity < 1 || quantity > maxQuantity)
    return undefined;
  if (typeof buyerId !== 'string' || !BUYER_ID.test(buyerId)) return undefined;
  return { tierId, quantity, buyerId };
}

const ReceiptSchema = z
  .object({
    purchaseId: z.uuid(),
    status: z.enum(PURCHASE_STATUSES),
    reason: z.string().optional(),
    statusUrl: z.string(),
  })
  .openapi('PurchaseReceipt');

const PurchaseViewSchema = z
  .object({
    purchaseId: z.uuid(),
    status: z.enum(PURCHASE_STATUSES),
    reason: z
      .string()
      .nullable()
      .openapi({ description: `Why a purchase was rejected: ${REJECTION_REASONS.join(', ')}.` }),
    eventId: z.uuid().nullable(),
    tierId: z.uuid().nullable(),
    quantity: z.number().int().nullable(),
    acceptedAt: z.string().nullable(),
    decidedAt: z.string().nullable(),
  })
  .openapi('Purchase');

/**
 * The HTTP status of what a purchase came to: 202 while it is queued (accepted now, or a
 * retry of one still queued), 200 for a retry of a decided one, 201 decided in the request.
 */
function httpStatusOf(outcome: PurchaseOutcome): 200 | 201 | 202 {
  if (outcome.status === 'queued') return 202;
  return outcome.kind === 'decided' ? 201 : 200;
}

/** POST a purchase (202 once durably queued) and GET its status. */
export function purchaseRoutes(deps: {
  purchases: PurchaseService;
  status: ReturnType<typeof createPurchaseStatus>;
  maxQuantity: number;
  maxBodyBytes?: number;
  /** The waiting room: while it is on for an event, a purchase needs its pass. */
  room?: RoomGuard;
}) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  const postRoute = createRoute({
    method: 'post',
    path: '/events/{eventId}/purchases',
    tags: ['purchases'],
    summary: 'Buy tickets (queued)',
    description:
      'Answered 202 only after the broker confirmed the persistent message. The same Idempotency-Key always returns the same purchase.',
    request: {
      params: IdParam('eventId'),
      headers: z.object({
        'idempotency-key': z
          .string()
          .optional()
          .openapi({
            param: {
              name: 'idempotency-key',
              in: 'header',
              required: true,
              description:
                'Idempotency-Key: 1–128 of A-Z a-z 0-9 _ . : -; the same key always returns the same purchase.',
            },
            example: '7b0c4a1e-2f59-4a8e-9a57-3f1c1f0d9b11',
          }),
      }),
      body: { required: true, content: { 'application/json': { schema: purchaseBodySchema(deps.maxQuantity) } } },
    },
    responses: {
      202: { description: 'Queued; poll the Location', content: { 'application/json': { schema: ReceiptSchema } } },
      200: {
        description: 'A replay of a purchase already decided',
        content: { 'application/json': { schema: ReceiptSchema } },
      },
      201: {
        description: 'Decided inside the request (PURCHASE_MODE=sync, the benchmark baseline)',
        content: { 'application/json': { schema: ReceiptSchema } },
      },
      ...problems(400, 401, 403, 404, 409, 413, 415, 422, 429, 503),
    },
  });

  const getRoute = createRoute({
    method: 'get',
    path: '/purchases/{purchaseId}',
    tags: ['purchases'],
    summary: 'What became of a purchase',
    request: { params: IdParam('purchaseId') },
    responses: {
      200: { description: 'The purchase', content: { 'application/json': { schema: PurchaseViewSchema } } },
      ...problems(400, 404, 503),
    },
  });

  // Documented as an OpenAPI route, served as a plain one: its handler validates the path
  // and body with the same schemas, synchronously, instead of four validator middleware
  // (path, headers, media type, body), each an async step, and the headers read as a web
  // Headers object; a sixth of an admission's CPU in Node.
  app.openAPIRegistry.registerPath(postRoute);
  const bodySchema = purchaseBodySchema(deps.maxQuantity);
  const paramSchema = IdParam('eventId');
  // The body read by the handler itself, not by a jsonBody middleware: one layer of Hono's
  // chain less, 3 % of a sold-out answer's CPU (A/B, 10 rounds).
  const readBody = jsonBodyReader(deps.maxBodyBytes ?? 4_096);
  app.post('/events/:eventId/purchases', async (c) => {
    const raw: unknown = await readBody(c);
    const eventId = pathId(paramSchema, 'eventId', c.req.param('eventId'));
    const body = canonicalPurchaseBody(raw, deps.maxQuantity) ?? validated('json', bodySchema, raw);
    const idempotencyKey = requireIdempotencyKey(requestHeader(c, 'idempotency-key'));
    // With the room on, the buyer is who the pass says, not who the body says.
    const passHolder = deps.room ? await deps.room.buyerOf(eventId, requestHeader(c, 'authorization')) : undefined;
    const buyerId = passHolder?.buyerId ?? body.buyerId;
    let outcome: PurchaseOutcome;
    try {
      // Written out, not `{ ...body, … }`: V8 gives a spread copy that then takes new members
      // a map of its own each time, so every later read of the request missed its inline
      // caches; a tenth of a sold-out answer's CPU (A/B, 8 rounds).
      outcome = await deps.purchases.purchase(
        {
          tierId: body.tierId,
          quantity: body.quantity,
          buyerId,
          eventId,
          idempotencyKey,
          requestId: c.env.requestId,
        },
        c.env.log,
      );
    } catch (err) {
      // A refusal (sold out above all, the answer of most requests in a spike) is answered
      // here by the one error handler rather than thrown on through every middleware: each
      // rethrow up the async chain was a visible share of a 409's CPU.
      if (err instanceof AppError) return handleError(err, c, c.env.log);
      throw err;
    }
    // A pass used frees its slot in the room for the next buyer, not only when it expires.
    // Not awaited: sent on the client's one connection before any later poll, so it is seen first.
    if (passHolder && outcome.kind !== 'replayed') void deps.room?.spent(eventId, passHolder);
    const statusUrl = `/purchases/${outcome.purchaseId}`;
    const replayed = outcome.kind === 'replayed';
    setResponseHeaders(c, { Location: statusUrl, ...(replayed ? { 'Idempotent-Replayed': 'true' } : {}) });
    const json = {
      purchaseId: outcome.purchaseId,
      status: outcome.status,
      ...(outcome.reason ? { reason: outcome.reason } : {}),
      statusUrl,
    };
    return c.json(json, httpStatusOf(outcome));
  });

  app.openapi(getRoute, async (c) => {
    const { purchaseId } = c.req.valid('param');
    const view = await deps.status(purchaseId);
    setResponseHeaders(c, { 'Cache-Control': 'no-store' });
    return c.json(view, 200);
  });

  return app;
}
