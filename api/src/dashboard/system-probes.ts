import type { Sql } from '@stampede/core/db';
import type { EventFigures } from './frame.js';

export interface SaleWindow {
  saleOpensAt: Date;
  saleClosesAt: Date | null;
}

/** The sale windows of these events, in one query (it doubles as the dashboard's Postgres probe). */
export async function readSaleWindows(sql: Sql, eventIds: string[]): Promise<Map<string, SaleWindow>> {
  if (eventIds.length === 0) {
    await sql`select 1`;
    return new Map();
  }
  const rows = await sql<({ id: string } & SaleWindow)[]>`
    select id, sale_opens_at as "saleOpensAt", sale_closes_at as "saleClosesAt"
    from events where id = any(${eventIds}::uuid[])`;
  return new Map(rows.map((r) => [r.id, r]));
}

export function saleState(window: SaleWindow | undefined, now: number): EventFigures['sale'] {
  if (!window) return 'unknown';
  if (now < window.saleOpensAt.getTime()) return 'not_open';
  if (window.saleClosesAt && now >= window.saleClosesAt.getTime()) return 'closed';
  return 'open';
}

/** Resolves with what `work` resolves to, or rejects after `ms`: a probe must not hold the tick. */
export function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
