import type { Hook } from '@hono/zod-openapi';
import type { ZodError } from 'zod';
import { ApiError, type FieldError } from '../api-error.ts';
import type { GatewayEnv } from '../gateway-env.ts';

/**
 * Zod issues as the problem's `errors: [{path, message}]`; body paths are bare
 * (`items.0.action`), the others prefixed with where they were (`query.limit`).
 */
export function zodFieldErrors(error: ZodError, target: string): FieldError[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    const prefix = target === 'json' || target === 'form' ? '' : target;
    return { path: [prefix, path].filter((p) => p !== '').join('.'), message: issue.message };
  });
}

/**
 * `defaultHook` of the OpenAPIHono apps: a failed request validation → 422
 * `validation_failed` with every issue. Sub-apps must pass it too (a hook is per instance).
 */
export const validationHook: Hook<unknown, GatewayEnv, string, unknown> = (result) => {
  if (!result.success) {
    throw new ApiError(
      422,
      'validation_failed',
      `the request ${result.target === 'json' ? 'body' : result.target} is invalid`,
      zodFieldErrors(result.error, result.target),
    );
  }
  return undefined;
};
