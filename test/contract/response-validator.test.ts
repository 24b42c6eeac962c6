import { beforeAll, describe, expect, it } from 'vitest';
import { BASE } from '../helpers/constants.ts';
import { createApp, openApiDocument } from '../../src/app.ts';
import { createResponseValidator, type Exchange, type ResponseValidator } from '../validation/response-validator.ts';

/**
 * The validator every integration test's responses go through (test/helpers/contract.ts), fed
 * deliberately wrong responses: each must be caught, and the right ones must pass.
 */

const TASK_ID = '01a21ce1-50cf-7237-b8b8-bcd30d1af7d3';
const task = {
  id: TASK_ID,
  user_id: '01a21ce1-50cf-7237-b8b8-bcd30d1af7d4',
  parent_id: null,
  position: 'a0',
  title: 'Write the report',
  description: null,
  status: 'todo',
  priority: 'medium',
  due_date: null,
  created_at: '2026-11-27T12:00:00.000Z',
  updated_at: '2026-11-27T12:00:00.000Z',
  deleted_at: null,
  version: 1,
  subtask_count: 0,
  recurrence: null,
  completed_occurrences: 0,
  reminders: [],
  categories: [],
};
const problem = (status: number, code: string) => ({
  type: `tag:edgetask,2026:problem:${code.toLowerCase().replaceAll('_', '-')}`,
  title: 'Not found',
  status,
  detail: 'No such task.',
  instance: `/api/v1/tasks/${TASK_ID}`,
  code,
  request_id: 'req-1',
});
const common = { 'x-request-id': 'req-1', 'cache-control': 'no-store', ratelimit: '"user";r=99;t=60' };

function exchange(overrides: Partial<Exchange> & { json?: unknown }): Exchange {
  const { json, ...rest } = overrides;
  return {
    method: 'GET',
    path: `/api/v1/tasks/${TASK_ID}`,
    status: 200,
    headers: {
      ...common,
      'content-type': 'application/json',
      'ratelimit-policy': '"user";q=100;w=60',
      etag: `"${TASK_ID}.1"`,
    },
    body: json === undefined ? '' : JSON.stringify(json),
    ...rest,
  };
}

let validator: ResponseValidator;
beforeAll(async () => {
  validator = await createResponseValidator(openApiDocument(createApp(), BASE, 'test'));
});

describe('the response validator', () => {
  it('passes responses that match the document', () => {
    expect(validator.validate(exchange({ json: task }))).toEqual([]);
    const notFound = exchange({
      status: 404,
      headers: { ...common, 'content-type': 'application/problem+json' },
      json: problem(404, 'NOT_FOUND'),
    });
    expect(validator.validate(notFound)).toEqual([]);
    expect(
      validator.validate(
        exchange({ method: 'DELETE', status: 204, headers: { 'x-request-id': 'r', 'cache-control': 'no-store' } }),
      ),
    ).toEqual([]);
  });

  it('catches an undocumented status', () => {
    const teapot = exchange({
      status: 418,
      headers: { ...common, 'content-type': 'application/problem+json' },
      json: problem(418, 'NOT_FOUND'),
    });
    expect(validator.validate(teapot).join('\n')).toMatch(/status code/);
  });

  it('catches a member the schema does not declare, at any depth', () => {
    expect(validator.validate(exchange({ json: { ...task, secret: 'x' } })).join('\n')).toMatch(/additional propert/);
    const nested = { ...task, categories: [{ id: TASK_ID, name: 'Work', color: '#FFFFFF', user_id: TASK_ID }] };
    expect(validator.validate(exchange({ json: nested })).join('\n')).toMatch(/additional propert/);
    const extension = exchange({
      status: 404,
      headers: { ...common, 'content-type': 'application/problem+json' },
      json: { ...problem(404, 'NOT_FOUND'), stack: 'at x' },
    });
    expect(validator.validate(extension).join('\n')).toMatch(/additional propert/);
  });

  it('catches a missing or mistyped member', () => {
    const untitled: Record<string, unknown> = { ...task };
    delete untitled.title;
    expect(validator.validate(exchange({ json: untitled })).join('\n')).toMatch(/title/);
    expect(validator.validate(exchange({ json: { ...task, version: '1' } })).join('\n')).toMatch(/version/);
  });

  it('catches a problem sent as application/json, and JSON sent as a problem', () => {
    const asJson = exchange({ status: 404, json: problem(404, 'NOT_FOUND') });
    expect(validator.validate(asJson).join('\n')).toMatch(/Content-Type application\/json/);
    const asProblem = exchange({ headers: { ...common, 'content-type': 'application/problem+json' }, json: task });
    expect(validator.validate(asProblem).join('\n')).toMatch(/Content-Type application\/problem\+json/);
  });

  it('catches a missing required header and a declared header with the wrong shape', () => {
    const withoutId: Record<string, string> = { ...common };
    delete withoutId['x-request-id'];
    expect(
      validator
        .validate(exchange({ headers: { ...withoutId, 'content-type': 'application/json' }, json: task }))
        .join('\n'),
    ).toMatch(/x-request-id/i);
    const badLimit = exchange({
      headers: { ...common, ratelimit: 'lots', 'content-type': 'application/json' },
      json: task,
    });
    expect(validator.validate(badLimit).join('\n')).toMatch(/ratelimit/i);
    const tooMany = exchange({
      status: 429,
      headers: { ...common, 'content-type': 'application/problem+json' },
      json: problem(429, 'RATE_LIMITED'),
    });
    expect(validator.validate(tooMany).join('\n')).toMatch(/retry-after/i);
  });

  it('catches a body on a response documented without one', () => {
    const deleted = exchange({
      method: 'DELETE',
      status: 204,
      headers: { 'x-request-id': 'r', 'cache-control': 'no-store' },
      body: '{}',
    });
    expect(validator.validate(deleted).join('\n')).toMatch(/no body/);
  });

  it('holds requests outside every operation to 404 and 405 problems', () => {
    const unknown = exchange({
      path: '/api/v1/nothing',
      status: 404,
      headers: { ...common, 'content-type': 'application/problem+json' },
      json: problem(404, 'NOT_FOUND'),
    });
    expect(validator.validate(unknown)).toEqual([]);
    expect(validator.validate({ ...unknown, path: '/api/v1/categories/' })).toEqual([]);
    expect(validator.validate({ ...unknown, status: 200 }).join('\n')).toMatch(/only 404 \(or 500\) may/);
    const wrongMethod = exchange({
      method: 'PUT',
      status: 405,
      headers: { ...common, 'content-type': 'application/problem+json' },
      json: problem(405, 'METHOD_NOT_ALLOWED'),
    });
    expect(validator.validate(wrongMethod).join('\n')).toMatch(/allow/i);
    expect(
      validator.validate({
        ...wrongMethod,
        headers: { ...wrongMethod.headers, allow: 'GET, PATCH, DELETE, HEAD, OPTIONS' },
      }),
    ).toEqual([]);
  });
});
