import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { ERROR_CODES, type ErrorCode } from './errors.ts';
import { PROBLEM_CONTENT_TYPE } from './problem.ts';
import { int32, timestamp } from './schemas.ts';

/** A bounded string with its description and one example. */
const words = (max: number, description: string, example: string) =>
  z
    .string()
    .max(max)
    .openapi({ description, examples: [example] });

/**
 * The RFC 9457 problem document every error response carries, as an OpenAPI component. Its
 * extension members are declared, so an undeclared one fails the contract tests.
 */
export const ProblemSchema = z
  .object({
    type: words(200, 'A URI naming the kind of problem', 'tag:edgetask,2026:problem:validation-failed'),
    title: words(200, 'A short summary of the kind of problem', 'The request is not valid'),
    status: int32(400, 599).openapi({ description: 'The HTTP status code', examples: [400] }),
    detail: words(2000, 'What went wrong this time, for a human', 'One or more fields are invalid.'),
    instance: words(2000, 'The path of the request', '/api/v1/tasks'),
    code: z
      .enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]])
      .openapi({ description: 'A stable code for programs to branch on', examples: ['VALIDATION_FAILED'] }),
    request_id: words(
      255,
      'The X-Request-ID of the request: quote it when reporting a problem',
      '01J9Z6W3Q4X5Y6Z7A8B9C0D1E2',
    ),
    errors: z
      .array(
        z.object({
          pointer: words(
            500,
            'JSON Pointer to the invalid value, prefixed by where it was (body, query, params, header)',
            '/body/title',
          ),
          message: words(500, 'What is wrong with it', 'Too small: expected string to have >=3 characters'),
        }),
      )
      .max(100)
      .optional()
      .openapi({
        description:
          'VALIDATION_FAILED: one entry per invalid field. Other codes may name the field they refuse (`parent_id` of a new subtask).',
      }),
    current_version: int32(1)
      .optional()
      .openapi({ description: 'CONFLICT on a stale update: the version to read and retry from' }),
    locked_until: timestamp().optional().openapi({ description: 'ACCOUNT_LOCKED: when logins are accepted again' }),
    settings: z
      .array(z.string().max(200))
      .max(50)
      .optional()
      .openapi({ description: 'MISCONFIGURED: which settings are wrong (never their values)' }),
  })
  .openapi('Problem', { description: 'RFC 9457 problem details' });

const DESCRIPTIONS: Record<number, string> = {
  400: 'The request is not valid (malformed JSON, a field out of range, an unknown field)',
  401: 'Missing, invalid or expired credentials',
  403: 'The resource exists but belongs to someone else, or the action is not allowed',
  404: 'No such resource',
  405: 'The path exists but not with this method',
  409: 'Conflict with the current state (duplicate, stale version, Idempotency-Key still in flight)',
  410: 'The sync cursor predates purged changes: sync again without a cursor',
  412: 'The If-Match condition does not hold: the task changed since you read it',
  413: 'Request body too large',
  415: 'The body is not application/json',
  422: 'The Idempotency-Key was already used with a different request',
  423: 'Account locked',
  429: 'Rate limit exceeded',
  500: 'Unexpected error or misconfiguration (no internals are disclosed)',
  503: 'A dependency is unavailable',
};

const problemContent = { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } };

/** Error responses to spread into a route's `responses`, so the document lists every status. */
export function errorResponses<const S extends number>(...statuses: S[]) {
  const out = {} as Record<S, { description: string; content: typeof problemContent }>;
  for (const status of statuses)
    out[status] = { description: DESCRIPTIONS[status] ?? 'Error', content: problemContent };
  return out;
}

/** A JSON response or request content entry. */
export const json = <S>(schema: S) => ({ 'application/json': { schema } });

/** A required JSON request body (without `required`, an empty body would pass as `{}`). */
export const jsonBody = <S>(schema: S) => ({ required: true, content: json(schema) });

/**
 * Request headers of conditional and retried requests, documented and bounded. The route schemas key
 * them in lower case, as hono's header validator sees them (HTTP header names ignore case).
 */
export const IfMatchHeader = z
  .string()
  .max(1000)
  .optional()
  .openapi({
    param: { in: 'header' },
    description: 'The ETag you read: the change applies only if the task is still that version (412 otherwise)',
    examples: ['"01a21ce1-50cf-7237-b8b8-bcd30d1af7d3.3"'],
  });

export const IfNoneMatchHeader = z
  .string()
  .max(1000)
  .optional()
  .openapi({
    param: { in: 'header' },
    description: 'The ETag you hold: 304 without a body when it is still current',
  });

export const IdempotencyKeyHeader = z
  .string()
  .max(257)
  .optional()
  .openapi({
    param: { in: 'header' },
    description:
      'A unique key per logical request (1-255 visible ASCII characters, e.g. a UUID). A retry with the same key and body gets the first response again (with `Idempotent-Replayed: true`) for 24 h; the same key with another body is 422; a retry while the first runs is 409.',
    examples: ['4f1c2a9e-8b7d-4c55-9e0a-2f6b1d3c7e10'],
  });

// ---------------------------------------------------------------------------------------------
// Response headers. What the Worker sends on every response, or on every response of a kind, is
// declared here once and added to the document by `finalizeDocument`, so routes added later get
// it without doing anything. A header only some routes send (Location, X-Cache) is referenced by
// those routes with `headerRef`.

type HeaderObject = {
  description: string;
  required?: boolean;
  schema: {
    type: 'string' | 'integer';
    format?: string;
    enum?: string[];
    pattern?: string;
    minLength?: number;
    maxLength?: number;
    minimum?: number;
    maximum?: number;
  };
};

const RATE_LIMIT_SCOPE = '"(ip|user|family)"';

/** Reusable header components, by name: `components.headers` of the document. */
export const HEADERS = {
  'X-Request-ID': {
    description:
      'Yours when it is a sane token (up to 128 characters), else a UUID. Quote it when reporting a problem.',
    required: true,
    schema: { type: 'string', minLength: 1, maxLength: 128 },
  },
  'Access-Control-Allow-Origin': {
    description:
      'Only when the request comes from an origin on the CORS_ORIGINS allowlist (in development also any http://localhost, 127.0.0.1 or [::1] origin): that origin, echoed.',
    schema: { type: 'string', maxLength: 2048 },
  },
  'Cache-Control': {
    description: 'API answers are per user: no cache may keep them.',
    required: true,
    schema: { type: 'string', enum: ['no-store'] },
  },
  RateLimit: {
    description:
      'IETF draft RateLimit header: the limit that applied (`ip`, `user`, or `family`: the session on /auth/refresh), the requests left in the window (`r`) and the seconds until it resets (`t`). Sent once the request reached the limiter: not on 413 and 415 (refused before any route), not on a 401 for a missing or invalid token (refused before the limiter), not when the per-user limiter could not answer (it fails open).',
    schema: { type: 'string', maxLength: 100, pattern: `^${RATE_LIMIT_SCOPE};r=\\d+;t=\\d+$` },
  },
  'RateLimit-Policy': {
    description:
      'IETF draft RateLimit-Policy header: the quota (`q`) per window of `w` seconds. Sent together with RateLimit.',
    schema: { type: 'string', maxLength: 100, pattern: `^${RATE_LIMIT_SCOPE};q=\\d+;w=\\d+$` },
  },
  'Retry-After': {
    description: 'Seconds to wait before trying again.',
    schema: { type: 'integer', format: 'int32', minimum: 1, maximum: 86_400 },
  },
  'WWW-Authenticate': {
    description: 'The bearer challenge (RFC 6750); `error="invalid_token"` when a token was presented and refused.',
    required: true,
    schema: { type: 'string', maxLength: 200 },
  },
  Location: {
    description: 'The URL of the new resource.',
    required: true,
    schema: { type: 'string', maxLength: 200 },
  },
  'X-Cache': {
    description: 'Whether this read was answered from the cache of your reads (docs/decisions/0008).',
    schema: { type: 'string', enum: ['hit', 'miss'] },
  },
  ETag: {
    description:
      'The entity tag of this representation: `"<id>.<version>"` for a task or a category, a digest for a list.',
    required: true,
    schema: { type: 'string', maxLength: 100 },
  },
  'Idempotent-Replayed': {
    description: '`true` when this is the stored response to an earlier request with the same Idempotency-Key.',
    schema: { type: 'string', enum: ['true'] },
  },
} satisfies Record<string, HeaderObject>;

export type HeaderName = keyof typeof HEADERS;

/** A reference to a header component, for a route's `responses[status].headers`. */
export function headerRef(name: HeaderName) {
  return { $ref: `#/components/headers/${name}` };
}

/** The ETag of a task or list response, and the marker of a replayed Idempotency-Key answer. */
export const etagHeader = { ETag: headerRef('ETag') };
export const replayedHeader = { 'Idempotent-Replayed': headerRef('Idempotent-Replayed') };

/** A header component that this response always sends, inline (a `$ref` cannot change `required`). */
export function requiredHeader(name: HeaderName): HeaderObject {
  return { ...HEADERS[name], required: true };
}

type Schema = Record<string, unknown>;
type Response = {
  description: string;
  headers?: Record<string, unknown>;
  content?: Record<string, { schema?: Schema }>;
};
type Parameter = { name: string; in: string; required?: boolean; description?: string; schema?: Schema } & Schema;
type Operation = {
  responses?: Record<string, Response | { $ref: string }>;
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
};
type Document = ReturnType<OpenAPIHono['getOpenAPI31Document']>;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/**
 * The headers every response of a kind carries, from what the app-wide middleware does:
 * - every response: X-Request-ID (request id middleware), and Access-Control-Allow-Origin for
 *   allowed origins (CORS middleware);
 * - every error, and every answer under /api/: Cache-Control: no-store;
 * - 423 (lockout) always has Retry-After, 503 may (the limiter, the database and readiness send it).
 * What a route's gate adds (RateLimit, the bearer challenge) comes with the route: src/gate/route.ts.
 */
function headersFor(path: string, status: number): Record<string, unknown> {
  const headers: Record<string, unknown> = {
    'X-Request-ID': headerRef('X-Request-ID'),
    'Access-Control-Allow-Origin': headerRef('Access-Control-Allow-Origin'),
  };
  if (status >= 400 || path.startsWith('/api/')) headers['Cache-Control'] = headerRef('Cache-Control');
  if (status === 423) headers['Retry-After'] = requiredHeader('Retry-After');
  if (status === 503) headers['Retry-After'] = headerRef('Retry-After');
  return headers;
}

/**
 * Every object schema a response can contain gets `additionalProperties: false` unless it says
 * otherwise, so a member the document does not declare fails validation (zod's default objects
 * strip unknown keys on input and say nothing about them). `allOf` is left alone: closing its
 * members would refuse the other members' properties; the contract tests refuse it in responses.
 */
function closeObjects(schema: unknown, document: Document, seen: Set<unknown>): void {
  if (!schema || typeof schema !== 'object' || seen.has(schema)) return;
  seen.add(schema);
  const node = schema as Schema;
  if (typeof node.$ref === 'string') {
    const name = /^#\/components\/schemas\/(.+)$/.exec(node.$ref)?.[1];
    if (name) closeObjects(document.components?.schemas?.[name], document, seen);
    return;
  }
  if (node.properties && node.additionalProperties === undefined) node.additionalProperties = false;
  for (const child of Object.values((node.properties ?? {}) as Record<string, unknown>))
    closeObjects(child, document, seen);
  closeObjects(node.items, document, seen);
  closeObjects(node.additionalProperties, document, seen);
  for (const key of ['anyOf', 'oneOf'] as const)
    for (const member of (node[key] ?? []) as unknown[]) closeObjects(member, document, seen);
}

/**
 * The body checks run for every write under /api/ that a route answers, before the route: whatever
 * the route does with a body, a body over the limit is 413 and one that is not JSON is 415.
 */
function addBodyCheckResponses(path: string, method: string, operation: Operation): void {
  if (!path.startsWith('/api/') || !['post', 'put', 'patch', 'delete'].includes(method)) return;
  const schema = { $ref: '#/components/schemas/Problem' };
  for (const status of [413, 415])
    operation.responses = {
      [status]: { description: DESCRIPTIONS[status] ?? 'Error', content: { [PROBLEM_CONTENT_TYPE]: { schema } } },
      ...operation.responses,
    };
}

/**
 * The generated document, completed with what no single route declares: the answers of the shared
 * body checks, the shared response headers and closed response objects. Served at /openapi.json
 * and linted by `npm run lint:openapi`.
 */
export function finalizeDocument(generated: Document): Document {
  const document = structuredClone(generated);
  document.components ??= {};
  document.components.headers = { ...HEADERS, ...document.components.headers };
  const seen = new Set<unknown>();
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const method of METHODS) {
      const operation = (item as Record<string, Operation | undefined>)[method];
      if (operation) addBodyCheckResponses(path, method, operation);
      for (const [status, response] of Object.entries((operation?.responses ?? {}) as Record<string, Response>)) {
        response.headers = { ...headersFor(path, Number(status)), ...response.headers };
        for (const media of Object.values(response.content ?? {})) closeObjects(media.schema, document, seen);
      }
      for (const parameter of operation?.parameters ?? []) tidyParameter(parameter);
      const body = (operation as { requestBody?: Response } | undefined)?.requestBody;
      for (const media of Object.values(body?.content ?? {})) optionalDefaults(media.schema, document);
    }
  }
  shareErrorResponses(document);
  return document;
}

/**
 * A parameter's description once (zod-openapi repeats it in the schema), and the examples of an
 * optional parameter without a default as the parameter's own `examples`, marked `x-disabled`:
 * interactive clients (Scalar's "Test Request") fill optional parameters with their first example,
 * or an enum's first value, and send them, so a first try of List tasks would filter by the example
 * search, dates and status and find nothing. Marked, they are shown but left off until ticked.
 */
function tidyParameter(parameter: Parameter): void {
  const schema = parameter.schema;
  if (!schema) return;
  if (schema.description !== undefined && schema.description === parameter.description) delete schema.description;
  if (parameter.required || schema.default !== undefined) return;
  const values =
    (schema.examples as unknown[] | undefined) ?? (schema.enum as unknown[] | undefined)?.slice(0, 1) ?? [];
  if (values.length === 0) return;
  delete schema.examples;
  // The first under the key `default`: Scalar looks an example up by that key and, finding none,
  // falls back to the enum's first value, ticked.
  parameter.examples = Object.fromEntries(
    values.map((value, index) => [index === 0 ? 'default' : String(value), { value, 'x-disabled': true }]),
  );
}

/**
 * A request member with a default may be left out: zod-openapi lists it as required (the parsed
 * value always has it), which makes generated clients demand it. Request bodies only.
 */
function optionalDefaults(schema: Schema | undefined, document: Document): void {
  const name = typeof schema?.$ref === 'string' ? /^#\/components\/schemas\/(.+)$/.exec(schema.$ref)?.[1] : undefined;
  const target = (name ? document.components?.schemas?.[name] : schema) as Schema | undefined;
  const properties = target?.properties as Record<string, Schema> | undefined;
  if (!target || !properties || !Array.isArray(target.required)) return;
  target.required = (target.required as string[]).filter((key) => properties[key]?.default === undefined);
}

/** Names of the shared problem responses (`components.responses`), by status. */
const RESPONSE_NAMES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Gone',
  412: 'PreconditionFailed',
  413: 'ContentTooLarge',
  415: 'UnsupportedMediaType',
  422: 'UnprocessableContent',
  423: 'Locked',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  503: 'ServiceUnavailable',
};

/**
 * The problem responses that many operations share (same status, description, headers and the
 * Problem schema) become `components.responses`, referenced by each operation: the same answer is
 * written once, and generated clients get one type per answer. The name says the status and the
 * optional headers it carries beyond the usual (`...RateLimited` with the RateLimit headers of a
 * rate-limited operation, `...WithChallenge` with WWW-Authenticate); a response of one operation
 * only, or with its own schema, stays inline.
 */
function shareErrorResponses(document: Document): void {
  const operations = Object.values(document.paths ?? {}).flatMap((item) =>
    METHODS.map((method) => (item as Record<string, Operation | undefined>)[method]).filter((op) => op !== undefined),
  );
  const byName = new Map<string, { json: string; response: Response; uses: Record<string, unknown>[] }>();
  const clashes = new Set<string>();
  for (const operation of operations) {
    for (const [status, response] of Object.entries(operation.responses ?? {})) {
      const base = RESPONSE_NAMES[Number(status)];
      if (!base || '$ref' in response) continue;
      const schema = response.content?.[PROBLEM_CONTENT_TYPE]?.schema;
      if (schema?.$ref !== '#/components/schemas/Problem' || Object.keys(response.content ?? {}).length !== 1) continue;
      const headers = response.headers ?? {};
      const name = `${base}${'RateLimit' in headers && status !== '429' ? 'RateLimited' : ''}${'WWW-Authenticate' in headers ? 'WithChallenge' : ''}`;
      const json = JSON.stringify(response);
      const entry = byName.get(name);
      if (entry && entry.json !== json) clashes.add(name);
      else if (entry) entry.uses.push(operation.responses as Record<string, unknown>);
      else byName.set(name, { json, response, uses: [operation.responses as Record<string, unknown>] });
    }
  }
  const shared: Record<string, unknown> = {};
  for (const [name, { response, uses }] of byName) {
    if (clashes.has(name) || uses.length < 2) continue;
    shared[name] = response;
    for (const responses of uses)
      for (const [status, candidate] of Object.entries(responses))
        if (JSON.stringify(candidate) === JSON.stringify(response))
          responses[status] = { $ref: `#/components/responses/${name}` };
  }
  if (Object.keys(shared).length > 0)
    (document.components as Record<string, unknown>).responses = {
      ...(document.components as { responses?: Record<string, unknown> }).responses,
      ...shared,
    };
}
