import { createRoute, z } from '@hono/zod-openapi';
import type { App } from '../../src/app.ts';
import { errorResponses } from '../../src/lib/openapi.ts';
import { text } from '../../src/lib/schemas.ts';

/**
 * Routes that exist only in tests, to exercise the shared machinery (body checks, validation,
 * error mapping) the same way every feature route will use it.
 */
export const EchoBody = z.strictObject({
  title: text(3, 200),
  count: z.int().min(1).max(100).optional(),
});

export function addProbeRoutes(app: App): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/_probe/echo',
      request: { body: { required: true, content: { 'application/json': { schema: EchoBody } } } },
      responses: {
        200: { description: 'echo', content: { 'application/json': { schema: EchoBody } } },
        ...errorResponses(400, 413, 415),
      },
    }),
    (c) => c.json(c.req.valid('json'), 200),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/_probe/items/{item_id}',
      request: {
        params: z.object({ item_id: z.uuid() }),
        query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }),
      },
      responses: {
        200: {
          description: 'item',
          content: { 'application/json': { schema: z.object({ id: z.string(), limit: z.number() }) } },
        },
        ...errorResponses(400),
      },
    }),
    (c) => c.json({ id: c.req.valid('param').item_id, limit: c.req.valid('query').limit }, 200),
  );
  app.openapi(
    createRoute({ method: 'get', path: '/api/v1/_probe/boom', responses: { ...errorResponses(500) } }),
    () => {
      throw new Error('boom: secret-value-that-must-not-leak');
    },
  );
}
