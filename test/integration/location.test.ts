import { beforeAll, describe, expect, it } from 'vitest';
import { bearer, register, type Registered } from '../helpers/auth.ts';
import { as } from '../helpers/tasks.ts';
import { setupTestApp, type TestApp } from '../helpers/test-app.ts';

type Json = Record<string, unknown>;

let app: TestApp;
let doc: Json;
let ann: Registered;

beforeAll(async () => {
  app = await setupTestApp();
  doc = await (await app.request('/openapi.json')).json<Json>();
  ann = await register(app);
});

/** Follows a local `$ref` (responses and headers may be components). */
function resolve(node: unknown): Json {
  let current = node as Json;
  while (typeof current.$ref === 'string') {
    current = current.$ref
      .slice(2)
      .split('/')
      .reduce<Json>((at, key) => at[key] as Json, doc);
  }
  return current;
}

/** Every operation of the document that answers 201, as "METHOD path". */
function createdOperations(): { operation: string; location: Json | undefined }[] {
  const found: { operation: string; location: Json | undefined }[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const [method, op] of Object.entries(item)) {
      const created = (op as { responses?: Json }).responses?.['201'];
      if (!created) continue;
      const headers = (resolve(created).headers ?? {}) as Json;
      const location = Object.entries(headers).find(([name]) => name.toLowerCase() === 'location')?.[1];
      found.push({
        operation: `${method.toUpperCase()} ${path}`,
        location: location === undefined ? undefined : resolve(location),
      });
    }
  }
  return found;
}

/**
 * How to make each 201 happen, and what its Location must lead to. A route that answers 201 and is
 * missing here fails the first test: add it, with its request.
 */
const CREATES: Record<string, () => Promise<{ res: Response; id: string | undefined }>> = {
  'POST /api/v1/auth/register': async () => {
    const res = await app.request('/api/v1/auth/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: `loc.${crypto.randomUUID()}@example.com`,
        password: 'correct horse 42',
        full_name: 'L',
      }),
    });
    return { res, id: (await res.clone().json<{ user: { id: string } }>()).user.id };
  },
  'POST /api/v1/tasks': async () => {
    const res = await as(app, ann.accessToken).post('/api/v1/tasks', { title: 'Located' });
    return { res, id: (await res.clone().json<{ id: string }>()).id };
  },
  'POST /api/v1/categories': async () => {
    const res = await as(app, ann.accessToken).post('/api/v1/categories', {
      name: `Loc ${crypto.randomUUID().slice(0, 8)}`,
    });
    return { res, id: (await res.clone().json<{ id: string }>()).id };
  },
};

describe('Location on every 201', () => {
  it('every 201 in the OpenAPI document declares a required Location header', () => {
    const created = createdOperations();
    expect(created.map((c) => c.operation).sort()).toEqual(Object.keys(CREATES).sort());
    for (const { operation, location } of created) {
      expect(location, `${operation} declares no Location`).toBeDefined();
      expect(location?.required, operation).toBe(true);
    }
  });

  it.each(Object.keys(CREATES))('%s answers 201 with a Location that leads to what it created', async (operation) => {
    const { res, id } = await CREATES[operation]!();
    expect(res.status).toBe(201);
    const location = res.headers.get('location');
    expect(location).toBeTruthy();
    const token =
      operation === 'POST /api/v1/auth/register'
        ? (await res.clone().json<{ access_token: string }>()).access_token
        : ann.accessToken;
    const read = await app.request(location!, bearer(token));
    expect(read.status).toBe(200);
    expect((await read.json<{ id: string }>()).id).toBe(id);
  });
});
