import { getHttpOperationsFromSpec } from '@stoplight/prism-http';
import * as prismRouter from '@stoplight/prism-http/dist/router/index.js';
import { validateOutput } from '@stoplight/prism-http/dist/validator/index.js';

/**
 * Checks a response the Worker gave against the OpenAPI document, with Stoplight Prism's HTTP
 * validator (the one behind `prism proxy --errors`): it finds the operation by method and path,
 * then checks the status is documented, the declared headers (required ones present, every
 * declared one matching its schema) and the body against the schema of its media type. Every
 * diagnostic counts, warnings included (Prism calls an undocumented 4xx a warning).
 *
 * Prism is lenient in two places, so two checks are ours: the Content-Type must be one of the
 * documented media types exactly (Prism takes application/json for application/problem+json),
 * and a response documented without content must have no body.
 *
 * Requests that match no operation get what the app answers for them: 404 (no such path) or 405
 * with Allow (no such method), or 500 (misconfigured, or a bug), as problem details; a CORS
 * preflight gets 204 without a body. The
 * document and its viewer (GET /openapi.json, GET /docs) are not in the document and are skipped.
 *
 * Runs in Node: Prism compiles schemas with ajv, which generates code, and workerd refuses that.
 */

type IHttpOperation = Awaited<ReturnType<typeof getHttpOperationsFromSpec>>[number];

export interface Exchange {
  method: string;
  /** Path and query, e.g. `/api/v1/tasks?limit=5`. */
  path: string;
  status: number;
  headers: Record<string, string>;
  /** The body as text ('' when there is none). */
  body: string;
}

export interface ResponseValidator {
  /** What is wrong with this response, one line each; empty when it matches the document. */
  validate(exchange: Exchange): string[];
}

type Route = (opts: {
  resources: IHttpOperation[];
  input: { method: string; url: { path: string } };
}) => { _tag: 'Left'; left: { status?: number; message: string } } | { _tag: 'Right'; right: IHttpOperation };

// The router is the module's default export; the CommonJS interop of whoever loaded it may or may
// not have unwrapped it already.
const routerModule = prismRouter as unknown as { default: Route | { default: Route } };
const route: Route = typeof routerModule.default === 'function' ? routerModule.default : routerModule.default.default;

/** Served by the app but not part of the API the document describes. */
const OUTSIDE_THE_DOCUMENT = new Set(['GET /openapi.json', 'GET /docs']);

/** A path no request can have: the operation that describes answers to requests matching none. */
const UNMATCHED = '/ unmatched request';

export async function createResponseValidator(document: object): Promise<ResponseValidator> {
  const operations = await getHttpOperationsFromSpec(withUnmatchedOperation(document));
  const unmatched = operations.find((operation) => operation.path === UNMATCHED);
  if (!unmatched) throw new Error('the unmatched-request operation is missing');
  const documented = operations.filter((operation) => operation !== unmatched);

  return {
    validate(exchange) {
      const { method, status } = exchange;
      const path = exchange.path.split('?')[0] ?? '/';
      const where = `${method} ${path} -> ${status}`;
      if (OUTSIDE_THE_DOCUMENT.has(`${method} ${path}`)) return [];
      if (method === 'OPTIONS') {
        return status === 204 && exchange.body === ''
          ? []
          : [`${where}: a CORS preflight is answered 204 without a body`];
      }
      // HEAD is GET without the body (hono answers it for every GET route).
      const asMethod = method === 'HEAD' ? 'GET' : method;
      // Prism lets an empty segment (`/categories/`) fill a path parameter; the app's router does
      // not, and no documented path has an empty segment: such a path matches nothing.
      const routed = path.slice(1).split('/').includes('')
        ? ({ _tag: 'Left', left: { status: 404, message: 'empty path segment' } } as const)
        : route({ resources: documented, input: { method: asMethod.toLowerCase(), url: { path } } });
      let operation: IHttpOperation;
      if (routed._tag === 'Right') {
        operation = routed.right;
      } else {
        // Prism's router error carries the status a server would give: 404 no path, 405 no method.
        const expected = routed.left.status === 405 ? 405 : 404;
        if (status !== expected && status !== 500)
          return [`${where}: no operation in the document answers ${method} ${path}, so only ${expected} (or 500) may`];
        operation = unmatched;
      }
      const problems = checkMedia(operation, exchange, method === 'HEAD');
      const output = validateOutput({
        resource: operation,
        element: { statusCode: status, headers: exchange.headers, body: parseBody(exchange) },
      });
      if (output._tag === 'Left') {
        for (const diagnostic of output.left)
          problems.push(`${(diagnostic.path ?? []).join('.') || 'response'}: ${diagnostic.message}`);
      }
      return problems.map((problem) => (problem.startsWith(where) ? problem : `${where} ${problem}`));
    },
  };
}

/** The media type as sent, without parameters (`application/json; charset=UTF-8` -> `application/json`). */
function mediaType(headers: Record<string, string>): string | undefined {
  const value = Object.entries(headers).find(([name]) => name.toLowerCase() === 'content-type')?.[1];
  return value?.split(';')[0]?.trim().toLowerCase();
}

function checkMedia(operation: IHttpOperation, exchange: Exchange, head: boolean): string[] {
  const response = operation.responses.find((r) => r.code === String(exchange.status));
  if (!response) return []; // Prism reports the undocumented status.
  const documented = (response.contents ?? []).map((content) => content.mediaType);
  if (documented.length === 0)
    return exchange.body === '' ? [] : [': the document says this response has no body, but it has one'];
  if (head) return [];
  const sent = mediaType(exchange.headers);
  return sent && documented.includes(sent)
    ? []
    : [`: Content-Type ${sent ?? '(none)'} is not one the document gives (${documented.join(', ')})`];
}

function parseBody(exchange: Exchange): unknown {
  if (exchange.body === '') return undefined;
  const type = mediaType(exchange.headers) ?? '';
  if (!/^application\/([\w.-]+\+)?json$/.test(type)) return exchange.body;
  try {
    return JSON.parse(exchange.body);
  } catch {
    return exchange.body;
  }
}

/** The document plus one operation describing the app's answers to requests that match none. */
function withUnmatchedOperation(document: object): object {
  const copy = structuredClone(document) as { paths?: Record<string, unknown> };
  const headers = {
    'X-Request-ID': { $ref: '#/components/headers/X-Request-ID' },
    'Cache-Control': { $ref: '#/components/headers/Cache-Control' },
  };
  const content = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };
  copy.paths = {
    ...copy.paths,
    [UNMATCHED]: {
      get: {
        responses: {
          404: { description: 'No such path', headers, content },
          405: {
            description: 'No such method here',
            headers: {
              ...headers,
              Allow: { required: true, schema: { type: 'string', pattern: '^[A-Z]+(, [A-Z]+)*$' } },
            },
            content,
          },
          500: { description: 'Misconfigured, or a bug', headers, content },
        },
      },
    },
  };
  return copy;
}
