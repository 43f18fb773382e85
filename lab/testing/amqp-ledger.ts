import type { ProxyTap } from './tcp-proxy.js';

/**
 * Reads the AMQP 0-9-1 frames a TCP proxy relays (as its tap) and keeps each channel's
 * book as the broker does: deliveries in, acks and nacks out. So a test can count the
 * frames a consumer sends, see what it left unacked, and catch any settle the broker
 * would refuse (a tag the channel does not hold: PRECONDITION_FAILED closes it).
 */
export interface AmqpLedger {
  tap: ProxyTap;
  /** basic.deliver frames seen, on every connection. */
  readonly deliveries: number;
  /** basic.ack frames sent, and how many of them were multiple. */
  readonly ackFrames: number;
  readonly multipleAckFrames: number;
  /** basic.nack and basic.reject frames sent. */
  readonly nackFrames: number;
  /** Deliveries settled by the acks, and by the nacks. */
  readonly acked: number;
  readonly nacked: number;
  /** Settles of a tag its channel did not hold unacked, as `conn:channel ack|nack tag`. */
  readonly violations: string[];
  /** Deliveries on channels still open that no ack or nack has settled. */
  unacked(): number;
}

const PROTOCOL_HEADER = 8;
const FRAME_METHOD = 1;
const CHANNEL = 20;
const CHANNEL_OPEN = 10;
const CHANNEL_CLOSE_OK = 41;
const BASIC = 60;
const DELIVER = 60;
const ACK = 80;
const REJECT = 90;
const NACK = 120;

export function amqpLedger(): AmqpLedger {
  const pending = new Map<string, Buffer>();
  const headerSeen = new Set<number>();
  /** Unacked tags per `conn:channel`, in delivery order (ascending). */
  const channels = new Map<string, Set<number>>();
  const ledger = {
    deliveries: 0,
    ackFrames: 0,
    multipleAckFrames: 0,
    nackFrames: 0,
    acked: 0,
    nacked: 0,
    violations: [] as string[],
    unacked: () => [...channels.values()].reduce((n, tags) => n + tags.size, 0),
    tap: (connection: number, fromClient: boolean, chunk: Buffer) => {
      const key = `${connection}:${fromClient ? 'c' : 's'}`;
      let buf = Buffer.concat([pending.get(key) ?? Buffer.alloc(0), chunk]);
      if (fromClient && !headerSeen.has(connection)) {
        if (buf.length < PROTOCOL_HEADER) return void pending.set(key, buf);
        headerSeen.add(connection);
        buf = buf.subarray(PROTOCOL_HEADER);
      }
      while (buf.length >= 7) {
        const size = buf.readUInt32BE(3);
        if (buf.length < 8 + size) break;
        if (buf[0] === FRAME_METHOD) method(connection, buf.readUInt16BE(1), fromClient, buf.subarray(7, 7 + size));
        buf = buf.subarray(8 + size);
      }
      pending.set(key, buf);
    },
  };

  function method(connection: number, channel: number, fromClient: boolean, payload: Buffer): void {
    const key = `${connection}:${channel}`;
    const classId = payload.readUInt16BE(0);
    const methodId = payload.readUInt16BE(2);
    if (classId === CHANNEL && (methodId === CHANNEL_OPEN || methodId === CHANNEL_CLOSE_OK)) {
      channels.delete(key); // a closed channel's deliveries went back to their queues
      return;
    }
    if (classId !== BASIC) return;
    if (!fromClient && methodId === DELIVER) {
      const tag = Number(payload.readBigUInt64BE(5 + payload[4]!));
      ledger.deliveries += 1;
      if (!channels.has(key)) channels.set(key, new Set());
      channels.get(key)!.add(tag);
      return;
    }
    if (!fromClient || (methodId !== ACK && methodId !== NACK && methodId !== REJECT)) return;
    const tag = Number(payload.readBigUInt64BE(4));
    const multiple = methodId !== REJECT && (payload[12]! & 1) === 1;
    const isAck = methodId === ACK;
    if (isAck) {
      ledger.ackFrames += 1;
      if (multiple) ledger.multipleAckFrames += 1;
    } else ledger.nackFrames += 1;
    const unacked = channels.get(key) ?? new Set<number>();
    if (!unacked.has(tag)) ledger.violations.push(`${key} ${isAck ? 'ack' : 'nack'} ${tag}`);
    let settled = 0;
    if (multiple) {
      for (const t of unacked) {
        if (t > tag) break;
        unacked.delete(t);
        settled += 1;
      }
    } else if (unacked.delete(tag)) settled = 1;
    if (isAck) ledger.acked += settled;
    else ledger.nacked += settled;
  }

  return ledger;
}
