import { createRoute, z } from '@hono/zod-openapi';
import { beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { errorResponses, json } from '../../src/lib/openapi.ts';
import { ContractViolation } from '../helpers/contract.ts';
import { setupTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * The check every test request goes through (test/helpers/contract.ts): a route that answers
 * against its own documentation makes the request throw, so the test that made it fails.
 */
function addLiar(app: App): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/_probe/liar',
      request: { query: z.object({ lie: z.enum(['none', 'status', 'member', 'media']) }) },
      responses: {
        200: { description: 'ok', content: json(z.object({ ok: z.boolean() })) },
        ...errorResponses(400),
      },
    }),
    (c) => {
      const lie = c.req.valid('query').lie;
      if (lie === 'status') return c.json({ ok: true }, 418 as 200);
      if (lie === 'member') return c.json({ ok: true, internal_id: 7 } as { ok: boolean }, 200);
      if (lie === 'media') return c.body('{"ok":true}', 200, { 'content-type': 'text/plain' }) as never;
      return c.json({ ok: true }, 200);
    },
  );
}

describe('every response a test receives is checked against the OpenAPI document', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await setupTestApp({ extend: addLiar });
  });

  it('lets a documented answer through', async () => {
    expect((await app.request('/api/v1/_probe/liar?lie=none')).status).toBe(200);
  });

  it.each([
    ['an undocumented status', 'status', /418.*Unable to match the returned status code/s],
    ['an undeclared member', 'member', /must NOT have additional properties; found 'internal_id'/],
    ['an undocumented media type', 'media', /Content-Type text\/plain is not one the document gives/],
  ])('fails the request for %s', async (_what, lie, reason) => {
    const attempt = app.request(`/api/v1/_probe/liar?lie=${lie}`);
    await expect(attempt).rejects.toThrow(ContractViolation);
    await expect(attempt).rejects.toThrow(reason);
  });
});
