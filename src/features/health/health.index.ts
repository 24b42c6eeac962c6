import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../app-env.ts';
import { validationHook } from '../../middleware/error-handling.ts';
import { health, readiness } from './health.handlers.ts';
import { getHealth, getReadiness } from './health.routes.ts';

export const healthRouter = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(getHealth, health)
  .openapi(getReadiness, readiness);
