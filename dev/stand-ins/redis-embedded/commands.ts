/**
 * The commands edgetask sends (the Worker, @upstash/ratelimit's fixed and sliding windows, the
 * account purge's SCAN), following Redis 7.0's t_string.c, expire.c and db.c: option parsing
 * in Redis' order, so the same error wins. Scripting (EVAL, EVALSHA, SCRIPT LOAD) is in
 * scripting.ts. Anything else is refused by the engine (engine.ts).
 */

import { Buffer } from 'node:buffer';
import { StatusReply } from '../redis-backend.ts';
import type { Reply } from '../redis-backend.ts';
import { bulk, fail, latin1, lower, NOT_INTEGER, OK, parseLL, SYNTAX } from './context.ts';
import type { CommandDef, ExecContext } from './context.ts';
import { globMatch } from './glob.ts';
import { bin, unbin } from './keyspace.ts';
import { intReply, LLONG_MAX, LLONG_MIN, string2ll } from './numbers.ts';

const F_NX = 1;
const F_XX = 2;
const F_GET = 4;
const F_KEEPTTL = 8;
const F_EX = 16;
const F_PX = 32;
const F_EXAT = 64;
const F_PXAT = 128;

/** parseExtendedStringArgumentsOrReply (SET's half): a repeated EX/PX is accepted (last one wins). */
function parseSetArgs(argv: Buffer[]): { flags: number; expire: Buffer | undefined } {
  let flags = 0;
  let expire: Buffer | undefined;
  for (let j = 3; j < argv.length; j++) {
    const opt = lower(argv[j]!);
    const next = j === argv.length - 1 ? undefined : argv[j + 1];
    const expireFlag = { ex: F_EX, px: F_PX, exat: F_EXAT, pxat: F_PXAT }[opt];
    if (opt === 'nx' && !(flags & F_XX)) flags |= F_NX;
    else if (opt === 'xx' && !(flags & F_NX)) flags |= F_XX;
    else if (opt === 'get') flags |= F_GET;
    else if (opt === 'keepttl' && !(flags & (F_EX | F_PX | F_EXAT | F_PXAT))) flags |= F_KEEPTTL;
    else if (
      expireFlag !== undefined &&
      !(flags & (F_KEEPTTL | ((F_EX | F_PX | F_EXAT | F_PXAT) & ~expireFlag))) &&
      next
    ) {
      flags |= expireFlag;
      expire = next;
      j++;
    } else fail(SYNTAX);
  }
  return { flags, expire };
}

/** getExpireMillisecondsOrReply: absolute ms, or "invalid expire time". */
function expireMs(ctx: ExecContext, expire: Buffer, flags: number): number {
  let ms = parseLL(expire);
  const invalid = "ERR invalid expire time in 'set' command";
  const seconds = (flags & (F_EX | F_EXAT)) !== 0;
  if (ms <= 0n || (seconds && ms > LLONG_MAX / 1000n)) fail(invalid);
  if (seconds) ms *= 1000n;
  if (flags & (F_EX | F_PX)) {
    ms += BigInt(ctx.now());
    if (ms > LLONG_MAX) fail(invalid);
  }
  return Number(ms);
}

function getString(ctx: ExecContext, key: Buffer): Buffer | undefined {
  return ctx.ks.get(bin(key))?.value.data;
}

function set(ctx: ExecContext, argv: Buffer[]): Reply {
  const { flags, expire } = parseSetArgs(argv);
  const at = expire !== undefined ? expireMs(ctx, expire, flags) : undefined;
  const old: Reply = flags & F_GET ? (getString(ctx, argv[1]!) ?? null) : null;
  const key = bin(argv[1]!);
  const found = ctx.ks.has(key);
  if ((flags & F_NX && found) || (flags & F_XX && !found)) return old;
  const e = ctx.ks.set(key, { type: 'string', data: Buffer.from(argv[2]!) }, (flags & F_KEEPTTL) !== 0);
  if (at !== undefined) {
    // checkAlreadyExpired: an absolute time already in the past deletes the key at once.
    if (at <= ctx.now()) ctx.ks.delete(key);
    else e.expireAt = at;
  }
  return flags & F_GET ? old : OK;
}

function incrBy(ctx: ExecContext, keyBuf: Buffer, incr: bigint): Reply {
  const key = bin(keyBuf);
  const cur = ctx.ks.get(key);
  const value = cur === undefined ? 0n : string2ll(cur.value.data);
  if (value === null) fail(NOT_INTEGER);
  if ((incr < 0n && value < 0n && incr < LLONG_MIN - value) || (incr > 0n && value > 0n && incr > LLONG_MAX - value)) {
    fail('ERR increment or decrement would overflow');
  }
  const result = value + incr;
  ctx.ks.set(key, { type: 'string', data: Buffer.from(String(result)) }, true);
  return intReply(result);
}

/** PEXPIRE key milliseconds, without Redis 7's NX/XX/GT/LT (nothing edgetask sends uses them). */
function pexpire(ctx: ExecContext, argv: Buffer[]): Reply {
  if (argv.length > 3) fail(`ERR the embedded engine implements PEXPIRE without options (got '${latin1(argv[3]!)}')`);
  const base = BigInt(ctx.now());
  const when = parseLL(argv[2]!);
  if (when > LLONG_MAX - base) fail("ERR invalid expire time in 'pexpire' command");
  const key = bin(argv[1]!);
  const e = ctx.ks.get(key);
  if (e === undefined) return 0;
  if (when + base <= base) ctx.ks.delete(key);
  else e.expireAt = Number(when + base);
  return 1;
}

const ULONG_MAX = 18446744073709551615n;

/** parseScanCursorOrReply: strtoul semantics (sign allowed, "" is 0, no leading space). */
function parseCursor(b: Buffer): number {
  const m = /^([+-]?)(\d*)$/.exec(latin1(b));
  if (!m || (m[2] === '' && m[1] !== '')) fail('ERR invalid cursor');
  const v = BigInt(m[2] || '0');
  if (v > ULONG_MAX) fail('ERR invalid cursor');
  return Number(m[1] === '-' ? (ULONG_MAX + 1n - v) % (ULONG_MAX + 1n) : v);
}

function scan(ctx: ExecContext, argv: Buffer[]): Reply {
  const cursor = parseCursor(argv[1]!);
  let count = 10;
  let pattern: Buffer | undefined;
  let typeName: string | undefined;
  for (let i = 2; i < argv.length; i += 2) {
    const opt = lower(argv[i]!);
    if (argv.length - i < 2) fail(SYNTAX);
    if (opt === 'count') {
      const c = parseLL(argv[i + 1]!);
      if (c < 1n) fail(SYNTAX);
      count = Number(c);
    } else if (opt === 'match') {
      const p = argv[i + 1]!;
      pattern = p.length === 1 && p[0] === 0x2a ? undefined : p;
    } else if (opt === 'type') typeName = lower(argv[i + 1]!);
    else fail(SYNTAX);
  }
  const step = ctx.ks.scanStep(cursor, count);
  const out: Reply[] = [];
  for (const [k, e] of step.keys) {
    if (typeName !== undefined && e.value.type !== typeName) continue;
    const kb = unbin(k);
    if (pattern === undefined || globMatch(pattern, kb)) out.push(kb);
  }
  return [bulk(String(step.next)), out];
}

export const commands: CommandDef[] = [
  {
    name: 'ping',
    arity: -1,
    // PING's arity is -1 but it takes at most one argument; the command itself enforces that.
    run: (_c, a) =>
      a.length > 2 ? fail("ERR wrong number of arguments for 'ping' command") : (a[1] ?? new StatusReply('PONG')),
  },
  { name: 'get', arity: 2, run: (c, a) => getString(c, a[1]!) ?? null },
  { name: 'set', arity: -3, write: true, run: set },
  { name: 'incr', arity: 2, write: true, run: (c, a) => incrBy(c, a[1]!, 1n) },
  { name: 'incrby', arity: 3, write: true, run: (c, a) => incrBy(c, a[1]!, parseLL(a[2]!)) },
  { name: 'del', arity: -2, write: true, run: (c, a) => a.slice(1).filter((k) => c.ks.delete(bin(k))).length },
  { name: 'exists', arity: -2, run: (c, a) => a.slice(1).filter((k) => c.ks.has(bin(k))).length },
  { name: 'pexpire', arity: -3, write: true, run: pexpire },
  { name: 'scan', arity: -2, run: scan },
];
