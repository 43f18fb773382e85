import { canonicalPurchaseMessage, type PurchaseMessage, purchaseMessageSchema } from '@stampede/core/purchases';
import type { ConsumeMessage } from 'amqplib';

/** Why a message went to the dead-letter queue; travels in its `x-death-reason` header. */
export type DeadLetterReason = 'malformed_json' | 'invalid_message' | 'unknown_tier' | 'processing_failed';

/**
 * A message that can never succeed, however often it is tried (like BullMQ's
 * UnrecoverableError): it goes to the dead-letter queue at once, never back to the queue.
 */
export class PoisonMessageError extends Error {
  constructor(
    readonly reason: DeadLetterReason,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
    this.name = 'PoisonMessageError';
  }
}

/** Parses and validates a delivery's body; throws PoisonMessageError when it is not a purchase. */
export function parseDelivery(content: Buffer): PurchaseMessage {
  let body: unknown;
  try {
    body = JSON.parse(content.toString('utf8'));
  } catch (err) {
    throw new PoisonMessageError('malformed_json', (err as Error).message);
  }
  const canonical = canonicalPurchaseMessage(body);
  if (canonical) return canonical;
  const parsed = purchaseMessageSchema.safeParse(body);
  if (!parsed.success) {
    const detail = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
      .join('; ');
    throw new PoisonMessageError('invalid_message', detail);
  }
  return parsed.data;
}

/**
 * Which delivery of this message this is, from 1. The quorum queue counts earlier
 * deliveries that ended without an ack (nack, requeue, channel closed, crash) in
 * `x-delivery-count`; a classic queue only says `redelivered`.
 */
export function deliveryAttempt(msg: ConsumeMessage): number {
  const count = Number(msg.properties.headers?.['x-delivery-count'] ?? 0);
  if (Number.isFinite(count) && count > 0) return count + 1;
  return msg.fields.redelivered ? 2 : 1;
}

/** What a delivery can be traced by in logs, even when its body is unreadable. */
export function deliveryTrace(msg: ConsumeMessage): { messageId?: string; requestId?: string; attempt: number } {
  // A message published before the request id moved to correlationId has it in a header.
  const requestId = msg.properties.correlationId ?? msg.properties.headers?.['x-request-id'];
  return {
    messageId: typeof msg.properties.messageId === 'string' ? msg.properties.messageId : undefined,
    requestId: typeof requestId === 'string' ? requestId : undefined,
    attempt: deliveryAttempt(msg),
  };
}
