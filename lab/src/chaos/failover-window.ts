import type { ScenarioContext } from './scenario-types.js';

/** Resolves once `done` is true, or after `ms` (the verdict then says what did not happen). */
export async function until(ctx: ScenarioContext, done: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done()) && Date.now() < deadline) await ctx.sleep(200);
}

/** Purchase answers since the kill that were not 202, 200 or 409: the failover's refusals. */
export function refusedSinceKill(ctx: ScenarioContext) {
  return ctx.load.failures.filter((f) => f.kind === 'purchase' && f.atMs >= ctx.facts.killedAtMs!);
}

/** Admissions are back: a 202 after the kill and after the last refusal, and no refusal for a second. */
export function admittedAgain(ctx: ScenarioContext): boolean {
  const last = refusedSinceKill(ctx).at(-1)?.atMs ?? ctx.facts.killedAtMs!;
  return ctx.load.lastAcceptedAtMs > last && ctx.load.elapsedMs - last > 1_000;
}

/** Records the refusals since the kill: how many, and the last one's ms after the kill (0 without any). */
export function recordRefusalWindow(ctx: ScenarioContext): number {
  const refused = refusedSinceKill(ctx);
  ctx.facts.admittedAgain = admittedAgain(ctx) ? 1 : 0;
  ctx.facts.refusedSinceKill = refused.length;
  ctx.facts.refusalWindowMs = refused.length === 0 ? 0 : refused.at(-1)!.atMs - ctx.facts.killedAtMs!;
  return refused.length;
}
