/** Hash, set, sorted set and list commands (t_hash.c, t_set.c, t_zset.c, t_list.c of Redis 7.0). */

import { Buffer } from 'node:buffer';
import type { Reply } from '../redis-backend.ts';
import {
  bulk,
  fail,
  latin1,
  lookup,
  lower,
  NOT_FLOAT,
  OK,
  parseDouble,
  parseLL,
  parseLong,
  SYNTAX,
} from './context.ts';
import type { CommandDef, ExecContext } from './context.ts';
import { bin, SetValue, SortedSet, unbin } from './keyspace.ts';
import type { Bin } from './keyspace.ts';
import {
  formatScore,
  intReply,
  LLONG_MAX,
  LLONG_MIN,
  ldAdd,
  ldFromBigInt,
  ldToHuman,
  strtodLoose,
  string2ld,
  string2ll,
} from './numbers.ts';

// ----------------------------------------------------------------------------------------- hash

function hashOrCreate(ctx: ExecContext, keyBuf: Buffer): Map<Bin, Buffer> {
  const key = bin(keyBuf);
  const h = lookup(ctx, key, 'hash');
  if (h !== undefined) return h.data;
  const data = new Map<Bin, Buffer>();
  ctx.ks.set(key, { type: 'hash', data });
  return data;
}

function hset(ctx: ExecContext, argv: Buffer[], name: string): Reply {
  if (argv.length % 2 === 1) fail(`ERR wrong number of arguments for '${name}' command`);
  const h = hashOrCreate(ctx, argv[1]!);
  let created = 0;
  for (let j = 2; j < argv.length; j += 2) {
    const f = bin(argv[j]!);
    if (!h.has(f)) created++;
    h.set(f, Buffer.from(argv[j + 1]!));
  }
  return name === 'hmset' ? OK : created;
}

function hsetnx(ctx: ExecContext, argv: Buffer[]): Reply {
  const h = hashOrCreate(ctx, argv[1]!);
  const f = bin(argv[2]!);
  if (h.has(f)) return 0;
  h.set(f, Buffer.from(argv[3]!));
  return 1;
}

function hashGet(ctx: ExecContext, key: Buffer): Map<Bin, Buffer> | undefined {
  return lookup(ctx, bin(key), 'hash')?.data;
}

function hdel(ctx: ExecContext, argv: Buffer[]): Reply {
  const key = bin(argv[1]!);
  const h = lookup(ctx, key, 'hash')?.data;
  if (h === undefined) return 0;
  let n = 0;
  for (const f of argv.slice(2)) if (h.delete(bin(f))) n++;
  ctx.ks.deleteIfEmpty(key);
  return n;
}

function hincrby(ctx: ExecContext, argv: Buffer[]): Reply {
  const incr = parseLL(argv[3]!);
  const h = hashOrCreate(ctx, argv[1]!);
  const f = bin(argv[2]!);
  const cur = h.get(f);
  let value = 0n;
  if (cur !== undefined) {
    const v = string2ll(cur);
    if (v === null) {
      ctx.ks.deleteIfEmpty(bin(argv[1]!));
      fail('ERR hash value is not an integer');
    }
    value = v;
  }
  if ((incr < 0n && value < 0n && incr < LLONG_MIN - value) || (incr > 0n && value > 0n && incr > LLONG_MAX - value)) {
    ctx.ks.deleteIfEmpty(bin(argv[1]!));
    fail('ERR increment or decrement would overflow');
  }
  const result = value + incr;
  h.set(f, Buffer.from(String(result)));
  return intReply(result);
}

function hincrbyfloat(ctx: ExecContext, argv: Buffer[]): Reply {
  const incr = string2ld(latin1(argv[3]!));
  if (incr === null) fail(NOT_FLOAT);
  if (typeof incr === 'string') fail('ERR value is NaN or Infinity');
  const key = bin(argv[1]!);
  const h = hashOrCreate(ctx, argv[1]!);
  const f = bin(argv[2]!);
  const cur = h.get(f);
  let value = ldFromBigInt(0n);
  if (cur !== undefined) {
    const ll = string2ll(cur);
    const v = ll !== null ? ldFromBigInt(ll) : string2ld(latin1(cur));
    if (v === null) fail('ERR hash value is not a float');
    if (typeof v === 'string') fail('ERR increment would produce NaN or Infinity');
    value = v;
  }
  const sum = ldAdd(value, incr);
  if (sum === null) {
    ctx.ks.deleteIfEmpty(key);
    fail('ERR increment would produce NaN or Infinity');
  }
  const text = ldToHuman(sum);
  h.set(f, Buffer.from(text, 'latin1'));
  return bulk(text);
}

const hashCommands: CommandDef[] = [
  { name: 'hset', arity: -4, write: true, run: (c, a) => hset(c, a, 'hset') },
  { name: 'hmset', arity: -4, write: true, run: (c, a) => hset(c, a, 'hmset') },
  { name: 'hsetnx', arity: 4, write: true, run: hsetnx },
  { name: 'hget', arity: 3, run: (c, a) => hashGet(c, a[1]!)?.get(bin(a[2]!)) ?? null },
  {
    name: 'hmget',
    arity: -3,
    run: (c, a) => {
      const h = hashGet(c, a[1]!);
      return a.slice(2).map((f) => h?.get(bin(f)) ?? null);
    },
  },
  {
    name: 'hgetall',
    arity: 2,
    run: (c, a) => [...(hashGet(c, a[1]!) ?? new Map<Bin, Buffer>())].flatMap(([f, v]) => [unbin(f), v]),
  },
  { name: 'hkeys', arity: 2, run: (c, a) => [...(hashGet(c, a[1]!)?.keys() ?? [])].map(unbin) },
  { name: 'hvals', arity: 2, run: (c, a) => [...(hashGet(c, a[1]!)?.values() ?? [])] },
  { name: 'hdel', arity: -3, write: true, run: hdel },
  { name: 'hincrby', arity: 4, write: true, run: hincrby },
  { name: 'hincrbyfloat', arity: 4, write: true, run: hincrbyfloat },
  { name: 'hexists', arity: 3, run: (c, a) => (hashGet(c, a[1]!)?.has(bin(a[2]!)) ? 1 : 0) },
  { name: 'hlen', arity: 2, run: (c, a) => hashGet(c, a[1]!)?.size ?? 0 },
  { name: 'hstrlen', arity: 3, run: (c, a) => hashGet(c, a[1]!)?.get(bin(a[2]!))?.length ?? 0 },
];

// ------------------------------------------------------------------------------------------ set

function setGet(ctx: ExecContext, key: Buffer): SetValue | undefined {
  return lookup(ctx, bin(key), 'set')?.data;
}

function sadd(ctx: ExecContext, argv: Buffer[]): Reply {
  const key = bin(argv[1]!);
  let s = lookup(ctx, key, 'set')?.data;
  if (s === undefined) {
    s = new SetValue();
    ctx.ks.set(key, { type: 'set', data: s });
  }
  let n = 0;
  for (const m of argv.slice(2)) if (s.add(bin(m))) n++;
  return n;
}

function srem(ctx: ExecContext, argv: Buffer[]): Reply {
  const key = bin(argv[1]!);
  const s = lookup(ctx, key, 'set')?.data;
  if (s === undefined) return 0;
  let n = 0;
  for (const m of argv.slice(2)) if (s.members.delete(bin(m))) n++;
  ctx.ks.deleteIfEmpty(key);
  return n;
}

const setCommands: CommandDef[] = [
  { name: 'sadd', arity: -3, write: true, run: sadd },
  { name: 'srem', arity: -3, write: true, run: srem },
  { name: 'smembers', arity: 2, run: (c, a) => (setGet(c, a[1]!)?.ordered() ?? []).map(unbin) },
  { name: 'sismember', arity: 3, run: (c, a) => (setGet(c, a[1]!)?.members.has(bin(a[2]!)) ? 1 : 0) },
  {
    name: 'smismember',
    arity: -3,
    run: (c, a) => {
      const s = setGet(c, a[1]!);
      return a.slice(2).map((m) => (s?.members.has(bin(m)) ? 1 : 0));
    },
  },
  { name: 'scard', arity: 2, run: (c, a) => setGet(c, a[1]!)?.members.size ?? 0 },
];

// ------------------------------------------------------------------------------------- sorted set

const NAN_SCORE = 'ERR resulting score is not a number (NaN)';

/**
 * Small sorted sets live in a listpack where -0 reads back as 0 (ZSCORE says "0"), while the
 * reply of the ZADD/ZINCRBY that computed it still says "-0".
 */
function storedScore(score: number): number {
  return score === 0 ? 0 : score;
}

function zadd(ctx: ExecContext, argv: Buffer[], forceIncr: boolean): Reply {
  let nx = false;
  let xx = false;
  let gt = false;
  let lt = false;
  let ch = false;
  let incr = forceIncr;
  let idx = 2;
  for (; idx < argv.length; idx++) {
    const o = lower(argv[idx]!);
    if (o === 'nx') nx = true;
    else if (o === 'xx') xx = true;
    else if (o === 'ch') ch = true;
    else if (o === 'incr') incr = true;
    else if (o === 'gt') gt = true;
    else if (o === 'lt') lt = true;
    else break;
  }
  const elements = argv.length - idx;
  if (elements % 2 !== 0 || elements === 0) fail(SYNTAX);
  const pairs = elements / 2;
  if (nx && xx) fail('ERR XX and NX options at the same time are not compatible');
  if ((gt && nx) || (lt && nx) || (gt && lt)) fail('ERR GT, LT, and/or NX options at the same time are not compatible');
  if (incr && pairs > 1) fail('ERR INCR option supports a single increment-element pair');
  const scores: number[] = [];
  for (let j = 0; j < pairs; j++) scores.push(parseDouble(argv[idx + j * 2]!));
  const key = bin(argv[1]!);
  let z = lookup(ctx, key, 'zset')?.data;
  let added = 0;
  let updated = 0;
  let processed = 0;
  let score = 0;
  if (z === undefined && !xx) {
    z = new SortedSet();
    ctx.ks.set(key, { type: 'zset', data: z });
  }
  if (z !== undefined) {
    for (let j = 0; j < pairs; j++) {
      score = scores[j]!;
      const member = bin(argv[idx + 1 + j * 2]!);
      const cur = z.scores.get(member);
      if (cur !== undefined) {
        if (nx) continue;
        if (incr) {
          score += cur;
          if (Number.isNaN(score)) {
            ctx.ks.deleteIfEmpty(key);
            fail(NAN_SCORE);
          }
        }
        if ((lt && score >= cur) || (gt && score <= cur)) continue;
        if (score !== cur) {
          z.set(member, storedScore(score));
          updated++;
        }
        processed++;
      } else if (!xx) {
        z.set(member, storedScore(score));
        added++;
        processed++;
      }
    }
    ctx.ks.deleteIfEmpty(key);
  }
  if (incr) return processed ? bulk(formatScore(score)) : null;
  return ch ? added + updated : added;
}

function zsetGet(ctx: ExecContext, key: Buffer): SortedSet | undefined {
  return lookup(ctx, bin(key), 'zset')?.data;
}

interface ScoreRange {
  min: number;
  max: number;
  minex: boolean;
  maxex: boolean;
}

function parseScoreBound(b: Buffer): { v: number; ex: boolean } | null {
  const s = latin1(b);
  if (s.startsWith('(')) {
    const v = strtodLoose(s.slice(1));
    return v === null ? null : { v, ex: true };
  }
  const v = strtodLoose(s);
  return v === null ? null : { v, ex: false };
}

interface LexBound {
  kind: 'min' | 'max' | 'value';
  v: Bin;
  ex: boolean;
}

function parseLexBound(b: Buffer): LexBound | null {
  const s = latin1(b);
  if (s === '+') return { kind: 'max', v: '', ex: false };
  if (s === '-') return { kind: 'min', v: '', ex: false };
  if (s.startsWith('(')) return { kind: 'value', v: s.slice(1), ex: true };
  if (s.startsWith('[')) return { kind: 'value', v: s.slice(1), ex: false };
  return null;
}

function lexGteMin(m: Bin, b: LexBound): boolean {
  if (b.kind === 'min') return true;
  if (b.kind === 'max') return false;
  return b.ex ? m > b.v : m >= b.v;
}

function lexLteMax(m: Bin, b: LexBound): boolean {
  if (b.kind === 'max') return true;
  if (b.kind === 'min') return false;
  return b.ex ? m < b.v : m <= b.v;
}

/** zrangeGenericCommand: ZRANGE with BYSCORE/BYLEX/REV/LIMIT/WITHSCORES, plus the legacy forms. */
function zrangeGeneric(
  ctx: ExecContext,
  argv: Buffer[],
  legacy: { type: 'rank' | 'score' | 'lex'; rev: boolean } | undefined,
): Reply {
  let withscores = false;
  let offset = 0;
  let limit = -1;
  let rev = legacy?.rev ?? false;
  let revSet = legacy !== undefined;
  let type: 'rank' | 'score' | 'lex' | undefined = legacy?.type;
  for (let j = 4; j < argv.length; j++) {
    const left = argv.length - j - 1;
    const o = lower(argv[j]!);
    if (o === 'withscores') withscores = true;
    else if (o === 'limit' && left >= 2) {
      offset = parseLong(argv[j + 1]!);
      limit = parseLong(argv[j + 2]!);
      j += 2;
    } else if (!revSet && o === 'rev') {
      rev = true;
      revSet = true;
    } else if (type === undefined && o === 'bylex') type = 'lex';
    else if (type === undefined && o === 'byscore') type = 'score';
    else fail(SYNTAX);
  }
  type ??= 'rank';
  if (limit !== -1 && type === 'rank') {
    fail('ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX');
  }
  if (withscores && type === 'lex') fail('ERR syntax error, WITHSCORES not supported in combination with BYLEX');
  let minArg = argv[2]!;
  let maxArg = argv[3]!;
  if (rev && type !== 'rank') [minArg, maxArg] = [maxArg, minArg];
  let start = 0;
  let end = 0;
  let range: ScoreRange | undefined;
  let lexMin: LexBound | undefined;
  let lexMax: LexBound | undefined;
  if (type === 'rank') {
    start = parseLong(minArg);
    end = parseLong(maxArg);
  } else if (type === 'score') {
    const a = parseScoreBound(minArg);
    const b = parseScoreBound(maxArg);
    if (a === null || b === null) fail('ERR min or max is not a float');
    range = { min: a.v, minex: a.ex, max: b.v, maxex: b.ex };
  } else {
    const a = parseLexBound(minArg);
    const b = parseLexBound(maxArg);
    if (a === null || b === null) fail('ERR min or max not valid string range item');
    lexMin = a;
    lexMax = b;
  }
  const z = zsetGet(ctx, argv[1]!);
  if (z === undefined) return [];
  const out: Reply[] = [];
  const emit = (m: Bin): void => {
    out.push(unbin(m));
    if (withscores) out.push(bulk(formatScore(z.scores.get(m)!)));
  };
  const n = z.size;
  if (type === 'rank') {
    if (start < 0) start = n + start;
    if (end < 0) end = n + end;
    if (start < 0) start = 0;
    if (start > end || start >= n) return [];
    if (end >= n) end = n - 1;
    for (let i = start; i <= end; i++) emit(z.order[rev ? n - 1 - i : i]!);
    return out;
  }
  // Score and lex ranges: walk in the requested direction, skip `offset` matches, take `limit`.
  if (offset < 0) return [];
  const inRange = (m: Bin): boolean => {
    if (range !== undefined) {
      const s = z.scores.get(m)!;
      const geMin = range.minex ? s > range.min : s >= range.min;
      const leMax = range.maxex ? s < range.max : s <= range.max;
      return geMin && leMax;
    }
    return lexGteMin(m, lexMin!) && lexLteMax(m, lexMax!);
  };
  // An empty range short-circuits before looking at elements (zslIsInRange / zslIsInLexRange).
  if (range !== undefined && (range.min > range.max || (range.min === range.max && (range.minex || range.maxex)))) {
    return [];
  }
  let skipped = 0;
  let taken = 0;
  for (let i = 0; i < n; i++) {
    const m = z.order[rev ? n - 1 - i : i]!;
    if (!inRange(m)) continue;
    if (skipped < offset) {
      skipped++;
      continue;
    }
    if (limit >= 0 && taken >= limit) break;
    emit(m);
    taken++;
  }
  return out;
}

function zrem(ctx: ExecContext, argv: Buffer[]): Reply {
  const key = bin(argv[1]!);
  const z = lookup(ctx, key, 'zset')?.data;
  if (z === undefined) return 0;
  let n = 0;
  for (const m of argv.slice(2)) if (z.delete(bin(m))) n++;
  ctx.ks.deleteIfEmpty(key);
  return n;
}

function zcount(ctx: ExecContext, argv: Buffer[]): Reply {
  const a = parseScoreBound(argv[2]!);
  const b = parseScoreBound(argv[3]!);
  if (a === null || b === null) fail('ERR min or max is not a float');
  const z = zsetGet(ctx, argv[1]!);
  if (z === undefined) return 0;
  let n = 0;
  for (const m of z.order) {
    const s = z.scores.get(m)!;
    if ((a.ex ? s > a.v : s >= a.v) && (b.ex ? s < b.v : s <= b.v)) n++;
  }
  return n;
}

function zrank(ctx: ExecContext, argv: Buffer[], rev: boolean): Reply {
  const z = zsetGet(ctx, argv[1]!);
  if (z === undefined) return null;
  const r = z.rank(bin(argv[2]!));
  if (r === undefined) return null;
  return rev ? z.size - 1 - r : r;
}

/** zremrangeGenericCommand: the range is parsed before the key is looked up. */
function zremrange(ctx: ExecContext, argv: Buffer[], type: 'rank' | 'score' | 'lex'): Reply {
  let start = 0;
  let end = 0;
  let test: (m: Bin, s: number) => boolean = () => false;
  if (type === 'rank') {
    start = parseLong(argv[2]!);
    end = parseLong(argv[3]!);
  } else if (type === 'score') {
    const a = parseScoreBound(argv[2]!);
    const b = parseScoreBound(argv[3]!);
    if (a === null || b === null) fail('ERR min or max is not a float');
    test = (_m, s) => (a.ex ? s > a.v : s >= a.v) && (b.ex ? s < b.v : s <= b.v);
  } else {
    const a = parseLexBound(argv[2]!);
    const b = parseLexBound(argv[3]!);
    if (a === null || b === null) fail('ERR min or max not valid string range item');
    test = (m) => lexGteMin(m, a) && lexLteMax(m, b);
  }
  const key = bin(argv[1]!);
  const z = lookup(ctx, key, 'zset')?.data;
  if (z === undefined) return 0;
  let victims: Bin[];
  if (type === 'rank') {
    const n = z.size;
    if (start < 0) start = n + start;
    if (end < 0) end = n + end;
    if (start < 0) start = 0;
    if (start > end || start >= n) return 0;
    if (end >= n) end = n - 1;
    victims = z.order.slice(start, end + 1);
  } else victims = z.order.filter((m) => test(m, z.scores.get(m)!));
  for (const m of victims) z.delete(m);
  ctx.ks.deleteIfEmpty(key);
  return victims.length;
}

function zpop(ctx: ExecContext, argv: Buffer[], max: boolean): Reply {
  if (argv.length > 3) fail(SYNTAX);
  let count = 1;
  if (argv.length === 3) {
    const c = parseLL(argv[2]!, 'ERR value is out of range, must be positive');
    if (c < 0n) fail('ERR value is out of range, must be positive');
    count = Number(c);
  }
  const key = bin(argv[1]!);
  const z = lookup(ctx, key, 'zset')?.data;
  if (z === undefined || count === 0) return [];
  const out: Reply[] = [];
  for (let i = 0; i < count && z.size > 0; i++) {
    const m = max ? z.order[z.size - 1]! : z.order[0]!;
    out.push(unbin(m), bulk(formatScore(z.scores.get(m)!)));
    z.delete(m);
  }
  ctx.ks.deleteIfEmpty(key);
  return out;
}

const zsetCommands: CommandDef[] = [
  { name: 'zadd', arity: -4, write: true, run: (c, a) => zadd(c, a, false) },
  { name: 'zincrby', arity: 4, write: true, run: (c, a) => zadd(c, a, true) },
  {
    name: 'zscore',
    arity: 3,
    run: (c, a) => {
      const s = zsetGet(c, a[1]!)?.scores.get(bin(a[2]!));
      return s === undefined ? null : bulk(formatScore(s));
    },
  },
  {
    name: 'zmscore',
    arity: -3,
    run: (c, a) => {
      const z = zsetGet(c, a[1]!);
      return a.slice(2).map((m) => {
        const s = z?.scores.get(bin(m));
        return s === undefined ? null : bulk(formatScore(s));
      });
    },
  },
  { name: 'zrange', arity: -4, run: (c, a) => zrangeGeneric(c, a, undefined) },
  { name: 'zrevrange', arity: -4, run: (c, a) => zrangeGeneric(c, a, { type: 'rank', rev: true }) },
  { name: 'zrangebyscore', arity: -4, run: (c, a) => zrangeGeneric(c, a, { type: 'score', rev: false }) },
  { name: 'zrevrangebyscore', arity: -4, run: (c, a) => zrangeGeneric(c, a, { type: 'score', rev: true }) },
  { name: 'zrem', arity: -3, write: true, run: zrem },
  { name: 'zcard', arity: 2, run: (c, a) => zsetGet(c, a[1]!)?.size ?? 0 },
  { name: 'zcount', arity: 4, run: zcount },
  { name: 'zremrangebyrank', arity: 4, write: true, run: (c, a) => zremrange(c, a, 'rank') },
  { name: 'zremrangebyscore', arity: 4, write: true, run: (c, a) => zremrange(c, a, 'score') },
  { name: 'zremrangebylex', arity: 4, write: true, run: (c, a) => zremrange(c, a, 'lex') },
  { name: 'zrangebylex', arity: -4, run: (c, a) => zrangeGeneric(c, a, { type: 'lex', rev: false }) },
  { name: 'zpopmin', arity: -2, write: true, run: (c, a) => zpop(c, a, false) },
  { name: 'zpopmax', arity: -2, write: true, run: (c, a) => zpop(c, a, true) },
  { name: 'zrank', arity: 3, run: (c, a) => zrank(c, a, false) },
  { name: 'zrevrank', arity: 3, run: (c, a) => zrank(c, a, true) },
];

// ----------------------------------------------------------------------------------------- list

function listGet(ctx: ExecContext, key: Buffer): Buffer[] | undefined {
  return lookup(ctx, bin(key), 'list')?.data;
}

function push(ctx: ExecContext, argv: Buffer[], left: boolean): Reply {
  const key = bin(argv[1]!);
  let l = lookup(ctx, key, 'list')?.data;
  if (l === undefined) {
    l = [];
    ctx.ks.set(key, { type: 'list', data: l });
  }
  for (const v of argv.slice(2)) {
    if (left) l.unshift(Buffer.from(v));
    else l.push(Buffer.from(v));
  }
  return l.length;
}

function pop(ctx: ExecContext, argv: Buffer[], left: boolean, name: string): Reply {
  if (argv.length > 3) fail(`ERR wrong number of arguments for '${name}' command`);
  let count = -1;
  if (argv.length === 3) {
    const c = parseLL(argv[2]!, 'ERR value is out of range, must be positive');
    if (c < 0n) fail('ERR value is out of range, must be positive');
    count = Number(c);
  }
  const key = bin(argv[1]!);
  const l = lookup(ctx, key, 'list')?.data;
  if (l === undefined) return null;
  if (count === 0) return [];
  if (count === -1) {
    const v = left ? l.shift()! : l.pop()!;
    ctx.ks.deleteIfEmpty(key);
    return v;
  }
  const out: Reply[] = [];
  for (let i = 0; i < count && l.length > 0; i++) out.push(left ? l.shift()! : l.pop()!);
  ctx.ks.deleteIfEmpty(key);
  return out;
}

function lrange(ctx: ExecContext, argv: Buffer[]): Reply {
  let start = parseLong(argv[2]!);
  let end = parseLong(argv[3]!);
  const l = listGet(ctx, argv[1]!);
  if (l === undefined) return [];
  const n = l.length;
  if (start < 0) start = n + start;
  if (end < 0) end = n + end;
  if (start < 0) start = 0;
  if (start > end || start >= n) return [];
  if (end >= n) end = n - 1;
  return l.slice(start, end + 1);
}

function lindex(ctx: ExecContext, argv: Buffer[]): Reply {
  const l = listGet(ctx, argv[1]!);
  if (l === undefined) return null;
  let i = parseLong(argv[2]!);
  if (i < 0) i = l.length + i;
  return l[i] ?? null;
}

function ltrim(ctx: ExecContext, argv: Buffer[]): Reply {
  let start = parseLong(argv[2]!);
  let end = parseLong(argv[3]!);
  const key = bin(argv[1]!);
  const l = lookup(ctx, key, 'list')?.data;
  if (l === undefined) return OK;
  const n = l.length;
  if (start < 0) start = n + start;
  if (end < 0) end = n + end;
  if (start < 0) start = 0;
  if (start > end || start >= n) l.length = 0;
  else {
    if (end >= n) end = n - 1;
    l.splice(end + 1);
    l.splice(0, start);
  }
  ctx.ks.deleteIfEmpty(key);
  return OK;
}

function lrem(ctx: ExecContext, argv: Buffer[]): Reply {
  const count = parseLong(argv[2]!);
  const key = bin(argv[1]!);
  const l = lookup(ctx, key, 'list')?.data;
  if (l === undefined) return 0;
  const target = argv[3]!;
  let removed = 0;
  if (count >= 0) {
    for (let i = 0; i < l.length && (count === 0 || removed < count);) {
      if (l[i]!.equals(target)) {
        l.splice(i, 1);
        removed++;
      } else i++;
    }
  } else {
    for (let i = l.length - 1; i >= 0 && removed < -count; i--) {
      if (l[i]!.equals(target)) {
        l.splice(i, 1);
        removed++;
      }
    }
  }
  ctx.ks.deleteIfEmpty(key);
  return removed;
}

function lset(ctx: ExecContext, argv: Buffer[]): Reply {
  const l = lookup(ctx, bin(argv[1]!), 'list')?.data;
  if (l === undefined) fail('ERR no such key');
  let i = parseLong(argv[2]!);
  if (i < 0) i = l.length + i;
  if (i < 0 || i >= l.length) fail('ERR index out of range');
  l[i] = Buffer.from(argv[3]!);
  return OK;
}

const listCommands: CommandDef[] = [
  { name: 'lpush', arity: -3, write: true, run: (c, a) => push(c, a, true) },
  { name: 'rpush', arity: -3, write: true, run: (c, a) => push(c, a, false) },
  { name: 'lpop', arity: -2, write: true, run: (c, a) => pop(c, a, true, 'lpop') },
  { name: 'rpop', arity: -2, write: true, run: (c, a) => pop(c, a, false, 'rpop') },
  { name: 'lrange', arity: 4, run: lrange },
  { name: 'llen', arity: 2, run: (c, a) => listGet(c, a[1]!)?.length ?? 0 },
  { name: 'lindex', arity: 3, run: lindex },
  { name: 'ltrim', arity: 4, write: true, run: ltrim },
  { name: 'lrem', arity: 4, write: true, run: lrem },
  { name: 'lset', arity: 4, write: true, run: lset },
];

export const collectionCommands: CommandDef[] = [...hashCommands, ...setCommands, ...zsetCommands, ...listCommands];
