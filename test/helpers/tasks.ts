import { expect } from 'vitest';
import { bearer } from './auth.ts';
import { json, type TestApp } from './test-app.ts';

export interface TaskBody {
  id: string;
  user_id: string;
  parent_id: string | null;
  position: string;
  title: string;
  description: string | null;
  status: string;
  priority: string;
  due_date: string | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
  version: number;
  subtask_count: number;
  categories: { id: string; name: string; color: string }[];
  recurrence: string | null;
  completed_occurrences: number;
  reminders: { id: string; at: string | null; minutes_before: number | null; remind_at: string | null }[];
}

/** A page of GET /api/v1/tasks: by offset (`page`) or by cursor (`page` null). */
export interface TaskPage {
  items: TaskBody[];
  total: number;
  page: number | null;
  limit: number;
  next_cursor: string | null;
}

export interface Problem {
  code: string;
  status: number;
  detail: string;
  errors?: { pointer: string; message: string }[];
  current_version?: number;
}

/** Calls as a user: `as(token).get('/api/v1/tasks')`. */
export function as(app: TestApp, token: string) {
  return {
    get: (path: string) => app.request(path, bearer(token)),
    post: (path: string, body?: unknown) =>
      app.request(path, body === undefined ? bearer(token, { method: 'POST' }) : json(body, bearer(token))),
    patch: (path: string, body: unknown) => app.request(path, json(body, bearer(token, { method: 'PATCH' }))),
    delete: (path: string) => app.request(path, bearer(token, { method: 'DELETE' })),
  };
}

export async function createTask(app: TestApp, token: string, body: Record<string, unknown> = {}): Promise<TaskBody> {
  const res = await as(app, token).post('/api/v1/tasks', { title: 'A task to do', ...body });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json<TaskBody>();
}

export async function createCategory(
  app: TestApp,
  token: string,
  name: string,
  color?: string,
): Promise<{ id: string; name: string; color: string }> {
  const res = await as(app, token).post('/api/v1/categories', { name, ...(color ? { color } : {}) });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json();
}

export const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
