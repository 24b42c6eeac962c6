import { z } from '@hono/zod-openapi';
import { ERROR_CODES, type ErrorCode } from './errors.ts';
import { PROBLEM_CONTENT_TYPE } from './problem.ts';

/** The RFC 9457 problem document every error response carries, as an OpenAPI component. */
export const ProblemSchema = z
  .object({
    type: z.string().max(200).openapi({ example: 'tag:edgetask,2026:problem:validation-failed' }),
    title: z.string().max(200).openapi({ example: 'The request is not valid' }),
    status: z.int().min(400).max(599).openapi({ example: 400 }),
    detail: z.string().max(2000).openapi({ example: 'One or more fields are invalid.' }),
    instance: z.string().max(2000).openapi({ example: '/api/v1/tasks' }),
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]).openapi({ example: 'VALIDATION_FAILED' }),
    request_id: z.string().max(255).openapi({ example: '01J9Z6W3Q4X5Y6Z7A8B9C0D1E2' }),
    errors: z
      .array(
        z.object({
          pointer: z.string().max(500).openapi({ example: '/body/title' }),
          message: z.string().max(500).openapi({ example: 'Too small: expected string to have >=3 characters' }),
        }),
      )
      .max(100)
      .optional(),
  })
  .catchall(z.unknown())
  .openapi('Problem', { description: 'RFC 9457 problem details' });

const DESCRIPTIONS: Record<number, string> = {
  400: 'The request is not valid (malformed JSON, a field out of range, an unknown field)',
  401: 'Missing, invalid or expired credentials',
  403: 'The resource exists but belongs to someone else, or the action is not allowed',
  404: 'No such resource',
  405: 'The path exists but not with this method',
  409: 'Conflict with the current state (duplicate, stale version, Idempotency-Key still in flight)',
  410: 'The sync cursor predates purged changes: sync again without a cursor',
  412: 'The If-Match condition does not hold: the task changed since you read it',
  413: 'Request body too large',
  415: 'The body is not application/json',
  422: 'The Idempotency-Key was already used with a different request',
  423: 'Account locked',
  429: 'Rate limit exceeded',
  500: 'Unexpected error or misconfiguration (no internals are disclosed)',
  503: 'A dependency is unavailable',
};

const problemContent = { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } };

/** Error responses to spread into a route's `responses`, so the document lists every status. */
export function errorResponses<const S extends number>(...statuses: S[]) {
  const out = {} as Record<S, { description: string; content: typeof problemContent }>;
  for (const status of statuses)
    out[status] = { description: DESCRIPTIONS[status] ?? 'Error', content: problemContent };
  return out;
}

/** A JSON response or request content entry. */
export const json = <S>(schema: S) => ({ 'application/json': { schema } });

/** A required JSON request body (without `required`, an empty body would pass as `{}`). */
export const jsonBody = <S>(schema: S) => ({ required: true, content: json(schema) });

/**
 * Request headers of conditional and retried requests, documented and bounded. The route schemas key
 * them in lower case, as hono's header validator sees them (HTTP header names ignore case).
 */
export const IfMatchHeader = z
  .string()
  .max(1000)
  .optional()
  .openapi({
    param: { in: 'header' },
    description: 'The ETag you read: the change applies only if the task is still that version (412 otherwise)',
    example: '"01a21ce1-50cf-7237-b8b8-bcd30d1af7d3.3"',
  });

export const IfNoneMatchHeader = z
  .string()
  .max(1000)
  .optional()
  .openapi({
    param: { in: 'header' },
    description: 'The ETag you hold: 304 without a body when it is still current',
  });

export const IdempotencyKeyHeader = z
  .string()
  .max(257)
  .optional()
  .openapi({
    param: { in: 'header' },
    description:
      'A unique key per logical request (1-255 visible ASCII characters, e.g. a UUID). A retry with the same key and body gets the first response again (with `Idempotent-Replayed: true`) for 24 h; the same key with another body is 422; a retry while the first runs is 409.',
    example: '4f1c2a9e-8b7d-4c55-9e0a-2f6b1d3c7e10',
  });

/** Response headers. */
export const etagHeader = {
  ETag: { description: 'The entity tag of this representation', schema: { type: 'string' as const, maxLength: 100 } },
};
export const replayedHeader = {
  'Idempotent-Replayed': {
    description: '`true` when this is the stored response to an earlier request with the same Idempotency-Key',
    schema: { type: 'string' as const, enum: ['true'] },
  },
};
