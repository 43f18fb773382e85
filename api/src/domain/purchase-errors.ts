import { AppError } from '@stampede/core/errors';

/** The refusals the gate (queued mode) and the decision in the request (sync mode) answer alike. */
export const soldOut = (tierId: string) => new AppError('sold_out', `Tier ${tierId} is sold out.`);

export const limitExceeded = (buyerLimit: number) =>
  new AppError('limit_exceeded', `A buyer may hold at most ${buyerLimit} tickets for this event.`);
