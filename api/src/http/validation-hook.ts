import type { Hook, z } from '@hono/zod-openapi';
import { AppError, type ErrorCode } from '@stampede/core/errors';
import { CANONICAL_UUID } from '@stampede/core/purchases';

/** Which problem code a failed validation target becomes. */
const CODE_BY_TARGET: Record<string, ErrorCode> = {
  param: 'invalid_id',
  json: 'validation_failed',
  query: 'validation_failed',
  header: 'validation_failed',
};

/**
 * An issue's message without anything of the input: zod names unknown keys in its message
 * (`Unrecognized key: "<img src=x onerror=…>"`), and a key is the client's text.
 */
function messageOf(issue: { code: string; message: string }): string {
  return issue.code === 'unrecognized_keys' ? 'Unknown field (only the documented fields are accepted)' : issue.message;
}

/**
 * The default hook of every OpenAPI route: a request that fails its schema becomes an
 * AppError, so validation errors take the same problem+json path as everything else.
 * Each issue is listed with its path, never with the offending value.
 */
// biome-ignore lint/suspicious/noExplicitAny: the hook serves every route, whatever its env, path and input types
export const validationHook: Hook<unknown, any, any, any> = (result) => {
  if (!result.success) throw validationError(result.target, result.error.issues);
};

function validationError(target: string, zodIssues: readonly z.core.$ZodIssue[]): AppError {
  const issues = zodIssues.map((i) => ({ path: i.path.join('.'), message: messageOf(i) }));
  const code = CODE_BY_TARGET[target] ?? 'validation_failed';
  const detail = issues.map((i) => `${i.path || target}: ${i.message}`).join('; ');
  return new AppError(code, detail, { extensions: { issues } });
}

/**
 * Parses a request part with its route's schema, synchronously, and fails as the hook
 * does: for a hot route that validates in its handler rather than through a chain of
 * validator middleware (each one more async step and one more read of the headers).
 */
export function validated<S extends z.ZodType>(
  target: keyof typeof CODE_BY_TARGET,
  schema: S,
  value: unknown,
): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(target, result.error.issues);
  return result.data;
}

/**
 * A UUID path id of a hot route: as it came when already canonical (nearly every request's),
 * otherwise what its IdParam schema makes of it (lower-cased, or a 400 invalid_id).
 */
export function pathId<K extends string>(schema: z.ZodType<Record<K, string>>, name: K, raw: string): string {
  return CANONICAL_UUID.test(raw) ? raw : validated('param', schema, { [name]: raw })[name];
}
