import { z } from '@hono/zod-openapi';

export const HealthSchema = z
  .object({
    status: z.literal('ok'),
    version: z.string().max(50).openapi({ example: '0.1.0' }),
    time: z.iso.datetime().openapi({ example: '2026-11-27T12:00:00.000Z' }),
  })
  .openapi('Health');

export const DependencyCheckSchema = z
  .object({
    status: z.enum(['up', 'down']),
    latency_ms: z.number().min(0).max(60_000),
    error: z.string().max(200).optional().openapi({ description: 'Why the check failed (never a secret)' }),
  })
  .openapi('DependencyCheck');

export const ReadinessSchema = z
  .object({
    status: z.literal('ready'),
    checks: z.object({ database: DependencyCheckSchema, cache: DependencyCheckSchema }),
  })
  .openapi('Readiness');
