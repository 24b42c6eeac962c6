import { ERROR_CODES, type ErrorCode, type FieldError } from './errors.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: ErrorCode;
  request_id: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

/** A stable, unique URI per problem type (RFC 9457 section 3.1.1); tag URIs need no domain. */
export function problemType(code: ErrorCode): string {
  return `tag:edgetask,2026:problem:${code.toLowerCase().replaceAll('_', '-')}`;
}

export function problemBody(
  code: ErrorCode,
  detail: string,
  context: { instance: string; requestId: string },
  more: { errors?: FieldError[] | undefined; extensions?: Record<string, unknown> } = {},
): Problem {
  const { status, title } = ERROR_CODES[code];
  return {
    ...more.extensions,
    type: problemType(code),
    title,
    status,
    detail,
    instance: context.instance,
    code,
    request_id: context.requestId,
    ...(more.errors ? { errors: more.errors } : {}),
  };
}

export function problemResponse(problem: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store', ...headers },
  });
}
