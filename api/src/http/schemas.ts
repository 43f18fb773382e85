import { z } from '@hono/zod-openapi';

/**
 * An id as the client sends it: any UUID, in either case (RFC 9562 reads them
 * case-insensitively), brought to its one canonical form, lower case, as Postgres prints
 * it. Every id is canonical from here on, so Redis keys, cache entries, gate counts and
 * messages never see two spellings of one id.
 */
export function CanonicalId(name: string) {
  return z.uuid({ message: `${name} must be a UUID` }).toLowerCase();
}

/** A UUID path id, canonical; anything else is answered 400 invalid_id. */
export function IdParam<K extends string>(name: K) {
  const id = CanonicalId(name).openapi({
    param: { name, in: 'path' },
    example: '00000000-0000-4000-8000-00000000c0de',
  });
  return z.object({ [name]: id } as Record<K, typeof id>);
}

const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(10_000, 0, 1);

/**
 * An ISO 8601 date-time with its offset, from 1970 to 9999. The format alone lets year 0
 * through, which Postgres refuses (22008) after the request was accepted.
 */
export function Timestamp() {
  return z.iso.datetime({ offset: true }).refine((v) => {
    const t = Date.parse(v);
    return t >= EARLIEST && t < LATEST;
  }, 'must be a date-time between 1970 and 9999');
}

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().openapi({ description: 'Stable machine-readable error code (see docs/api.md).' }),
    instance: z.string().optional(),
    requestId: z.string().optional(),
  })
  .passthrough()
  .openapi('Problem');

export const TierSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    priceCents: z.number().int(),
    capacity: z.number().int(),
    sold: z.number().int(),
    buckets: z.number().int().openapi({ description: 'Buckets its stock is split into (1: not split).' }),
  })
  .openapi('Tier');

export const EventSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    venue: z.string(),
    startsAt: z.string(),
    saleOpensAt: z.string(),
    saleClosesAt: z.string().nullable(),
  })
  .openapi('Event');

export const EventWithTiersSchema = EventSchema.extend({ tiers: z.array(TierSchema) }).openapi('EventWithTiers');

export const AvailabilitySchema = z
  .object({
    eventId: z.uuid(),
    soldOut: z.boolean(),
    asOf: z.string().openapi({ description: 'When Postgres produced these figures.' }),
    stale: z
      .boolean()
      .openapi({ description: 'True when Postgres could not be read and this is the last known value.' }),
    tiers: z.array(
      z.object({
        tierId: z.uuid(),
        name: z.string(),
        capacity: z.number().int(),
        remaining: z.number().int(),
        soldOut: z.boolean(),
      }),
    ),
  })
  .openapi('Availability');

/** The problem responses a route can give, for its OpenAPI description. */
export function problems(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: `Problem (${s})`, content: { 'application/problem+json': { schema: ProblemSchema } } },
    ]),
  );
}
