import { OpenAPIHono } from '@hono/zod-openapi';
import { Scalar } from '@scalar/hono-api-reference';
import type { Context } from 'hono';
import { methodNotAllowed } from 'hono/method-not-allowed';
import { requestId } from 'hono/request-id';
import { VERSION as version } from './version.ts';
import type { AppEnv } from './app-env.ts';
import type { DepsOverrides } from './deps.ts';
import { HttpError } from './http/http-error.ts';
import { AppError } from './lib/errors.ts';
import { finalizeDocument } from './lib/openapi.ts';
import { withDeps } from './middleware/deps.ts';
import { handleError, validationHook } from './middleware/error-handling.ts';
import { requestContext } from './middleware/request-context.ts';
import {
  apiSecureHeaders,
  bodyLimit,
  corsAllowlist,
  docsSecureHeaders,
  noStore,
  requireJsonBody,
} from './middleware/security.ts';

export interface AppOptions {
  /** Replace dependencies (clock, ids, clients) for tests. */
  deps?: DepsOverrides;
}

const MAX_BODY_BYTES = 16 * 1024;
/** Auth bodies are a few short fields: a smaller limit is less to parse before the rate limit. */
const MAX_AUTH_BODY_BYTES = 4 * 1024;

/** A feature's routes (src/features/<name>/<name>.index.ts), mounted at the root. */
export type FeatureRouter = OpenAPIHono<AppEnv>;

/**
 * The API with the given features' routes: the middleware, error handling, /openapi.json and
 * /docs are the same whichever features it has. src/app.ts builds it with all of them; the Worker's
 * entry (src/lazy-app.ts) builds it with the features a request's path needs.
 *
 * Middleware order matters: the request id and request context wrap everything (so even errors
 * are logged and timed), security headers and CORS come before any route, and body checks run
 * before validation.
 */
export function createAppShell(routers: readonly FeatureRouter[], options: AppOptions = {}) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.use(requestId({ headerName: 'X-Request-ID', limitLength: 128 }));
  app.use(requestContext());
  // The docs page has its own policy. A plain comparison: hono's except() runs its some() and
  // every() combinators around the middleware on every request.
  app.use((c, next) => (c.req.path === '/docs' ? next() : apiSecureHeaders(c, next)));
  app.use('/docs', docsSecureHeaders);
  app.use(corsAllowlist());
  // A known path with another method: 405 with Allow (hono's middleware finds the methods; the
  // answer is our problem document). OPTIONS is always allowed: the CORS middleware answers it.
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) => {
        const allow = [...methods, 'OPTIONS'].join(', ');
        const error = new HttpError('METHOD_NOT_ALLOWED', `${c.req.method} is not allowed here; use ${allow}.`, {
          Allow: allow,
        });
        return handleError(error, c);
      },
    }),
  );
  app.use('/api/*', noStore, requireJsonBody, bodyLimit(MAX_BODY_BYTES), withDeps(options.deps));
  app.use('/api/v1/auth/*', bodyLimit(MAX_AUTH_BODY_BYTES));
  app.use('/api/v1/account', bodyLimit(MAX_AUTH_BODY_BYTES));
  app.use('/health/ready', noStore, withDeps(options.deps));

  for (const router of routers) app.route('/', router);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'Access token from /api/v1/auth/login or /api/v1/auth/register (15 minutes). A JWS following RFC8725 (JWT Best Current Practices): HS256 only, pinned (the token never chooses the algorithm; `none` is refused), keys chosen by `kid`, secrets of 32+ characters, `iss`, `aud`, `exp` and `iat` always checked (docs/decisions/0005-access-tokens.md).',
  });
  app.get('/openapi.json', (c) => c.json(openApiDocument(app, new URL(c.req.url).origin, c.env.APP_ENV)));
  app.get('/docs', Scalar(docsPage));

  app.notFound((c) => handleError(new AppError('NOT_FOUND', `There is nothing at ${c.req.path}.`), c));
  app.onError(handleError);
  return app;
}

export type App = ReturnType<typeof createAppShell>;

/** Where the docs page loads the API reference's script: a static asset (wrangler.toml [assets]). */
export const DOCS_SCRIPT = '/docs/assets/api-reference.js';

/**
 * The docs page's Scalar configuration. Its script comes from this Worker, not a CDN, and both
 * script tags carry the CSP nonce, so /docs works offline under a nonce-only CSP
 * (docs/decisions/0018-docs-offline-under-csp.md). Nothing else leaves the origin: no web fonts
 * (fonts.scalar.com), no telemetry.
 */
function docsPage(c: Context<AppEnv>) {
  return {
    url: '/openapi.json',
    pageTitle: 'edgetask API reference',
    cdn: DOCS_SCRIPT,
    nonce: c.get('secureHeadersNonce'),
    withDefaultFonts: false,
    telemetry: false,
    favicon: '/favicon.svg',
    defaultOpenAllTags: true,
  };
}

/** APP_ENV as the server's description says it (OWASP API9: name each server's environment). */
const ENVIRONMENTS: Record<string, string> = {
  production: 'production',
  development: 'local development',
  test: 'test',
};

/**
 * The OpenAPI document: generated from the routes' zod schemas, then completed with the shared
 * response headers and closed response objects (src/lib/openapi.ts). Its one server is `origin`.
 * Served at /openapi.json; `npm run lint:openapi` lints it without a server.
 */
export function openApiDocument(app: App, origin: string, appEnv?: string) {
  return finalizeDocument(app.getOpenAPI31Document(documentConfig(origin, appEnv)));
}

/** The document's fixed parts. */
function documentConfig(origin: string, appEnv = 'production'): Parameters<App['getOpenAPI31Document']>[0] {
  return {
    openapi: '3.1.0',
    info: {
      title: 'edgetask API',
      version,
      description:
        'Task management at the edge: accounts, tasks, categories. Errors are RFC 9457 problem details (application/problem+json) with a stable `code` and the `request_id`.',
      contact: { name: 'edgetask maintainers', email: 'api@edgetask.invalid' },
      license: { name: 'UNLICENSED' },
    },
    servers: [
      {
        url: origin,
        description: `This deployment (${ENVIRONMENTS[appEnv] ?? appEnv})`,
        // Public: the API is for any mobile or web client.
        'x-internal': false,
      },
    ],
    security: [{ bearerAuth: [] }],
    tags: [
      { name: 'Auth', description: 'Accounts, sessions and tokens' },
      { name: 'Account', description: 'Passwords, sessions, export and deletion' },
      { name: 'Tasks', description: 'Your tasks: filters, sorting, pagination, optimistic locking, soft delete' },
      { name: 'Categories', description: 'Your categories and their links to tasks' },
      { name: 'Health', description: 'Liveness and readiness probes' },
    ],
  };
}
