import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { devLinkPage, isDevLink } from './dev-links.ts';
import { handleNeonSql, databaseOf, type HttpAnswer } from './neon-http.ts';
import type { RedisBackend } from './redis-backend.ts';
import { createRealRedis } from './redis-real.ts';
import { StandInError, startPostgres, startRedis, findBinary, type StartedServer } from './real-servers.ts';
import { createPostgresBackend, DATABASE_NAME, type SqlBackend } from './sql-backend.ts';
import { authorized, handleUpstash, routeOf, ScriptRewriter, type ScriptTally } from './upstash-rest.ts';

/**
 * One process, two loopback listeners: Neon's SQL-over-HTTP and Upstash's Redis REST, each with
 * injected latency, fault injection and request counters per namespace, plus a small control API
 * under `/_control/` on both ports for tests and benchmarks.
 *
 * A namespace is the Neon database name, or the Upstash base-URL prefix `/ns/<name>`: give a test
 * file its own and it can count its own round trips while other files run beside it.
 */

export type BackendKind = 'real' | 'embedded' | 'auto';
export type Fault = 'none' | 'down' | 'error' | 'hang';
type Protocol = 'neon' | 'upstash';

export interface StandInsOptions {
  backend: BackendKind;
  /** Real backend: servers given by URL; when absent they are started from the binaries on PATH. */
  postgresUrl?: string;
  redisUrl?: string;
  /** Embedded backend: PGlite's data lives here; in memory when absent. */
  dataDir?: string;
  /** Where the PGlite template is cached between runs. */
  cacheDir?: string;
  host?: string;
  neonPort?: number;
  upstashPort?: number;
  upstashToken: string;
  latencyMs?: { neon?: number; upstash?: number };
  /** Tests: drop the databases this process created when it stops. */
  dropCreatedDatabases?: boolean;
  /** The API the pages of development email links (`/_dev/...`) send their request to. */
  apiUrl?: string;
}

export interface StandIns {
  backend: 'real' | 'embedded';
  description: string;
  neonUrl: string;
  /** `neonUrl` + `/sql`: the value for neonConfig.fetchEndpoint. */
  neonFetchEndpoint: string;
  upstashUrl: string;
  upstashToken: string;
  sql: SqlBackend;
  redis: RedisBackend;
  close(): Promise<void>;
}

interface Counter {
  requests: number;
  statements: number;
  commands: number;
  errors: number;
  inFlight: number;
  maxInFlight: number;
}

/** Upstash only: EVAL/EVALSHA(_RO) that ran, and of those the ones Upstash runs under its global lock. */
interface UpstashCounter extends Counter, ScriptTally {}

const newCounter = (): Counter => ({ requests: 0, statements: 0, commands: 0, errors: 0, inFlight: 0, maxInFlight: 0 });
const newUpstashCounter = (): UpstashCounter => ({ ...newCounter(), scripts: 0, globalLockScripts: 0 });
const newCounters = () => ({ neon: newCounter(), upstash: newUpstashCounter(), inFlight: 0, maxInFlight: 0 });

/** Counters, latency and faults, global and per namespace. */
class Control {
  latency: Record<Protocol, number>;
  readonly latencyByNs = new Map<string, Partial<Record<Protocol, number>>>();
  readonly faults = new Map<string, Partial<Record<Protocol, Fault>>>();
  readonly counters = new Map<string, ReturnType<typeof newCounters>>();
  /** Development email: what the Worker's outbox sender posted, per namespace, newest last. */
  readonly outbox = new Map<string, { receivedAt: string; message: unknown }[]>();
  /** The Idempotency-Keys the outbox has seen, per namespace. */
  readonly outboxKeys = new Map<string, Set<string>>();

  constructor(latency: Record<Protocol, number>) {
    this.latency = latency;
  }

  counter(ns: string) {
    let c = this.counters.get(ns);
    if (!c) {
      c = newCounters();
      this.counters.set(ns, c);
    }
    return c;
  }

  latencyFor(ns: string, protocol: Protocol): number {
    return this.latencyByNs.get(ns)?.[protocol] ?? this.latency[protocol];
  }

  faultFor(ns: string, protocol: Protocol): Fault {
    return this.faults.get(ns)?.[protocol] ?? this.faults.get('*')?.[protocol] ?? 'none';
  }
}

const ALL = '*';

export async function startStandIns(options: StandInsOptions): Promise<StandIns> {
  const host = options.host ?? '127.0.0.1';
  const backends = await openBackends(options);
  const { kind, sql, redis } = backends;
  const context: ServeContext = {
    options,
    sql,
    kind,
    description: `${kind}: ${sql.description}; ${redis.description}`,
    control: new Control({ neon: options.latencyMs?.neon ?? 0, upstash: options.latencyMs?.upstash ?? 0 }),
  };
  const servers = createServers(context, redis);
  let ports: { neon: number; upstash: number };
  try {
    ports = await listenBoth(servers, host, options);
  } catch (error) {
    servers.neon.close();
    await Promise.allSettled([sql.close(), redis.close(), backends.release()]);
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    backend: kind,
    description: context.description,
    neonUrl: `http://${host}:${ports.neon}`,
    neonFetchEndpoint: `http://${host}:${ports.neon}/sql`,
    upstashUrl: `http://${host}:${ports.upstash}`,
    upstashToken: options.upstashToken,
    sql,
    redis,
    close() {
      closing ??= closeAll(servers, backends);
      return closing;
    },
  };
}

interface Backends {
  kind: 'real' | 'embedded';
  sql: SqlBackend;
  redis: RedisBackend;
  /** Stops the servers this process started and drops its data-dir lock. */
  release(): Promise<void>;
}

/** Step 1: the engines behind the two protocols, real servers or embedded ones. */
async function openBackends(options: StandInsOptions): Promise<Backends> {
  const started: StartedServer[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const release = async (): Promise<void> => {
    await Promise.allSettled([...started.map((s) => s.stop()), ...cleanups.map((c) => c())]);
  };
  try {
    const kind = resolveBackend(options);
    const engines = kind === 'real' ? await openReal(options, started) : await openEmbedded(options, cleanups);
    return { kind, ...engines, release };
  } catch (error) {
    await release();
    throw error;
  }
}

/** PostgreSQL and Redis by URL, or started from the binaries on PATH (recorded in `started`). */
async function openReal(
  options: StandInsOptions,
  started: StartedServer[],
): Promise<{ sql: SqlBackend; redis: RedisBackend }> {
  const postgresUrl = await givenOrStarted(options.postgresUrl, startPostgres, started);
  const redisUrl = await givenOrStarted(options.redisUrl, startRedis, started);
  const sql = createPostgresBackend(postgresUrl, { dropCreatedOnClose: options.dropCreatedDatabases ?? false });
  await sql.pool('postgres').catch((error: unknown) => {
    throw new StandInError(`cannot reach PostgreSQL at ${redact(postgresUrl)}: ${String(error)}`);
  });
  const redis = await createRealRedis(redisUrl).catch((error: unknown) => {
    throw new StandInError(`cannot reach Redis at ${redact(redisUrl)}: ${String(error)}`);
  });
  return { sql, redis };
}

async function givenOrStarted(
  url: string | undefined,
  start: () => Promise<StartedServer>,
  started: StartedServer[],
): Promise<string> {
  if (url) return url;
  const server = await start();
  started.push(server);
  return server.url;
}

/** PGlite and the in-memory Redis engine; the data dir's lock is recorded in `cleanups`. */
async function openEmbedded(
  options: StandInsOptions,
  cleanups: (() => Promise<void>)[],
): Promise<{ sql: SqlBackend; redis: RedisBackend }> {
  if (options.dataDir) cleanups.push(lockDataDir(options.dataDir));
  // Loaded only when used: PGlite's WASM and the Lua VM cost start-up time the real backend needs not pay.
  const { createPgliteBackend } = await import('./sql-pglite.ts');
  const { createEmbeddedRedis } = await import('./redis-embedded/engine.ts');
  const sql = createPgliteBackend({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    templateCache: options.cacheDir ?? path.resolve('node_modules/.cache/edgetask'),
  });
  return { sql, redis: createEmbeddedRedis() };
}

/** What the request handlers share. */
interface ServeContext {
  options: StandInsOptions;
  sql: SqlBackend;
  kind: 'real' | 'embedded';
  description: string;
  control: Control;
}

interface Servers {
  neon: http.Server;
  upstash: http.Server;
  sockets: Set<net.Socket>;
}

/** Step 2: the two HTTP servers, their sockets tracked so that close() can end keep-alive connections. */
function createServers(context: ServeContext, redis: RedisBackend): Servers {
  const { options, sql } = context;
  const scripts = new ScriptRewriter();
  const neon = http.createServer((req, res) => {
    void serve(context, req, res, 'neon', async (body, pathname) => {
      if (req.method !== 'POST' || pathname !== '/sql')
        return { status: 404, body: { message: `no route ${req.method} ${pathname}` } };
      return handleNeonSql(sql, headersOf(req), body);
    });
  });
  const upstash = http.createServer((req, res) => {
    void serve(context, req, res, 'upstash', async (body, pathname) => {
      if (!authorized(req.headers.authorization, options.upstashToken))
        return { status: 401, body: { error: 'Unauthorized' } };
      const { ns, rest } = stripNamespace(pathname);
      const tally: ScriptTally = { scripts: 0, globalLockScripts: 0 };
      const answer = await handleUpstash(redis, scripts, routeOf(rest), headersOf(req), body, tally);
      for (const c of [context.control.counter(ns), context.control.counter(ALL)]) {
        c.upstash.scripts += tally.scripts;
        c.upstash.globalLockScripts += tally.globalLockScripts;
      }
      return answer;
    });
  });
  const sockets = new Set<net.Socket>();
  for (const server of [neon, upstash]) {
    server.keepAliveTimeout = 60_000;
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
  }
  return { neon, upstash, sockets };
}

/** Step 3: both listeners, on the ports asked for or free ones. */
async function listenBoth(
  servers: Servers,
  host: string,
  options: StandInsOptions,
): Promise<{ neon: number; upstash: number }> {
  const neon = await listen(servers.neon, host, options.neonPort ?? 0, 'Neon');
  const upstash = await listen(servers.upstash, host, options.upstashPort ?? 0, 'Upstash');
  return { neon, upstash };
}

/** The last step: listeners and their connections, then the engines, then what was started for them. */
async function closeAll(servers: Servers, backends: Backends): Promise<void> {
  await Promise.all(
    [closeServer(servers.neon), closeServer(servers.upstash)].map((p) => {
      for (const socket of servers.sockets) socket.destroy();
      return p;
    }),
  );
  await Promise.allSettled([backends.sql.close(), backends.redis.close()]);
  await backends.release();
}

/** Shared plumbing: control routes, body, namespace, counters, faults, latency, JSON answer. */
async function serve(
  context: ServeContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  protocol: Protocol,
  handle: (body: string, pathname: string) => Promise<HttpAnswer>,
): Promise<void> {
  const { control, options } = context;
  const url = new URL(req.url ?? '/', 'http://stand-in');
  let body: string;
  try {
    body = await readBody(req, 64 * 1024 * 1024);
  } catch {
    return send(res, { status: 413, body: { error: 'request body too large' } });
  }
  if (isDevLink(url.pathname) && req.method === 'GET') {
    const page = devLinkPage(url, options.apiUrl ?? 'http://127.0.0.1:8787');
    res.writeHead(page.status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(page.html);
    return;
  }
  if (url.pathname.startsWith('/_control/')) {
    const key = req.headers['idempotency-key'];
    const answer = await controlRoute(
      context,
      req.method ?? 'GET',
      url,
      body,
      typeof key === 'string' ? key : null,
    ).catch((error: unknown): HttpAnswer => ({
      status: 500,
      body: { error: error instanceof Error ? error.message : String(error) },
    }));
    return send(res, answer);
  }

  const ns = protocol === 'neon' ? (databaseOf(headersOf(req)) ?? 'default') : stripNamespace(url.pathname).ns;
  const group = control.counter(ns);
  const total = control.counter(ALL);
  for (const c of [group, total]) {
    c[protocol].requests++;
    c[protocol].inFlight++;
    c[protocol].maxInFlight = Math.max(c[protocol].maxInFlight, c[protocol].inFlight);
    c.inFlight++;
    c.maxInFlight = Math.max(c.maxInFlight, c.inFlight);
  }
  try {
    const fault = control.faultFor(ns, protocol);
    if (fault === 'down') {
      // As if nothing listened: the client sees a network error, not an HTTP status.
      req.socket.end();
      return;
    }
    if (fault === 'hang') {
      await waitWhile(() => control.faultFor(ns, protocol) === 'hang', 60_000);
      req.socket.destroy();
      return;
    }
    if (fault === 'error') return send(res, { status: 503, body: { error: 'injected fault' } });
    const delay = control.latencyFor(ns, protocol);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));

    const answer = await handle(body, url.pathname).catch((error: unknown): HttpAnswer => ({
      status: 500,
      body: { error: `stand-in failure: ${error instanceof Error ? error.message : String(error)}` },
    }));
    const work = countWork(protocol, url.pathname, body);
    for (const c of [group, total]) {
      if (protocol === 'neon') c.neon.statements += work;
      else c.upstash.commands += work;
      if (answer.status >= 400) c[protocol].errors++;
    }
    send(res, answer);
  } finally {
    for (const c of [group, total]) {
      c[protocol].inFlight--;
      c.inFlight--;
    }
  }
}

/** The `/_control/` API of both ports: counters, latency, faults, the development outbox, databases. */
async function controlRoute(
  context: ServeContext,
  method: string,
  url: URL,
  body: string,
  idempotencyKey: string | null,
): Promise<HttpAnswer> {
  const { control, sql, kind, description } = context;
  const ns = url.searchParams.get('ns') ?? ALL;
  const route = `${method} ${url.pathname}`;
  const json = (): Record<string, unknown> => {
    try {
      const value: unknown = JSON.parse(body || '{}');
      return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  };
  switch (route) {
    case 'GET /_control/health':
      return { status: 200, body: { ok: true, backend: kind, description } };
    case 'GET /_control/counters': {
      return { status: 200, body: control.counters.get(ns) ?? newCounters() };
    }
    case 'POST /_control/counters/reset':
      if (ns === ALL) control.counters.clear();
      else control.counters.delete(ns);
      return { status: 200, body: { ok: true } };
    case 'GET /_control/latency':
      return {
        status: 200,
        body: { neon: control.latencyFor(ns, 'neon'), upstash: control.latencyFor(ns, 'upstash') },
      };
    case 'PUT /_control/latency': {
      const input = json();
      const pick = (p: Protocol) => (typeof input[p] === 'number' && input[p] >= 0 ? input[p] : undefined);
      if (ns === ALL) {
        control.latency = {
          neon: pick('neon') ?? control.latency.neon,
          upstash: pick('upstash') ?? control.latency.upstash,
        };
      } else {
        control.latencyByNs.set(ns, {
          ...control.latencyByNs.get(ns),
          ...(pick('neon') !== undefined ? { neon: pick('neon') } : {}),
          ...(pick('upstash') !== undefined ? { upstash: pick('upstash') } : {}),
        });
      }
      return {
        status: 200,
        body: { neon: control.latencyFor(ns, 'neon'), upstash: control.latencyFor(ns, 'upstash') },
      };
    }
    case 'PUT /_control/faults': {
      const input = json();
      const valid = (v: unknown): v is Fault => v === 'none' || v === 'down' || v === 'error' || v === 'hang';
      const current = { ...control.faults.get(ns) };
      for (const p of ['neon', 'upstash'] as const) {
        if (input[p] === undefined) continue;
        if (!valid(input[p]))
          return { status: 400, body: { error: `fault for ${p} must be none, down, error or hang` } };
        current[p] = input[p];
      }
      control.faults.set(ns, current);
      return { status: 200, body: current };
    }
    case 'POST /_control/outbox': {
      const message = json();
      const list = control.outbox.get(ns) ?? [];
      // Like Resend's Idempotency-Key: a message sent again with a key already seen is dropped.
      const key = idempotencyKey;
      if (key !== null) {
        const seen = control.outboxKeys.get(ns) ?? new Set<string>();
        if (seen.has(key)) return { status: 200, body: { ok: true, duplicate: true } };
        seen.add(key);
        control.outboxKeys.set(ns, seen);
      }
      list.push({ receivedAt: new Date().toISOString(), message });
      // A bounded mailbox: a long dev session must not grow without end.
      if (list.length > 1000) list.splice(0, list.length - 1000);
      control.outbox.set(ns, list);
      return { status: 201, body: { ok: true } };
    }
    case 'GET /_control/outbox': {
      const to = url.searchParams.get('to');
      const list = (control.outbox.get(ns) ?? []).filter((m) => !to || (m.message as { to?: unknown }).to === to);
      return { status: 200, body: { messages: list } };
    }
    case 'DELETE /_control/outbox':
      control.outbox.delete(ns);
      control.outboxKeys.delete(ns);
      return { status: 200, body: { ok: true } };
    default: {
      const clone = /^POST \/_control\/databases\/([A-Za-z_][A-Za-z0-9_]{0,62})$/.exec(route);
      const template = url.searchParams.get('template');
      if (clone && template && DATABASE_NAME.test(template)) {
        await sql.clone(template, clone[1]!);
        return { status: 201, body: { database: clone[1], template } };
      }
      const drop = /^DELETE \/_control\/databases\/([A-Za-z0-9_]+)$/.exec(route);
      if (drop) {
        await sql.dropDatabase(drop[1]!);
        return { status: 200, body: { ok: true } };
      }
      return { status: 404, body: { error: `no control route ${route}` } };
    }
  }
}

function resolveBackend(options: StandInsOptions): 'real' | 'embedded' {
  if (options.backend === 'real' || options.backend === 'embedded') return options.backend;
  if (options.backend !== 'auto')
    throw new StandInError(`unknown backend "${String(options.backend)}": use real, embedded or auto`);
  if (options.postgresUrl && options.redisUrl) return 'real';
  const havePostgres =
    Boolean(options.postgresUrl) || (findBinary('initdb') !== null && findBinary('postgres') !== null);
  const haveRedis = Boolean(options.redisUrl) || findBinary('redis-server') !== null;
  return havePostgres && haveRedis ? 'real' : 'embedded';
}

/** One stand-in per data dir: PGlite files opened twice would corrupt each other. */
function lockDataDir(dataDir: string): () => Promise<void> {
  fs.mkdirSync(dataDir, { recursive: true });
  const lock = path.join(dataDir, 'stand-ins.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return () => {
        fs.rmSync(lock, { force: true });
        return Promise.resolve();
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new StandInError(`cannot write ${lock}: ${String(error)}`);
      const pid = Number(fs.readFileSync(lock, 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
        throw new StandInError(
          `data dir ${dataDir} is locked by process ${pid} (another stand-ins or npm run dev): stop that one first`,
        );
      }
      fs.rmSync(lock, { force: true }); // left by a process that died
    }
  }
  throw new StandInError(`cannot lock data dir ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function listen(server: http.Server, host: string, port: number, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new StandInError(
              `${name} port ${port} on ${host} is already in use: stop what uses it or pick another port`,
            )
          : error,
      );
    });
    server.listen(port, host, () => resolve((server.address() as net.AddressInfo).port));
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}

function stripNamespace(pathname: string): { ns: string; rest: string } {
  const match = /^\/ns\/([A-Za-z0-9_.-]{1,100})(\/.*)?$/.exec(pathname);
  if (!match) return { ns: 'default', rest: pathname };
  return { ns: match[1]!, rest: match[2] ?? '/' };
}

function headersOf(req: http.IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(req.headers)) out[key] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('too large'));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, answer: HttpAnswer): void {
  if (res.destroyed) return;
  const payload = JSON.stringify(answer.body);
  res.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

/** How much work a request carried: statements for Neon, commands for Upstash. */
function countWork(protocol: Protocol, pathname: string, body: string): number {
  try {
    const parsed: unknown = JSON.parse(body);
    if (protocol === 'neon') {
      const queries = (parsed as { queries?: unknown }).queries;
      return Array.isArray(queries) ? queries.length : 1;
    }
    const rest = stripNamespace(pathname).rest;
    return rest === '/pipeline' || rest === '/multi-exec' ? (Array.isArray(parsed) ? parsed.length : 0) : 1;
  } catch {
    return protocol === 'neon' ? 0 : 1;
  }
}

async function waitWhile(condition: () => boolean, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
