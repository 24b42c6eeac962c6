import { z } from '@hono/zod-openapi';
import { ProblemSchema } from '../../lib/openapi.ts';
import { timestamp } from '../../lib/schemas.ts';

export const HealthSchema = z
  .object({
    status: z.literal('ok'),
    version: z.string().max(50).openapi({ example: '0.1.0' }),
    time: timestamp(),
  })
  .openapi('Health');

export const DependencyCheckSchema = z
  .object({
    status: z.enum(['up', 'down']),
    latency_ms: z.number().min(0).max(60_000),
    error: z.string().max(200).optional().openapi({ description: 'Why the check failed (never a secret)' }),
  })
  .openapi('DependencyCheck');

const ChecksSchema = z.object({ database: DependencyCheckSchema, cache: DependencyCheckSchema });

export const ReadinessSchema = z.object({ status: z.literal('ready'), checks: ChecksSchema }).openapi('Readiness');

/** The 503 of the readiness probe: a problem that names every check. */
export const NotReadySchema = z
  .object({ ...ProblemSchema.shape, checks: ChecksSchema })
  .openapi('NotReadyProblem', { description: 'RFC 9457 problem details with the result of each check' });
