/**
 * The load generator: a child process of bench/load.ts (so it shares no event loop with the
 * stand-ins), driven over IPC. Open loop at a constant arrival rate: request n of a phase is due at
 * start + n / rate whether or not earlier ones have answered, and its latency runs from that
 * intended time to the last byte of the response, so a slow server cannot hide its queue by
 * slowing the sender (no coordinated omission). How late each send left is recorded as the
 * generator's own lag.
 */
import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import { Pool } from 'undici';
import { signAccessToken } from '../../src/lib/jwt.ts';
import type { SeededUser } from './seed.ts';

export type Op = 'list' | 'get' | 'create' | 'update' | 'delete' | 'batch';

/**
 * What the users do. One request in 200 is an offline client's queue coming back: a batch of
 * BATCH_SIZE creates, so its latency sits beside a single create's in the same run (issue #15's
 * target: under 3x). Its share comes out of the creates.
 */
export const MIX: Record<Op, number> = {
  list: 0.4,
  get: 0.25,
  create: 0.145,
  update: 0.15,
  delete: 0.05,
  batch: 0.005,
};
export const BATCH_SIZE = 100;
const EXPECTED: Record<Op, number> = { list: 200, get: 200, create: 201, update: 200, delete: 204, batch: 200 };
const OPS = Object.keys(MIX) as Op[];

export interface Phase {
  name: string;
  rate: number;
  durationS: number;
  measured: boolean;
}

export interface Plan {
  baseUrl: string;
  users: SeededUser[];
  phases: Phase[];
  connections: number;
  timeoutMs: number;
  jwt: { keys: { kid: string; secret: string }[]; issuer: string; audience: string };
}

export interface Percentiles {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

export interface PhaseResult {
  name: string;
  /** False for the warm-up: its errors still count as a broken set-up, its latencies do not. */
  measured: boolean;
  offeredRps: number;
  durationS: number;
  sent: number;
  completed: number;
  /** Answers of any status per second, from the phase start to the last answer. */
  achievedRps: number;
  errors: number;
  errorRate: number;
  /** `op status` -> count, e.g. `create 201`; network failures as `op error:CODE`. */
  statuses: Record<string, number>;
  latencyMs: Percentiles;
  byOp: Record<Op, Percentiles & { cacheHits: number; cacheMisses: number; substituted: number }>;
  /** How late sends left against their intended time. */
  lagMs: Percentiles;
  /** Server-Timing of the answers: time in Neon, in Upstash, in the Worker itself, and outside. */
  breakdown: {
    neonMs: Percentiles;
    upstashMs: Percentiles;
    appMs: Percentiles;
    workerTotalMs: Percentiles;
    /** Latency from the actual send minus the Worker's total: loopback, workerd's HTTP, our client. */
    outsideMs: Percentiles;
    neonCallsMean: number;
    upstashCallsMean: number;
    withTiming: number;
  };
  pool: { maxQueued: number; maxRunning: number; connections: number };
  generator: { cpuPercent: number; eventLoopUtilization: number };
  /** One entry per second of intended send time. */
  timeline: { second: number; sent: number; errors: number; p50: number; p99: number; max: number }[];
}

export type ToParent =
  | { type: 'phase-start'; index: number }
  | { type: 'phase-end'; index: number; result: PhaseResult }
  | { type: 'done' }
  | { type: 'failed'; message: string };
export type FromParent = { type: 'run'; plan: Plan };

interface UserState {
  seeded: SeededUser;
  token: string;
  tasks: { id: string; version: number; busy: boolean }[];
}

const histogram = (digits: 2 | 3 = 3) =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: digits });

/** Microseconds in, milliseconds out. */
function percentiles(h: hdr.Histogram): Percentiles {
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    count: h.totalCount,
    mean: h.totalCount ? ms(h.mean) : 0,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p95: ms(h.getValueAtPercentile(95)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
  };
}

const us = (ms: number) => Math.max(1, Math.round(ms * 1000));

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}

function pickOp(): Op {
  let r = Math.random();
  for (const op of OPS) {
    r -= MIX[op];
    if (r < 0) return op;
  }
  return 'list';
}

const DAY = 86_400_000;
const PRIORITIES = ['low', 'medium', 'high', 'urgent'];
const STATUSES = ['todo', 'in_progress', 'done'];

/** List queries a client app would send: filters and sorts, dates rounded to the day. */
function listQuery(user: UserState): string {
  const today = Math.floor(Date.now() / DAY) * DAY;
  const variants = [
    '',
    '',
    '?status=todo',
    '?priority=high&sort=due_date',
    '?sort=-updated_at&limit=50',
    '?status=in_progress&sort=title',
    '?page=2&limit=10',
    `?due_from=${new Date(today).toISOString()}&due_to=${new Date(today + 14 * DAY).toISOString()}&sort=due_date`,
  ];
  if (user.seeded.categories.length > 0) variants.push(`?category_id=${pick(user.seeded.categories)}`);
  return pick(variants);
}

const futureDate = () => new Date(Date.now() + (1 + Math.floor(Math.random() * 60)) * DAY).toISOString();

function updateBody(n: number): Record<string, unknown> {
  switch (n % 4) {
    case 0:
      return { status: pick(STATUSES) };
    case 1:
      return { priority: pick(PRIORITIES) };
    case 2:
      return { title: `Edited task, change ${n}` };
    default:
      return { due_date: futureDate(), priority: pick(PRIORITIES) };
  }
}

/** A queue of creates, as a client that was offline sends it: one command id per write. */
function batchBody(n: number): Record<string, unknown> {
  return {
    commands: Array.from({ length: BATCH_SIZE }, (_, i) => ({
      id: crypto.randomUUID(),
      type: 'task.create',
      args: createBody(n * BATCH_SIZE + i),
    })),
  };
}

function createBody(n: number): Record<string, unknown> {
  return {
    title: `Load task ${n}`,
    priority: pick(PRIORITIES),
    ...(n % 3 === 0 ? { description: 'Made by the load benchmark.' } : {}),
    ...(n % 2 === 0 ? { due_date: futureDate() } : {}),
  };
}

/** `db;dur=12.3;desc="Neon x1", cache;dur=5;desc="Upstash x1", total;dur=20` */
function parseServerTiming(header: string) {
  const out: Record<string, { dur: number; count: number }> = {};
  for (const match of header.matchAll(/(\w+);dur=([\d.]+)(?:;desc="[^"]*?x(\d+)")?/g)) {
    out[match[1]!] = { dur: Number(match[2]), count: Number(match[3] ?? 0) };
  }
  return out;
}

class PhaseStats {
  readonly latency = histogram();
  readonly lag = histogram();
  readonly byOp = Object.fromEntries(
    OPS.map((op) => [op, { h: histogram(), cacheHits: 0, cacheMisses: 0, substituted: 0 }]),
  ) as Record<Op, { h: hdr.Histogram; cacheHits: number; cacheMisses: number; substituted: number }>;
  readonly neon = histogram();
  readonly upstash = histogram();
  readonly app = histogram();
  readonly workerTotal = histogram();
  readonly outside = histogram();
  neonCalls = 0;
  upstashCalls = 0;
  withTiming = 0;
  readonly statuses: Record<string, number> = {};
  readonly timeline: { sent: number; errors: number; h: hdr.Histogram }[] = [];
  sent = 0;
  completed = 0;
  errors = 0;
  lastEnd = 0;
  maxQueued = 0;
  maxRunning = 0;

  second(index: number) {
    while (this.timeline.length <= index) this.timeline.push({ sent: 0, errors: 0, h: histogram(2) });
    return this.timeline[index]!;
  }

  destroy() {
    for (const h of [this.latency, this.lag, this.neon, this.upstash, this.app, this.workerTotal, this.outside])
      h.destroy();
    for (const op of OPS) this.byOp[op].h.destroy();
    for (const s of this.timeline) s.h.destroy();
  }
}

async function run(plan: Plan, send: (message: ToParent) => void): Promise<void> {
  const pool = new Pool(plan.baseUrl, {
    connections: plan.connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: plan.timeoutMs,
    bodyTimeout: plan.timeoutMs,
  });
  const users: UserState[] = plan.users.map((seeded) => ({
    seeded,
    token: '',
    tasks: seeded.tasks.map((t) => ({ ...t, busy: false })),
  }));
  // Tokens live 15 minutes (the Worker refuses longer ones): mint again every 10.
  let mintedAt = 0;
  const mint = async () => {
    const now = new Date();
    for (const user of users) {
      const { token } = await signAccessToken(
        { userId: user.seeded.id, sessionId: user.seeded.sessionId, emailVerified: true, timeZone: 'UTC' },
        { keys: plan.jwt.keys, issuer: plan.jwt.issuer, audience: plan.jwt.audience },
        now,
      );
      user.token = token;
    }
    mintedAt = Date.now();
  };
  await mint();

  // Round robin over a shuffled order: every user gets rate / users requests a second, evenly
  // spaced, so the per-user limit (100 a minute) is never what the benchmark measures.
  const order = users.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  let sequence = 0;
  let inFlight = 0;

  for (const [index, phase] of plan.phases.entries()) {
    if (Date.now() - mintedAt > 10 * 60_000) await mint();
    const stats = new PhaseStats();
    send({ type: 'phase-start', index });
    const cpuBefore = process.cpuUsage();
    const eluBefore = performance.eventLoopUtilization();
    const interval = 1000 / phase.rate;
    const total = Math.round(phase.rate * phase.durationS);
    const start = performance.now() + 5;
    const pending = new Set<Promise<void>>();

    for (let n = 0; n < total;) {
      const now = performance.now();
      while (n < total && start + n * interval <= now) {
        const intended = start + n * interval;
        const user = users[order[sequence % order.length]!]!;
        const request = fire(pool, user, sequence, intended, start, stats, phase.name);
        pending.add(request);
        void request.finally(() => pending.delete(request));
        n++;
        sequence++;
      }
      if (n < total) {
        const wait = start + n * interval - performance.now();
        await new Promise((r) => setTimeout(r, Math.max(0, wait)));
      }
    }
    await Promise.all(pending);

    const cpu = process.cpuUsage(cpuBefore);
    const elu = performance.eventLoopUtilization(eluBefore);
    const elapsedS = (stats.lastEnd - start) / 1000;
    const result: PhaseResult = {
      name: phase.name,
      measured: phase.measured,
      offeredRps: phase.rate,
      durationS: phase.durationS,
      sent: stats.sent,
      completed: stats.completed,
      achievedRps: Math.round((stats.completed / Math.max(phase.durationS, elapsedS)) * 10) / 10,
      errors: stats.errors,
      errorRate: stats.sent ? stats.errors / stats.sent : 0,
      statuses: stats.statuses,
      latencyMs: percentiles(stats.latency),
      byOp: Object.fromEntries(
        OPS.map((op) => {
          const { h, ...rest } = stats.byOp[op];
          return [op, { ...percentiles(h), ...rest }];
        }),
      ) as PhaseResult['byOp'],
      lagMs: percentiles(stats.lag),
      breakdown: {
        neonMs: percentiles(stats.neon),
        upstashMs: percentiles(stats.upstash),
        appMs: percentiles(stats.app),
        workerTotalMs: percentiles(stats.workerTotal),
        outsideMs: percentiles(stats.outside),
        neonCallsMean: stats.withTiming ? stats.neonCalls / stats.withTiming : 0,
        upstashCallsMean: stats.withTiming ? stats.upstashCalls / stats.withTiming : 0,
        withTiming: stats.withTiming,
      },
      pool: { maxQueued: stats.maxQueued, maxRunning: stats.maxRunning, connections: plan.connections },
      generator: {
        cpuPercent: Math.round(((cpu.user + cpu.system) / 1000 / (elapsedS * 1000)) * 1000) / 10,
        eventLoopUtilization: Math.round(elu.utilization * 1000) / 1000,
      },
      timeline: stats.timeline.map((s, second) => ({
        second,
        sent: s.sent,
        errors: s.errors,
        p50: s.h.totalCount ? s.h.getValueAtPercentile(50) / 1000 : 0,
        p99: s.h.totalCount ? s.h.getValueAtPercentile(99) / 1000 : 0,
        max: s.h.totalCount ? s.h.maxValue / 1000 : 0,
      })),
    };
    stats.destroy();
    send({ type: 'phase-end', index, result });
  }
  await pool.close();

  /** One request: pick what the user does, send it now, record everything about the answer. */
  async function fire(
    pool: Pool,
    user: UserState,
    n: number,
    intended: number,
    start: number,
    stats: PhaseStats,
    phaseName: string,
  ): Promise<void> {
    let op = pickOp();
    // Only tasks with no request of ours in flight: a GET racing our own DELETE would be a 404,
    // and a PATCH racing our own PATCH a 409, both bugs of the benchmark rather than the API's.
    let task: UserState['tasks'][number] | undefined;
    if (op === 'get' || op === 'update' || op === 'delete') {
      const free = user.tasks.filter((t) => !t.busy);
      if (free.length === 0) {
        stats.byOp[op].substituted++;
        op = 'create';
      } else {
        task = pick(free);
        task.busy = true;
        // A deleted task leaves our state now, so nothing else picks it.
        if (op === 'delete') user.tasks.splice(user.tasks.indexOf(task), 1);
      }
    }
    let method: 'GET' | 'POST' | 'PATCH' | 'DELETE' = 'GET';
    let path = '/api/v1/tasks';
    let body: string | undefined;
    if (op === 'list') path += listQuery(user);
    else if (op === 'get') path += `/${task!.id}`;
    else if (op === 'create') {
      method = 'POST';
      body = JSON.stringify(createBody(n));
    } else if (op === 'batch') {
      method = 'POST';
      path = '/api/v1/batch';
      body = JSON.stringify(batchBody(n));
    } else if (op === 'update') {
      method = 'PATCH';
      path += `/${task!.id}`;
      body = JSON.stringify({ ...updateBody(n), version: task!.version });
    } else {
      method = 'DELETE';
      path += `/${task!.id}`;
    }

    const second = stats.second(Math.floor((intended - start) / 1000));
    second.sent++;
    stats.sent++;
    inFlight++;
    const queued = pool.stats.queued;
    if (queued > stats.maxQueued) stats.maxQueued = queued;
    if (inFlight > stats.maxRunning) stats.maxRunning = inFlight;
    const sent = performance.now();
    stats.lag.recordValue(us(sent - intended));

    let status: number | string;
    // The timeout runs from the intended send time, queueing in the pool included, so an
    // overloaded phase ends within the timeout instead of draining a backlog for minutes.
    const deadline = AbortSignal.timeout(Math.max(1, Math.round(intended + plan.timeoutMs - sent)));
    try {
      const res = await pool.request({
        signal: deadline,
        method,
        path,
        headers: {
          authorization: `Bearer ${user.token}`,
          'x-request-id': `load-${phaseName.replace(/\W+/g, '')}-${n}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body } : {}),
      });
      const text = await res.body.text();
      const end = performance.now();
      status = res.statusCode;
      stats.completed++;
      stats.lastEnd = Math.max(stats.lastEnd, end);
      const latency = end - intended;
      stats.latency.recordValue(us(latency));
      stats.byOp[op].h.recordValue(us(latency));
      second.h.recordValue(us(latency));

      const cache = res.headers['x-cache'];
      if (cache === 'hit') stats.byOp[op].cacheHits++;
      else if (cache === 'miss') stats.byOp[op].cacheMisses++;
      const timingHeader = res.headers['server-timing'];
      if (typeof timingHeader === 'string') {
        const timing = parseServerTiming(timingHeader);
        const db = timing.db?.dur ?? 0;
        const redis = timing.cache?.dur ?? 0;
        const total = timing.total?.dur ?? 0;
        stats.withTiming++;
        stats.neonCalls += timing.db?.count ?? 0;
        stats.upstashCalls += timing.cache?.count ?? 0;
        stats.neon.recordValue(us(db));
        stats.upstash.recordValue(us(redis));
        stats.workerTotal.recordValue(us(total));
        // The Worker calls Upstash, then Neon, never both at once on these routes: what is left
        // of its total is its own time (JSON, validation, JWT, routing, awaiting the runtime).
        stats.app.recordValue(us(total - db - redis));
        stats.outside.recordValue(us(end - sent - total));
      }

      if (status === EXPECTED[op]) {
        if (op === 'batch') {
          // A 200 with a command refused is still a failed write: count it as an error.
          const answer = JSON.parse(text) as {
            applied: boolean;
            results: { task?: { id: string; version: number } }[];
          };
          if (!answer.applied) status = 'not-applied';
          for (const r of answer.results)
            if (r.task) user.tasks.push({ id: r.task.id, version: r.task.version, busy: false });
        } else if (op === 'create') {
          const created = JSON.parse(text) as { id: string; version: number };
          user.tasks.push({ id: created.id, version: created.version, busy: false });
        } else if (op === 'update') {
          task!.version = (JSON.parse(text) as { version: number }).version;
        }
      }
    } catch (error) {
      status = deadline.aborted
        ? 'error:timeout'
        : `error:${(error as { code?: string }).code ?? (error as Error).name}`;
      stats.lastEnd = Math.max(stats.lastEnd, performance.now());
    } finally {
      inFlight--;
      if (task) task.busy = false;
    }
    const key = `${op} ${status}`;
    stats.statuses[key] = (stats.statuses[key] ?? 0) + 1;
    if (status !== EXPECTED[op]) {
      stats.errors++;
      second.errors++;
    }
  }
}

process.on('message', (message: FromParent) => {
  if (message.type !== 'run') return;
  const send = (reply: ToParent) => process.send?.(reply);
  // Disconnect only once the last message is on its way, or it could be lost.
  const finish = (reply: ToParent) => process.send?.(reply, undefined, {}, () => process.disconnect());
  run(message.plan, send).then(
    () => finish({ type: 'done' }),
    (error: unknown) =>
      finish({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
});
// The parent gone (crashed, killed) means nobody reads the results: stop sending load.
process.on('disconnect', () => process.exit(0));
