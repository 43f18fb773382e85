import { errors, jwtVerify, SignJWT } from 'jose';
import { AppError, type ErrorCode } from '../errors.js';

/**
 * The two signed tokens of the waiting room (HS256, one secret shared by every replica):
 * the queue token a buyer gets on arrival (its place in line) and the pass a released
 * buyer gets (the right to buy for a few minutes). Their `typ` headers differ, so one is
 * never taken for the other.
 */
const QUEUE_TYP = 'stampede-queue+jwt';
const PASS_TYP = 'stampede-pass+jwt';
const ISSUER = 'stampede-waiting-room';

export interface QueueToken {
  eventId: string;
  /** The place in line the room gave on arrival: what puts the buyer back if Redis lost the line. */
  place: string;
  jti: string;
  iat: number;
  exp: number;
}

export interface Pass {
  eventId: string;
  /** The queue token's jti: the one buyer this pass lets in, to whom the buyer limit binds. */
  subject: string;
  jti: string;
  exp: number;
}

export function createRoomTokens(secret: string) {
  const key = new TextEncoder().encode(secret);

  async function verify(
    token: string,
    typ: string,
    eventId: string,
    codes: { expired: ErrorCode; invalid: ErrorCode; wrongEvent: ErrorCode },
  ) {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, key, { algorithms: ['HS256'], issuer: ISSUER, typ }));
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw new AppError(codes.expired, undefined, { cause: err });
      throw new AppError(codes.invalid, undefined, { cause: err });
    }
    if (payload.eid !== eventId) throw new AppError(codes.wrongEvent, `The token is for event ${String(payload.eid)}.`);
    return payload;
  }

  return {
    async signQueueToken(t: { eventId: string; place: string; jti: string; ttlS: number }): Promise<string> {
      return new SignJWT({ eid: t.eventId, pos: t.place })
        .setProtectedHeader({ alg: 'HS256', typ: QUEUE_TYP })
        .setIssuer(ISSUER)
        .setJti(t.jti)
        .setIssuedAt()
        .setExpirationTime(`${t.ttlS}s`)
        .sign(key);
    },

    async verifyQueueToken(token: string, eventId: string): Promise<QueueToken> {
      const p = await verify(token, QUEUE_TYP, eventId, {
        expired: 'queue_token_invalid',
        invalid: 'queue_token_invalid',
        wrongEvent: 'queue_token_invalid',
      });
      if (typeof p.pos !== 'string' || typeof p.jti !== 'string') throw new AppError('queue_token_invalid');
      return { eventId, place: p.pos, jti: p.jti, iat: p.iat as number, exp: p.exp as number };
    },

    async signPass(p: { eventId: string; subject: string; jti: string; expiresAtMs: number }): Promise<string> {
      return new SignJWT({ eid: p.eventId })
        .setProtectedHeader({ alg: 'HS256', typ: PASS_TYP })
        .setIssuer(ISSUER)
        .setSubject(p.subject)
        .setJti(p.jti)
        .setIssuedAt()
        .setExpirationTime(Math.floor(p.expiresAtMs / 1000))
        .sign(key);
    },

    async verifyPass(token: string, eventId: string): Promise<Pass> {
      const p = await verify(token, PASS_TYP, eventId, {
        expired: 'pass_expired',
        invalid: 'pass_invalid',
        wrongEvent: 'pass_wrong_event',
      });
      if (typeof p.sub !== 'string' || typeof p.jti !== 'string') throw new AppError('pass_invalid');
      return { eventId, subject: p.sub, jti: p.jti, exp: p.exp as number };
    },
  };
}

export type RoomTokens = ReturnType<typeof createRoomTokens>;
