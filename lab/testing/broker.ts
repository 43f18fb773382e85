import { assertTopology, brokerNames, deleteTopology } from '@stampede/core/broker';
import type { PurchaseMessage } from '@stampede/core/purchases';
import amqplib from 'amqplib';

const URL = 'amqp://guest:guest@127.0.0.1:5672';

/** Runs `body` with a short-lived channel on the local broker. */
export async function withChannel<T>(body: (ch: amqplib.Channel) => Promise<T>, url = URL): Promise<T> {
  const conn = await amqplib.connect(url);
  // A refused operation (checkQueue of a queue not declared yet: 404) rejects its promise
  // and also emits 'error' on the channel; unheard, that emit is an uncaught exception.
  conn.on('error', () => {});
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    return await body(ch);
  } finally {
    await conn.close().catch(() => {});
  }
}

/** Declares a test's queues (same topology as the services). */
export function declareTestTopology(prefix: string): Promise<void> {
  return withChannel((ch) => assertTopology(ch, brokerNames(prefix)));
}

/** Deletes a test's queues and exchanges; tests leave nothing behind. */
export function deleteTestTopology(prefix: string): Promise<void> {
  return withChannel((ch) => deleteTopology(ch, brokerNames(prefix))).catch(() => undefined);
}

/** Messages ready in the test's purchase queue and dead-letter queue. */
export async function queueDepths(prefix: string): Promise<{ queue: number; dlq: number }> {
  const names = brokerNames(prefix);
  return withChannel(async (ch) => ({
    queue: (await ch.checkQueue(names.queue)).messageCount,
    dlq: (await ch.checkQueue(names.deadLetterQueue)).messageCount,
  }));
}

/** Takes every ready message off the test's purchase queue (acked), decoded. */
export async function drainMessages(
  prefix: string,
): Promise<{ body: PurchaseMessage; properties: amqplib.MessageProperties }[]> {
  const names = brokerNames(prefix);
  return withChannel(async (ch) => {
    const out: { body: PurchaseMessage; properties: amqplib.MessageProperties }[] = [];
    for (;;) {
      const msg = await ch.get(names.queue, { noAck: true });
      if (!msg) return out;
      out.push({ body: JSON.parse(msg.content.toString()) as PurchaseMessage, properties: msg.properties });
    }
  });
}

/** Publishes raw bytes to the test's exchange (for poison messages). */
export async function publishRaw(
  prefix: string,
  content: Buffer,
  headers: Record<string, unknown> = {},
): Promise<void> {
  const names = brokerNames(prefix);
  const conn = await amqplib.connect(URL);
  try {
    const ch = await conn.createConfirmChannel();
    ch.publish(names.exchange, names.routingKey, content, {
      persistent: true,
      contentType: 'application/json',
      headers,
    });
    await ch.waitForConfirms();
  } finally {
    await conn.close().catch(() => {});
  }
}
