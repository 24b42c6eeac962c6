import { createRoute } from '@hono/zod-openapi';
import { errorResponses } from '../../lib/openapi.ts';
import { HealthSchema, ReadinessSchema } from './health.schemas.ts';

export const getHealth = createRoute({
  method: 'get',
  path: '/health',
  tags: ['Health'],
  summary: 'Liveness',
  description: 'Answers without calling any dependency: the Worker is up.',
  security: [],
  responses: {
    200: { description: 'The Worker is up', content: { 'application/json': { schema: HealthSchema } } },
    ...errorResponses(500),
  },
});

export const getReadiness = createRoute({
  method: 'get',
  path: '/health/ready',
  tags: ['Health'],
  summary: 'Readiness',
  description:
    'Checks Neon and Upstash in parallel, each within READY_TIMEOUT_MS. 503 names the failing dependency in `detail` and in `checks`.',
  security: [],
  responses: {
    200: { description: 'Every dependency answers', content: { 'application/json': { schema: ReadinessSchema } } },
    ...errorResponses(500, 503),
  },
});
