import { z } from 'zod';
import { purchasesDecidedFields, replicaSampleFields, workerStatusFields } from './live-messages.js';

/**
 * Everything a replica may hear on the backplane, one schema per kind. Each kind is
 * checked on receipt, so a malformed or foreign message is dropped instead of reaching a
 * cache. To add a kind: write its schema here, add it to BACKPLANE_SCHEMAS, then publish
 * it and subscribe to it by name; nothing else changes.
 */

/** Who sent a message, and when (epoch ms): added by the publisher. */
const envelope = {
  v: z.literal(1),
  from: z.string().min(1).max(64),
  sentAt: z.number().int().nonnegative(),
};

const tierAvailabilitySchema = z.object({
  tierId: z.uuid(),
  name: z.string(),
  capacity: z.number().int(),
  remaining: z.number().int(),
  soldOut: z.boolean(),
});

/** An availability document as Redis caches it (core/src/cache/availability-cache.ts). */
export const cachedAvailabilitySchema = z.object({
  value: z.object({
    eventId: z.uuid(),
    soldOut: z.boolean(),
    asOf: z.iso.datetime(),
    tiers: z.array(tierAvailabilitySchema).max(100),
  }),
  cachedAt: z.number().int().nonnegative(),
});

/**
 * The worker committed a batch: one message per batch, naming every event it touched,
 * with the figures read after the commit when they could be read (without them a
 * receiver drops what it holds for the event).
 */
export const availabilityChangedSchema = z.object({
  ...envelope,
  kind: z.literal('availability_changed'),
  events: z
    .array(z.object({ eventId: z.uuid(), entry: cachedAvailabilitySchema.optional() }))
    .min(1)
    .max(1_000),
});

/** A tier has no tickets left (the worker after a commit, or a replica's gate). */
export const soldOutSchema = z.object({
  ...envelope,
  kind: z.literal('sold_out'),
  tierId: z.uuid(),
  eventId: z.uuid().optional(),
});

/** An admin change to an event, with its sale window as committed. */
export const eventChangedSchema = z.object({
  ...envelope,
  kind: z.literal('event_changed'),
  change: z.enum(['created', 'sale_opened', 'sale_closed']),
  eventId: z.uuid(),
  saleOpensAt: z.iso.datetime(),
  saleClosesAt: z.iso.datetime().nullable(),
});

/** An admin turned an event's waiting room on or off (or changed its knobs). */
export const roomChangedSchema = z.object({
  ...envelope,
  kind: z.literal('room_changed'),
  eventId: z.uuid(),
  enabled: z.boolean(),
});

/** Every kind, by name: what the subscriber checks a message against. */
export const BACKPLANE_SCHEMAS = {
  availability_changed: availabilityChangedSchema,
  sold_out: soldOutSchema,
  event_changed: eventChangedSchema,
  room_changed: roomChangedSchema,
  purchases_decided: purchasesDecidedFields.extend(envelope),
  replica_sample: replicaSampleFields.extend(envelope),
  worker_status: workerStatusFields.extend(envelope),
} as const;

export type BackplaneKind = keyof typeof BACKPLANE_SCHEMAS;
export type BackplaneMessageOf<K extends BackplaneKind> = z.infer<(typeof BACKPLANE_SCHEMAS)[K]>;
export type BackplaneMessage = { [K in BackplaneKind]: BackplaneMessageOf<K> }[BackplaneKind];
/** A message as its sender writes it: the envelope is added on publish. */
export type BackplaneDraft = {
  [K in BackplaneKind]: Omit<BackplaneMessageOf<K>, keyof typeof envelope>;
}[BackplaneKind];

export type ParsedBackplaneMessage =
  | { ok: true; message: BackplaneMessage }
  | { ok: false; reason: 'not_json' | 'unknown_kind' | 'invalid'; kind?: string; detail?: string };

/**
 * Parses a raw payload. A kind this build does not know is `unknown_kind` (a newer
 * sender during a rolling deploy; ignored), a known kind that fails its schema `invalid`.
 */
export function parseBackplaneMessage(raw: string): ParsedBackplaneMessage {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return { ok: false, reason: 'not_json' };
  }
  const kind = (data as { kind?: unknown } | null)?.kind;
  if (typeof kind !== 'string' || !Object.hasOwn(BACKPLANE_SCHEMAS, kind))
    return { ok: false, reason: 'unknown_kind', kind: typeof kind === 'string' ? kind.slice(0, 64) : undefined };
  const parsed = BACKPLANE_SCHEMAS[kind as BackplaneKind].safeParse(data);
  if (!parsed.success)
    return {
      ok: false,
      reason: 'invalid',
      kind,
      detail: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    };
  return { ok: true, message: parsed.data as BackplaneMessage };
}
