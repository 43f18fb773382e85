import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';

/**
 * How a hand-written fast path agrees with the schema it stands in for, over `inputs`:
 * how many it accepted, and every input it accepted that the schema refuses or parses to
 * something else (a fast path may refuse anything; it must never accept more, or differently).
 */
export function handCheckAgreement<S extends z.ZodType>(
  check: (input: unknown) => z.output<S> | undefined,
  schema: S,
  inputs: unknown[],
): { accepted: number; disagreements: string[] } {
  let accepted = 0;
  const disagreements: string[] = [];
  for (const input of inputs) {
    const fast = check(input);
    if (fast === undefined) continue;
    accepted += 1;
    const parsed = schema.safeParse(input);
    if (!parsed.success || !isDeepStrictEqual(parsed.data, fast)) disagreements.push(JSON.stringify(input));
  }
  return { accepted, disagreements };
}
