import { createRoute } from '@hono/zod-openapi';
import { errorResponses, json } from '../../lib/openapi.ts';
import { PROBLEM_CONTENT_TYPE } from '../../lib/problem.ts';
import { HealthSchema, NotReadySchema, ReadinessSchema } from './health.schemas.ts';

export const getHealth = createRoute({
  operationId: 'getHealth',
  method: 'get',
  path: '/health',
  tags: ['Health'],
  summary: 'Liveness',
  description: 'Answers without calling any dependency: the Worker is up.',
  security: [],
  responses: {
    200: { description: 'The Worker is up', content: json(HealthSchema) },
    ...errorResponses(500),
  },
});

export const getReadiness = createRoute({
  operationId: 'getReadiness',
  method: 'get',
  path: '/health/ready',
  tags: ['Health'],
  summary: 'Readiness',
  description:
    'Checks Neon and Upstash in parallel, each within READY_TIMEOUT_MS. 503 names the failing dependency in `detail` and in `checks`.',
  security: [],
  responses: {
    200: { description: 'Every dependency answers', content: json(ReadinessSchema) },
    ...errorResponses(500),
    503: {
      description: 'A dependency does not answer',
      content: { [PROBLEM_CONTENT_TYPE]: { schema: NotReadySchema } },
    },
  },
});
