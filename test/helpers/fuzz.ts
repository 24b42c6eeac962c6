import fc from 'fast-check';
import { expect } from 'vitest';
import { PASSWORD, uniqueEmail } from './auth.ts';
import type { TestApp } from './test-app.ts';

/**
 * What the fuzz tests share: a request that must answer in time, a digest of everything the API
 * stores, the checks every answer to hostile input must pass, the routes and limits read from the
 * OpenAPI document, and the hostile values themselves.
 */

/** Far above any honest answer here (a password hash is the slowest step, well under a second). */
export const REQUEST_TIMEOUT_MS = 5_000;

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * Sends a request and reads the whole answer, failing if that takes longer than the timeout: a
 * request that never ends is as much a bug as a 500, and the test must say so rather than hang.
 */
export async function sendWithin(
  app: TestApp,
  path: string,
  init: RequestInit = {},
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<Answer> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${timeoutMs} ms: ${init.method ?? 'GET'} ${path}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([
      (async () => {
        const res = await app.request(path, init);
        return { status: res.status, headers: res.headers, text: await res.text() };
      })(),
      deadline,
    ]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/**
 * A digest of every row of every table in the test database (tables read from the catalogue, so a
 * new migration's tables count without touching this): equal digests, nothing written.
 */
const ROW = `(to_jsonb(r) - 'failed_login_count' - 'locked_until')::text`;

export async function databaseDigester(app: TestApp): Promise<() => Promise<string>> {
  const tables = await app.sql`
    select table_name as name from information_schema.tables
     where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`;
  expect(tables.length).toBeGreaterThan(0);
  const parts = tables.map(
    ({ name }) =>
      // The lockout's bookkeeping is left out: a refused password check counts by design (0014).
      `'${name}:' || coalesce((select md5(string_agg(${ROW}, ',' order by ${ROW})) from "${name}" r), '-')`,
  );
  const query = `select ${parts.join(" || ' ' || ")} as digest`;
  return async () => {
    const rows = (await app.sql.query(query)) as { digest: string }[];
    return rows[0]?.digest ?? '';
  };
}

export interface ProblemJson {
  type: string;
  status: number;
  code: string;
  detail: string;
  request_id: string;
  errors?: { pointer: string; message: string }[];
}

/**
 * The answer to any input, however hostile: never a 5xx, and every error an RFC 9457 document
 * whose status is the response's. Returns the problem for a 4xx, else null.
 */
export function expectSafeAnswer(answer: Answer, label: string): ProblemJson | null {
  expect(answer.status, `${label} -> ${answer.status} ${answer.text.slice(0, 300)}`).toBeLessThan(500);
  if (answer.status < 400) return null;
  expect(answer.headers.get('content-type'), `${label}: error content type`).toBe('application/problem+json');
  const problem = JSON.parse(answer.text) as ProblemJson;
  expect(problem.status, `${label}: problem status`).toBe(answer.status);
  expect(problem.code, `${label}: problem code`).toMatch(/^[A-Z][A-Z_]+$/);
  expect(problem.request_id, `${label}: problem request id`).toBe(answer.headers.get('x-request-id'));
  return problem;
}

/** Pointers of the field errors of a 400, e.g. ['/body/title']. */
export function errorPointers(problem: ProblemJson | null): string[] {
  return problem?.errors?.map((e) => e.pointer) ?? [];
}

// --- The routes and their limits, from the OpenAPI document --------------------------------------

export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  format?: string;
  pattern?: string;
  enum?: unknown[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
}

export interface Operation {
  /** 'POST /api/v1/tasks': readable in counterexamples. */
  name: string;
  method: string;
  path: string;
  /** False for the routes the document marks `security: []`. */
  secured: boolean;
  /** The JSON request body schema, references resolved, when the route takes a body. */
  body?: JsonSchema;
  pathParams: string[];
  query: Record<string, JsonSchema>;
}

interface OpenApiDocument {
  paths: Record<
    string,
    Record<
      string,
      {
        security?: unknown[];
        parameters?: { name: string; in: string; schema?: JsonSchema }[];
        requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
      }
    >
  >;
  components?: { schemas?: Record<string, JsonSchema> };
}

/** Every operation of the app's own /openapi.json. */
export async function documentedOperations(app: TestApp): Promise<Operation[]> {
  const doc = await (await app.request('/openapi.json')).json<OpenApiDocument>();
  const resolve = (schema: JsonSchema | undefined): JsonSchema | undefined => {
    const ref = schema?.$ref;
    if (!ref) return schema;
    const name = ref.replace('#/components/schemas/', '');
    const target = doc.components?.schemas?.[name];
    if (!target) throw new Error(`unresolved ${ref} in the OpenAPI document`);
    return target;
  };
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]): Operation => {
      const parameters = op.parameters ?? [];
      const body = resolve(op.requestBody?.content?.['application/json']?.schema);
      return {
        name: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        secured: !(Array.isArray(op.security) && op.security.length === 0),
        ...(body ? { body } : {}),
        pathParams: parameters.filter((p) => p.in === 'path').map((p) => p.name),
        query: Object.fromEntries(parameters.filter((p) => p.in === 'query').map((p) => [p.name, p.schema ?? {}])),
      };
    }),
  );
}

export interface DocumentedLimit {
  operation: Operation;
  field: string;
  kind: 'length' | 'number';
  min: number | undefined;
  max: number | undefined;
  schema: JsonSchema;
}

/** Every length and number bound the document states for a request body field. */
export function documentedLimits(operations: Operation[]): DocumentedLimit[] {
  return operations.flatMap((operation) =>
    Object.entries(operation.body?.properties ?? {}).flatMap(([field, schema]): DocumentedLimit[] => {
      if (schema.minLength !== undefined || schema.maxLength !== undefined) {
        return [{ operation, field, kind: 'length', min: schema.minLength, max: schema.maxLength, schema }];
      }
      if (schema.minimum !== undefined || schema.maximum !== undefined) {
        return [{ operation, field, kind: 'number', min: schema.minimum, max: schema.maximum, schema }];
      }
      return [];
    }),
  );
}

/** A string the field accepts, of exactly `length` code points of `unit` (content rules met). */
export function stringOfLength(schema: JsonSchema, length: number, unit: string): string {
  if (schema.format === 'email') {
    // Emails are ASCII (the schema's address check): a unique local part, padded to the length.
    const domain = '@example.com';
    if (length <= domain.length) return 'x'.repeat(length);
    const local = uniqueEmail('b').split('@')[0]!.replaceAll('.', '');
    return (local + 'x'.repeat(Math.max(0, length))).slice(0, Math.max(0, length - domain.length)) + domain;
  }
  if (schema.format === 'date-time') {
    // A valid instant far in the future, its fraction of a second padded to the length.
    const stem = '2099-01-01T00:00:00';
    return length >= stem.length + 2 ? `${stem}.${'0'.repeat(length - stem.length - 2)}Z` : stem.slice(0, length);
  }
  // A new password needs a letter and a digit: they lead, the unit fills the rest.
  const lead = schema.format === 'password' ? 'a1' : '';
  return [...(lead + unit.repeat(length))].slice(0, length).join('');
}

/**
 * A valid body for an operation from its schema alone: each required field at its smallest
 * acceptable value (emails unique, passwords the test password). Routes whose rules the schema
 * cannot say (a current `version`, a change besides it) override fields.
 */
export function validBody(schema: JsonSchema | undefined, overrides: Record<string, unknown> = {}) {
  const body: Record<string, unknown> = {};
  for (const field of schema?.required ?? []) {
    const property = schema?.properties?.[field] ?? {};
    if (property.format === 'email') body[field] = uniqueEmail('fuzz');
    else if (property.format === 'password') body[field] = PASSWORD;
    else if (property.enum) body[field] = property.enum[0];
    else if (property.type === 'integer' || property.type === 'number') body[field] = property.minimum ?? 1;
    else body[field] = 'v'.repeat(Math.max(3, property.minLength ?? 0)) + crypto.randomUUID().slice(0, 8);
  }
  return { ...body, ...overrides };
}

// --- Hostile values --------------------------------------------------------------------------------

/** One code point each, so a string of n of them has exactly n characters to both zod and Postgres. */
export const CODE_POINT_UNITS = [
  'a',
  'é', // 2 bytes in UTF-8
  '中', // 3 bytes
  '😀', // 4 bytes, 2 UTF-16 units: the one where code points and .length differ
  '\u0301', // a combining accent: a code point that is no grapheme on its own
  '\u202e', // RIGHT-TO-LEFT OVERRIDE
  '\u200d', // ZERO WIDTH JOINER
  '\ufeff', // BYTE ORDER MARK inside a string
] as const;

/** Strings Postgres or JSON cannot carry, or that have been known to break parsers. */
export const NASTY_STRINGS = [
  '\u0000',
  'a\u0000b',
  '\ud800', // lone high surrogate (JSON.stringify writes it as the escape \ud800)
  'abc\udc00',
  '\udc00\ud800',
  '\u202eabc',
  '👨‍👩‍👧‍👦',
  'e\u0301\u0301\u0301',
  '\uffff\ufffe',
  '../../etc/passwd',
  "' or 1=1 --",
  '<script>alert(1)</script>',
  '%00',
  '${7*7}{{7*7}}',
  '',
  ' ',
  '\t\n\r',
  'x'.repeat(5000),
  '😀'.repeat(201),
] as const;

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom(...CODE_POINT_UNITS), maxLength: 60 }),
  fc.constantFrom(...NASTY_STRINGS),
);

/**
 * Number literals as they appear in JSON text: beyond a double (1e309 parses to Infinity), beyond
 * 2^53, beyond Postgres' integer, negative zero, an integer written as a float, and underflow.
 */
export const NUMBER_LITERALS = [
  '0',
  '-0',
  '1',
  '-1',
  '1.0',
  '1e0',
  '0.5',
  '1e-400',
  '1e309',
  '-1e309',
  '9007199254740993', // 2^53 + 1: not representable, parses to 2^53
  '2147483647', // Postgres integer max
  '2147483648', // 2^31: overflows a Postgres integer
  '-2147483649',
  '4294967297',
  '1' + '0'.repeat(400),
] as const;

/** Raw JSON text for one value: hostile strings (lone surrogates escaped), numbers, other types. */
export const rawJsonValue: fc.Arbitrary<string> = fc.oneof(
  hostileString.map((s) => JSON.stringify(s)),
  fc.constantFrom(...NUMBER_LITERALS),
  fc.constantFrom('null', 'true', 'false', '[]', '{}', '[1,"a"]', '{"a":{"b":{}}}'),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
);

/**
 * A JSON object as text from key/value pairs, so the same key may come twice; JSON.parse (and
 * hono's c.req.json()) keeps the last one.
 */
export function rawObject(pairs: readonly (readonly [string, string])[]): string {
  return `{${pairs.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`;
}

/**
 * Timestamps the way RFC 3339 and zod's pattern write them, over the whole four-digit range:
 * year 0000, offsets up to ±23:59 (Postgres stops at ±15:59), long fractions.
 */
export const rfc3339ish: fc.Arbitrary<string> = fc
  .record({
    year: fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.constantFrom(0, 1, 1969, 1970, 2099, 9999)),
    month: fc.integer({ min: 1, max: 12 }),
    day: fc.integer({ min: 1, max: 28 }),
    hour: fc.integer({ min: 0, max: 23 }),
    minute: fc.integer({ min: 0, max: 59 }),
    fraction: fc.option(fc.stringMatching(/^[0-9]{1,12}$/), { nil: undefined }),
    offset: fc.oneof(
      fc.constant('Z'),
      fc
        .tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
        .map(([sign, h, m]) => `${sign}${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`),
    ),
  })
  .map(
    ({ year, month, day, hour, minute, fraction, offset }) =>
      `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}T` +
      `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00${fraction ? `.${fraction}` : ''}${offset}`,
  );
