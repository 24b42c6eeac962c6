/**
 * A typed edgetask client: openapi-fetch over the types openapi-typescript generates from the API's
 * OpenAPI document (schema.d.ts; `npm run client:generate`). Paths, parameters, bodies and answers
 * are checked by TypeScript; at run time it is `fetch` and nothing else.
 *
 *   const api = createEdgetaskClient('http://127.0.0.1:8787');
 *   const { data, error } = await api.POST('/api/v1/auth/login', { body: { email, password } });
 */
import createClient, { type ClientOptions } from 'openapi-fetch';
import type { components, operations, paths } from './schema.d.ts';

export type { components, operations, paths };
/** A schema of the document by name: `Schema<'Task'>`. */
export type Schema<Name extends keyof components['schemas']> = components['schemas'][Name];

export function createEdgetaskClient(baseUrl: string, options: Omit<ClientOptions, 'baseUrl'> = {}) {
  return createClient<paths>({ ...options, baseUrl });
}

export type EdgetaskClient = ReturnType<typeof createEdgetaskClient>;
