import { expect } from 'vitest';
import { json, setupTestApp, type TestApp } from './test-app.ts';

export interface Registered {
  email: string;
  password: string;
  userId: string;
  accessToken: string;
  refreshToken: string;
}

let counter = 0;

export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}.${Date.now().toString(36)}.${(counter++).toString(36)}.${crypto.randomUUID().slice(0, 6)}@example.com`;
}

export const PASSWORD = 'correct horse 42';

/** Registers a user through the API and returns what the client got back. */
export async function register(
  app: TestApp,
  overrides: { email?: string; password?: string; full_name?: string } = {},
): Promise<Registered> {
  const email = overrides.email ?? uniqueEmail();
  const password = overrides.password ?? PASSWORD;
  const res = await app.request(
    '/api/v1/auth/register',
    json({ email, password, full_name: overrides.full_name ?? 'Test User' }),
  );
  expect(res.status, await res.clone().text()).toBe(201);
  const body = await res.json<{ access_token: string; refresh_token: string; user: { id: string } }>();
  return {
    email: email.toLowerCase(),
    password,
    userId: body.user.id,
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
  };
}

export function bearer(token: string, init: RequestInit = {}): RequestInit {
  return {
    ...init,
    headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` },
  };
}

/** The verification token in the newest email to this address. */
export async function verificationTokenFor(app: TestApp, email: string): Promise<string> {
  const messages = await app.outbox(email);
  const last = messages.at(-1);
  expect(last, `no email to ${email}`).toBeDefined();
  const token = /code in the app: ([A-Za-z0-9_-]{43})/.exec(last?.text ?? '')?.[1];
  expect(token).toBeDefined();
  return token ?? '';
}

/** A test file's app with two registered users, for the ownership checks every route makes. */
export async function appWithTwoUsers(): Promise<{ app: TestApp; ann: Registered; bob: Registered }> {
  const app = await setupTestApp();
  const [ann, bob] = await Promise.all([register(app), register(app)]);
  return { app, ann, bob };
}
