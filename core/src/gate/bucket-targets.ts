/**
 * What each bucket of a tier should offer, from what Postgres has left in each (`available`)
 * and the tickets each holds (`held`): available − held, where a bucket holding more than
 * Postgres has left in it (the gate moved stock in that Postgres has not moved yet: its
 * spill will) takes the difference from the other buckets in bucket order, as the moves
 * and the Postgres spill do. So the targets sum to the tier's free − held (none below 0)
 * and nothing is offered twice.
 */
export function bucketTargets(available: readonly number[], held: readonly number[]): number[] {
  const target = available.map((a, b) => a - (held[b] ?? 0));
  for (let b = 0; b < target.length; b++) {
    for (let d = 0; d < target.length && target[b]! < 0; d++) {
      if (d === b || target[d]! <= 0) continue;
      const n = Math.min(-target[b]!, target[d]!);
      target[d]! -= n;
      target[b]! += n;
    }
    if (target[b]! < 0) target[b] = 0;
  }
  return target;
}
