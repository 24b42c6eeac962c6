import { neon, neonConfig, type NeonQueryFunction } from '@neondatabase/serverless';
import { createExecutionContext, SELF, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { createApp, type App, type AppOptions } from '../../src/app.ts';
import type { Bindings } from '../../src/env.ts';
import { BASE } from './constants.ts';
import { expectDocumented, registerDocument } from './contract.ts';

export interface StandInCounters {
  neon: { requests: number; statements: number; errors: number; maxInFlight: number };
  upstash: {
    requests: number;
    commands: number;
    errors: number;
    maxInFlight: number;
    /** EVAL/EVALSHA(_RO) that ran (not those answered NOSCRIPT). */
    scripts: number;
    /** Of those, the ones Upstash runs under its global lock: no allow-key-locking, or in MULTI/EXEC. */
    globalLockScripts: number;
  };
  maxInFlight: number;
}

export interface TestApp {
  /** A unique name: this test file's database and its Upstash namespace. */
  name: string;
  env: Bindings;
  /**
   * Sends a request through the whole app (all middleware, real clients, the stand-ins). The
   * response is checked against the app's OpenAPI document first: a mismatch fails the test.
   */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** Raw SQL on this file's database, to check what the API wrote. */
  sql: NeonQueryFunction<false, false>;
  /** Round trips the stand-ins saw for this file since the last reset. */
  counters(): Promise<StandInCounters>;
  resetCounters(): Promise<void>;
  /** Makes Neon or Upstash misbehave for this file only. */
  fault(faults: {
    neon?: 'none' | 'down' | 'error' | 'hang';
    upstash?: 'none' | 'down' | 'error' | 'hang';
  }): Promise<void>;
  /** Adds this much delay (ms) to each Neon or Upstash round trip of this file. */
  latency(latency: { neon?: number; upstash?: number }): Promise<void>;
  /** Emails the app sent through the development outbox, oldest first. */
  outbox(to?: string): Promise<OutboxMessage[]>;
}

export { BASE };

let sequence = 0;

/**
 * A fresh copy of the migrated template database and an Upstash namespace for one test file, and
 * the app wired to them. Test files run in parallel; nothing here is shared between them.
 */
export async function setupTestApp(
  options: AppOptions & {
    env?: Partial<Bindings>;
    /** Adds routes for tests of the shared machinery (validation, errors) before any feature uses it. */
    extend?: (app: App) => void;
  } = {},
): Promise<TestApp> {
  const name = `t_${Date.now().toString(36)}_${(sequence++).toString(36)}_${crypto.randomUUID().slice(0, 8)}`;
  const control = (route: string, init?: RequestInit) => fetch(`${env.STANDINS_NEON_URL}/_control/${route}`, init);
  const cloned = await control(`databases/${name}?template=${env.STANDINS_TEMPLATE}`, { method: 'POST' });
  if (!cloned.ok) throw new Error(`could not clone the template database: ${await cloned.text()}`);

  const databaseUrl = `postgresql://edgetask:local@stand-in.local/${name}`;
  if (env.NEON_FETCH_ENDPOINT) neonConfig.fetchEndpoint = env.NEON_FETCH_ENDPOINT;
  const standard: Bindings = {
    ...env,
    DATABASE_URL: databaseUrl,
    UPSTASH_REDIS_REST_URL: `${env.STANDINS_UPSTASH_URL}/ns/${name}`,
    EMAIL_OUTBOX_URL: `${env.STANDINS_NEON_URL}/_control/outbox?ns=${name}`,
  };
  const bindings: Bindings = { ...standard, ...options.env };
  const app = createApp(options);
  options.extend?.(app);
  // With the standard settings: a test's own (maybe deliberately broken) ones could not warm up.
  await (warmedUp ??= warmUpScripts(createApp(), standard));
  // After `extend`: the document includes the routes a test added.
  const documentId = await registerDocument(app);
  return {
    name,
    env: bindings,
    async request(path, init) {
      const ctx = createExecutionContext();
      // Every request comes from a fresh client address unless the test names one, so per-IP
      // limits only bite in the tests about them.
      const headers = new Headers(init?.headers);
      if (!headers.has('CF-Connecting-IP')) headers.set('CF-Connecting-IP', randomIp());
      const request = new Request(new URL(path, BASE), { ...init, headers });
      const res = await app.request(request, undefined, bindings, ctx);
      await waitOnExecutionContext(ctx);
      await expectDocumented(documentId, request, res);
      return res;
    },
    sql: neon(databaseUrl),
    async counters() {
      return (await control(`counters?ns=${name}`)).json<StandInCounters>();
    },
    async resetCounters() {
      await control(`counters/reset?ns=${name}`, { method: 'POST' });
    },
    async outbox(to) {
      const res = await control(`outbox?ns=${name}${to ? `&to=${encodeURIComponent(to)}` : ''}`);
      const body = await res.json<{ messages: { message: OutboxMessage }[] }>();
      return body.messages.map((m) => m.message);
    },
    async latency(latency) {
      const res = await control(`latency?ns=${name}`, { method: 'PUT', body: JSON.stringify(latency) });
      if (!res.ok) throw new Error(`latency injection failed: ${await res.text()}`);
    },
    async fault(faults) {
      const res = await control(`faults?ns=${name}`, { method: 'PUT', body: JSON.stringify(faults) });
      if (!res.ok) throw new Error(`fault injection failed: ${await res.text()}`);
    },
  };
}

let selfDocument: Promise<string> | undefined;

/**
 * A request to the Worker's own entry point (`SELF`: the deployed module with the bindings of
 * vitest.config.ts), with the response checked against the OpenAPI document like `request`.
 */
export async function selfFetch(path: string, init?: RequestInit): Promise<Response> {
  const request = new Request(new URL(path, BASE), init);
  const res = await SELF.fetch(request.clone());
  await expectDocumented(await (selfDocument ??= registerDocument(createApp())), request, res);
  return res;
}

/** JSON body helper: `json({ title: 'x' })` as RequestInit. */
export function json(body: unknown, init: RequestInit = {}): RequestInit {
  return {
    method: 'POST',
    ...init,
    headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
    body: JSON.stringify(body),
  };
}

export function randomIp(): string {
  const b = crypto.getRandomValues(new Uint8Array(3));
  return `10.${b[0]}.${b[1]}.${b[2]}`;
}

/** A clock tests move by hand: expiry and lockout without sleeping. */
export class TestClock {
  #now: number;
  constructor(start = Date.now()) {
    this.#now = start;
  }
  now(): Date {
    return new Date(this.#now);
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}

export interface OutboxMessage {
  to: string;
  subject: string;
  text: string;
  kind: string;
}

let warmedUp: Promise<void> | undefined;

/**
 * The first time Redis sees one of the app's Lua scripts (rate limiter, cache read, revocation
 * check, Idempotency-Key claim) it answers NOSCRIPT and the client sends the script again: one extra request. One trip
 * through every script path, once per test file before its first test, keeps the tests that count
 * round trips exact on a fresh Redis.
 */
async function warmUpScripts(app: App, bindings: Bindings): Promise<void> {
  const ctx = createExecutionContext();
  const call = (path: string, init: RequestInit) => app.request(new URL(path, BASE).toString(), init, bindings, ctx);
  const registered = await call('/api/v1/auth/register', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'cf-connecting-ip': randomIp() },
    body: JSON.stringify({
      email: `warm-up-${crypto.randomUUID()}@example.com`,
      password: 'warm up 12345',
      full_name: 'Warm Up',
    }),
  });
  if (registered.status !== 201)
    throw new Error(`warm-up register answered ${registered.status}: ${await registered.text()}`);
  const { access_token: token } = await registered.json<{ access_token: string }>();
  const listed = await call('/api/v1/tasks', { headers: { authorization: `Bearer ${token}` } });
  if (listed.status !== 200) throw new Error(`warm-up list answered ${listed.status}: ${await listed.text()}`);
  const keyed = await call('/api/v1/tasks', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': 'warm-up' },
    body: JSON.stringify({ title: 'Warm up the Idempotency-Key script' }),
  });
  if (keyed.status !== 201) throw new Error(`warm-up create answered ${keyed.status}: ${await keyed.text()}`);
  await waitOnExecutionContext(ctx);
}
