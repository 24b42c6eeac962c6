import { beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { createEdgetaskClient, type EdgetaskClient, type Schema } from '../../clients/typescript/index.ts';
import { uniqueEmail, PASSWORD } from '../helpers/auth.ts';
import { BASE, setupTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * The generated TypeScript client (clients/typescript: openapi-typescript types, openapi-fetch) used
 * as an app would use it, against the Worker. Its requests go through `app.request`, so every
 * answer is also checked against the OpenAPI document.
 */
describe('the generated TypeScript client', () => {
  let app: TestApp;
  let api: EdgetaskClient;
  beforeAll(async () => {
    app = await setupTestApp();
    api = createEdgetaskClient(BASE, {
      fetch: async (request: Request) =>
        app.request(request.url, {
          method: request.method,
          headers: request.headers,
          body: request.body ? await request.arrayBuffer() : undefined,
        }),
    });
  });

  it('registers, creates a task and lists it, typed end to end', async () => {
    const registered = await api.POST('/api/v1/auth/register', {
      body: { email: uniqueEmail('client'), password: PASSWORD, full_name: 'Client' },
    });
    expect(registered.response.status).toBe(201);
    expect(registered.error).toBeUndefined();
    const token = registered.data!.access_token;
    const headers = { authorization: `Bearer ${token}` };

    const created = await api.POST('/api/v1/tasks', {
      headers,
      body: { title: 'Generated clients are typed', priority: 'high' },
    });
    // Members with a default may be left out (priority: medium).
    const defaulted = await api.POST('/api/v1/tasks', { headers, body: { title: 'Defaults apply' } });
    expect(defaulted.data?.priority).toBe('medium');
    expect(created.response.status).toBe(201);
    const task = created.data!;
    expectTypeOf(task).toEqualTypeOf<Schema<'Task'>>();
    expect(task).toMatchObject({ title: 'Generated clients are typed', priority: 'high', status: 'todo', version: 1 });

    const listed = await api.GET('/api/v1/tasks', { headers, params: { query: { priority: 'high', limit: 10 } } });
    expect(listed.response.status).toBe(200);
    expect(listed.data!.items.map((t) => t.id)).toEqual([task.id]);
    expect(listed.data!.total).toBe(1);
  });

  it('types error answers as problem details', async () => {
    const { data, error, response } = await api.GET('/api/v1/tasks/{task_id}', {
      params: { path: { task_id: crypto.randomUUID() } },
    });
    expect(response.status).toBe(401);
    expect(data).toBeUndefined();
    expect(error?.code).toBe('UNAUTHENTICATED');
  });
});
