import type { Hook } from '@hono/zod-openapi';
import { AppError, type ErrorCode } from '@stampede/core/errors';

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
  if (result.success) return;
  const issues = result.error.issues.map((i) => ({ path: i.path.join('.'), message: messageOf(i) }));
  const code = CODE_BY_TARGET[result.target] ?? 'validation_failed';
  const detail = issues.map((i) => `${i.path || result.target}: ${i.message}`).join('; ');
  throw new AppError(code, detail, { extensions: { issues } });
};
