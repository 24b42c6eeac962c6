import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../app-env.ts';
import { validationHook } from '../../middleware/error-handling.ts';
import * as handlers from './batch.handlers.ts';
import * as routes from './batch.routes.ts';

export const batchRouter = new OpenAPIHono<AppEnv>({ defaultHook: validationHook }).openapi(
  routes.runBatch,
  handlers.runBatch,
);
