import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../app-env.ts';
import { validationHook } from '../../middleware/error-handling.ts';
import * as handlers from './account.handlers.ts';
import * as routes from './account.routes.ts';

export const accountRouter = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(routes.changePassword, handlers.changePassword)
  .openapi(routes.forgotPassword, handlers.forgotPassword)
  .openapi(routes.resetPassword, handlers.resetPassword)
  .openapi(routes.listSessions, handlers.listSessions)
  .openapi(routes.endSession, handlers.endSession)
  .openapi(routes.exportAccount, handlers.exportAccount)
  .openapi(routes.deleteAccount, handlers.deleteAccount);
