import type { RouteConfig, RouteHandler } from '@hono/zod-openapi';
import type { AppEnv } from '../app-env.ts';

/** A handler typed by its route: inputs validated, responses checked against the declared schemas. */
export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>;
