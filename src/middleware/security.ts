import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { matchedRoutes } from 'hono/route';
import { NONCE, secureHeaders } from 'hono/secure-headers';
import type { AppEnv } from '../app-env.ts';
import { loadConfig } from '../env.ts';
import { HttpError } from '../http/http-error.ts';
import { AppError } from '../lib/errors.ts';

/** An API serves JSON to programs: nothing may be framed, sniffed, scripted or kept by a shared cache. */
const STRICT = {
  strictTransportSecurity: 'max-age=31536000; includeSubDomains',
  xFrameOptions: 'DENY',
  xContentTypeOptions: 'nosniff',
  referrerPolicy: 'no-referrer',
};

export const apiSecureHeaders = secureHeaders({
  ...STRICT,
  contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  crossOriginResourcePolicy: 'same-origin',
});

/**
 * The docs page is the one HTML page: its two scripts (Scalar's bundle, served by this Worker as a
 * static asset, and the inline call that starts it) run by nonce, and nothing is loaded from
 * elsewhere (docs/decisions/0018-docs-offline-under-csp.md). Styles need 'unsafe-inline': Scalar
 * injects style elements and attributes at runtime that no nonce or hash can cover; without
 * script, and with images and connections limited to this origin, a style cannot run code or
 * send data away.
 */
export const docsSecureHeaders = secureHeaders({
  ...STRICT,
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: [NONCE],
    // Scalar adds <style> elements (its components', toasts') and style attributes without a nonce.
    styleSrc: ["'unsafe-inline'"],
    imgSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    frameAncestors: ["'none'"],
  },
});

/**
 * CORS from the CORS_ORIGINS allowlist; an origin not on it gets no Access-Control-Allow-Origin.
 * A request without an Origin header (a mobile app, a server, curl) is not a CORS request: it only
 * gets `Vary: Origin`, set on the final response. hono's cors() would set its headers on a
 * placeholder response before the handler runs and append Vary after it, and each of those makes
 * hono build the Response again (issue 17).
 */
export function corsAllowlist(): MiddlewareHandler<AppEnv> {
  // One handler per configuration (per isolate in production), not one per request.
  const handlers = new WeakMap<object, MiddlewareHandler<AppEnv>>();
  return async (c, next) => {
    if (c.req.header('Origin') === undefined) {
      await next();
      c.res.headers.append('Vary', 'Origin');
      return;
    }
    const result = loadConfig(c.env);
    let handler = handlers.get(result);
    if (!handler) {
      handler = corsHandler(
        result.ok ? result.config.CORS_ORIGINS : [],
        result.ok && result.config.APP_ENV === 'development',
      );
      handlers.set(result, handler);
    }
    return handler(c, next);
  };
}

function corsHandler(allowed: string[], development: boolean): MiddlewareHandler<AppEnv> {
  return cors({
    origin: (origin) => (allowed.includes(origin) || (development && isLoopbackOrigin(origin)) ? origin : null),
    allowMethods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
    allowHeaders: [
      'Authorization',
      'Content-Type',
      'X-Request-ID',
      'If-Match',
      'If-None-Match',
      'Idempotency-Key',
      'traceparent',
    ],
    exposeHeaders: [
      'X-Request-ID',
      'RateLimit',
      'RateLimit-Policy',
      'Retry-After',
      'ETag',
      'Location',
      'Server-Timing',
      'Idempotent-Replayed',
    ],
    maxAge: 600,
  });
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * A web app on this machine (http://localhost:5173, http://127.0.0.1:3000, any port): allowed in
 * development without listing it in CORS_ORIGINS, so a local front end can call `npm run dev`.
 * Production only ever allows the explicit list.
 */
function isLoopbackOrigin(origin: string): boolean {
  if (!URL.canParse(origin)) return false;
  const url = new URL(origin);
  return (url.protocol === 'http:' || url.protocol === 'https:') && LOOPBACK_HOSTS.has(url.hostname);
}

/** Authenticated and API answers are per user: no shared cache may keep them. */
export const noStore: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
};

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * Whether a route answers this method and path (middleware match every method). A request none
 * answers gets its 404 or 405 whatever its body: a body check there would answer 413 or 415 for a
 * resource that does not exist.
 */
function routeFound(c: Context<AppEnv>): boolean {
  return matchedRoutes(c).some((route) => route.method !== 'ALL');
}

/**
 * A body that is not JSON is refused with 415 before any validation runs. A request with no body
 * and no Content-Type goes on: a route that needs a body then answers 400 for what is missing.
 */
export const requireJsonBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.method === 'GET' || c.req.method === 'HEAD' || c.req.method === 'OPTIONS' || !routeFound(c)) return next();
  const contentType = c.req.header('Content-Type');
  const length = c.req.header('Content-Length');
  const hasBody = (length !== undefined && length !== '0') || c.req.header('Transfer-Encoding') !== undefined;
  if (contentType === undefined && !hasBody) return next();
  const mediaType = (contentType ?? '').split(';')[0]?.trim() ?? '';
  if (!JSON_MEDIA_TYPE.test(mediaType)) {
    throw new HttpError(
      'UNSUPPORTED_MEDIA_TYPE',
      contentType ? 'Request bodies must be application/json.' : 'A request body needs Content-Type: application/json.',
      { 'Accept-Post': 'application/json', 'Accept-Patch': 'application/json' },
    );
  }
  return next();
};

/** Bodies over the limit get 413 as problem details, without reading more than the limit. */
export function bodyLimit(maxBytes: number): MiddlewareHandler<AppEnv> {
  const limit = honoBodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new AppError('PAYLOAD_TOO_LARGE', `Request bodies are limited to ${maxBytes} bytes.`);
    },
  });
  return (c, next) => (routeFound(c) ? limit(c, next) : next());
}
