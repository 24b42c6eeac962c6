import { createRoute, z, type RouteConfig } from '@hono/zod-openapi';
import { errorResponses, headerRef, IdempotencyKeyHeader, requiredHeader } from '../lib/openapi.ts';
import { gate, type GateSpec } from './gate.ts';

type GatedConfig = Omit<RouteConfig, 'path' | 'middleware' | 'security'>;

/**
 * A route with its gate: `createRoute` plus what the gate does, in the document as in the code.
 * The gate's middleware runs before the route's validators; the gate adds the error responses it can
 * answer (and the 500 and 503 every gated route may), the RateLimit headers of the responses that
 * carry them, the bearer challenge of a 401, the Idempotency-Key request header, and `security: []`
 * on public routes. The route declares only its own answers.
 */
export function gatedRoute<P extends string, R extends GatedConfig & { path: P }>(spec: GateSpec, config: R) {
  const idempotent = spec.auth === 'user' && spec.idempotent === true;
  return createRoute<P, R>({
    ...config,
    middleware: [gate(spec)],
    ...(spec.auth === 'public' ? { security: [] } : {}),
    ...(idempotent ? { request: withIdempotencyKey(config.request) } : {}),
    responses: withGateResponses(spec, config.responses),
  });
}

function withIdempotencyKey(request: RouteConfig['request']): RouteConfig['request'] {
  const headers = request?.headers;
  const idempotencyKey = { 'idempotency-key': IdempotencyKeyHeader };
  if (headers !== undefined && !(headers instanceof z.ZodObject)) {
    throw new Error('a gated route declares its request headers as one z.object');
  }
  return { ...request, headers: headers ? headers.extend(idempotencyKey) : z.object(idempotencyKey) };
}

/** The statuses the gate itself may answer with. */
function gateStatuses(spec: GateSpec): number[] {
  // Every gated route reaches Upstash and Neon: either may be away (503), and anything may fail (500).
  const statuses = [429, 500, 503];
  if (spec.auth === 'user') statuses.push(401);
  if (spec.auth === 'user' && spec.verified) statuses.push(403);
  if (spec.auth === 'user' && spec.idempotent) statuses.push(400, 409, 422);
  return statuses;
}

type Responses = RouteConfig['responses'];

function withGateResponses(spec: GateSpec, declared: Responses): Responses {
  return withRateLimitHeaders({ ...errorResponses(...gateStatuses(spec)), ...declared }, spec.auth === 'user');
}

/**
 * The headers of a rate-limited route's responses: RateLimit and RateLimit-Policy once the request
 * reached the limiter (every 2xx and 4xx answer except a 401 for a missing or invalid token, which
 * comes first; 413 and 415 are answered before any route), required with Retry-After on 429; with
 * `challenge`, the bearer challenge on 401. The refresh route, limited per session, uses it too.
 */
export function withRateLimitHeaders<T extends Responses>(responses: T, challenge = false): T {
  const out: Responses = { ...responses };
  for (const [key, response] of Object.entries(out)) {
    if ('$ref' in response) continue;
    const status = Number(key);
    const headers: Record<string, unknown> = {};
    if (status === 429) {
      headers.RateLimit = requiredHeader('RateLimit');
      headers['RateLimit-Policy'] = requiredHeader('RateLimit-Policy');
      headers['Retry-After'] = requiredHeader('Retry-After');
    } else if ([2, 4].includes(Math.floor(status / 100)) && status !== 413 && status !== 415) {
      headers.RateLimit = headerRef('RateLimit');
      headers['RateLimit-Policy'] = headerRef('RateLimit-Policy');
    }
    if (status === 401 && challenge) headers['WWW-Authenticate'] = headerRef('WWW-Authenticate');
    if (Object.keys(headers).length === 0) continue;
    out[key] = { ...response, headers: { ...headers, ...response.headers } } as (typeof out)[string];
  }
  return out as T;
}
