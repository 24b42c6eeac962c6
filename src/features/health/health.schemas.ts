import { z } from '@hono/zod-openapi';
import { ProblemSchema } from '../../lib/openapi.ts';
import { timestamp } from '../../lib/schemas.ts';

export const HealthSchema = z
  .object({
    status: z.literal('ok').openapi({ description: 'Always `ok`: the Worker answers' }),
    version: z
      .string()
      .max(50)
      .openapi({ description: 'The deployed API version', examples: ['0.1.0'] }),
    time: timestamp().openapi({ description: "The Worker's clock" }),
  })
  .openapi('Health');

export const DependencyCheckSchema = z
  .object({
    status: z.enum(['up', 'down']).openapi({ description: 'Whether the dependency answered in time' }),
    latency_ms: z.number().min(0).max(60_000).openapi({ description: 'How long the check took, in milliseconds' }),
    error: z.string().max(200).optional().openapi({ description: 'Why the check failed (never a secret)' }),
  })
  .openapi('DependencyCheck', { description: 'The result of one dependency check' });

const ChecksSchema = z
  .object({ database: DependencyCheckSchema, cache: DependencyCheckSchema })
  .openapi({ description: 'One check per dependency: Neon (database) and Upstash (cache)' });

export const ReadinessSchema = z
  .object({ status: z.literal('ready').openapi({ description: 'Every dependency answered' }), checks: ChecksSchema })
  .openapi('Readiness');

/** The 503 of the readiness probe: a problem that names every check. */
export const NotReadySchema = z
  .object({ ...ProblemSchema.shape, checks: ChecksSchema })
  .openapi('NotReadyProblem', { description: 'RFC 9457 problem details with the result of each check' });
