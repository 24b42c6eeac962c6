/** String commands, following t_string.c of Redis 7.0 (option parsing order decides which error wins). */

import { Buffer } from 'node:buffer';
import type { Reply } from '../redis-backend.ts';
import { bulk, fail, latin1, lookup, NOT_FLOAT, OK, parseLL, SYNTAX } from './context.ts';
import type { CommandDef, ExecContext } from './context.ts';
import { bin } from './keyspace.ts';
import { intReply, LLONG_MAX, LLONG_MIN, ldAdd, ldToHuman, string2ld, string2ll } from './numbers.ts';

const F_NX = 1;
const F_XX = 2;
const F_GET = 4;
const F_KEEPTTL = 8;
const F_PERSIST = 16;
const F_EX = 32;
const F_PX = 64;
const F_EXAT = 128;
const F_PXAT = 256;
const ANY_EXPIRE = F_EX | F_PX | F_EXAT | F_PXAT;

interface SetArgs {
  flags: number;
  expire: Buffer | undefined;
}

/** parseExtendedStringArgumentsOrReply: note a repeated EX/PX is accepted (last one wins). */
function parseSetArgs(argv: Buffer[], forGet: boolean): SetArgs {
  let flags = 0;
  let expire: Buffer | undefined;
  for (let j = forGet ? 2 : 3; j < argv.length; j++) {
    const opt = latin1(argv[j]!).toLowerCase();
    const next = j === argv.length - 1 ? undefined : argv[j + 1];
    if (opt === 'nx' && !(flags & F_XX) && !forGet) flags |= F_NX;
    else if (opt === 'xx' && !(flags & F_NX) && !forGet) flags |= F_XX;
    else if (opt === 'get' && !forGet) flags |= F_GET;
    else if (opt === 'keepttl' && !(flags & (F_PERSIST | ANY_EXPIRE)) && !forGet) flags |= F_KEEPTTL;
    else if (opt === 'persist' && forGet && !(flags & (ANY_EXPIRE | F_KEEPTTL))) flags |= F_PERSIST;
    else if (opt === 'ex' && !(flags & (F_KEEPTTL | F_PERSIST | F_EXAT | F_PX | F_PXAT)) && next) {
      flags |= F_EX;
      expire = next;
      j++;
    } else if (opt === 'px' && !(flags & (F_KEEPTTL | F_PERSIST | F_EX | F_EXAT | F_PXAT)) && next) {
      flags |= F_PX;
      expire = next;
      j++;
    } else if (opt === 'exat' && !(flags & (F_KEEPTTL | F_PERSIST | F_EX | F_PX | F_PXAT)) && next) {
      flags |= F_EXAT;
      expire = next;
      j++;
    } else if (opt === 'pxat' && !(flags & (F_KEEPTTL | F_PERSIST | F_EX | F_EXAT | F_PX)) && next) {
      flags |= F_PXAT;
      expire = next;
      j++;
    } else fail(SYNTAX);
  }
  return { flags, expire };
}

/** getExpireMillisecondsOrReply: absolute ms, or the command-specific "invalid expire time" error. */
function expireMs(ctx: ExecContext, name: string, expire: Buffer, flags: number): number {
  let ms = parseLL(expire);
  const invalid = `ERR invalid expire time in '${name}' command`;
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
  return lookup(ctx, bin(key), 'string')?.data;
}

function setGeneric(
  ctx: ExecContext,
  name: string,
  flags: number,
  keyBuf: Buffer,
  val: Buffer,
  expire: Buffer | undefined,
): Reply {
  const at = expire !== undefined ? expireMs(ctx, name, expire, flags) : undefined;
  let old: Reply = null;
  if (flags & F_GET) old = getString(ctx, keyBuf) ?? null;
  const key = bin(keyBuf);
  const found = ctx.ks.has(key);
  if ((flags & F_NX && found) || (flags & F_XX && !found)) return flags & F_GET ? old : null;
  const e = ctx.ks.set(key, { type: 'string', data: Buffer.from(val) }, (flags & F_KEEPTTL) !== 0);
  if (at !== undefined) {
    // checkAlreadyExpired: an absolute time already in the past deletes the key at once.
    if (at <= ctx.now()) ctx.ks.delete(key);
    else e.expireAt = at;
  }
  return flags & F_GET ? old : OK;
}

function set(ctx: ExecContext, argv: Buffer[]): Reply {
  const { flags, expire } = parseSetArgs(argv, false);
  return setGeneric(ctx, 'set', flags, argv[1]!, argv[2]!, expire);
}

function getex(ctx: ExecContext, argv: Buffer[]): Reply {
  const { flags, expire } = parseSetArgs(argv, true);
  const key = bin(argv[1]!);
  const v = lookup(ctx, key, 'string');
  if (v === undefined) return null;
  const at = expire !== undefined ? expireMs(ctx, 'getex', expire, flags) : undefined;
  const e = ctx.ks.get(key)!;
  if (at !== undefined) {
    if (flags & (F_EXAT | F_PXAT) && at <= ctx.now()) ctx.ks.delete(key);
    else e.expireAt = at;
  } else if (flags & F_PERSIST) e.expireAt = undefined;
  return v.data;
}

function getdel(ctx: ExecContext, argv: Buffer[]): Reply {
  const v = getString(ctx, argv[1]!);
  if (v === undefined) return null;
  ctx.ks.delete(bin(argv[1]!));
  return v;
}

function mset(ctx: ExecContext, argv: Buffer[], nx: boolean): Reply {
  if (argv.length % 2 === 0) fail(`ERR wrong number of arguments for '${nx ? 'msetnx' : 'mset'}' command`);
  if (nx) {
    for (let j = 1; j < argv.length; j += 2) if (ctx.ks.has(bin(argv[j]!))) return 0;
  }
  for (let j = 1; j < argv.length; j += 2) {
    ctx.ks.set(bin(argv[j]!), { type: 'string', data: Buffer.from(argv[j + 1]!) });
  }
  return nx ? 1 : OK;
}

function incrDecr(ctx: ExecContext, keyBuf: Buffer, incr: bigint): Reply {
  const key = bin(keyBuf);
  const cur = lookup(ctx, key, 'string');
  let value = 0n;
  if (cur !== undefined) {
    const v = string2ll(cur.data);
    if (v === null) fail('ERR value is not an integer or out of range');
    value = v;
  }
  if ((incr < 0n && value < 0n && incr < LLONG_MIN - value) || (incr > 0n && value > 0n && incr > LLONG_MAX - value)) {
    fail('ERR increment or decrement would overflow');
  }
  const result = value + incr;
  ctx.ks.set(key, { type: 'string', data: Buffer.from(String(result)) }, true);
  return intReply(result);
}

function incrbyfloat(ctx: ExecContext, argv: Buffer[]): Reply {
  const key = bin(argv[1]!);
  const cur = lookup(ctx, key, 'string');
  const value = cur === undefined ? { negative: false, mant: 0n, exp: 0 } : string2ld(latin1(cur.data));
  if (value === null) fail(NOT_FLOAT);
  const incr = string2ld(latin1(argv[2]!));
  if (incr === null) fail(NOT_FLOAT);
  if (typeof value === 'string' || typeof incr === 'string') {
    fail('ERR increment would produce NaN or Infinity');
  }
  const sum = ldAdd(value, incr);
  if (sum === null) fail('ERR increment would produce NaN or Infinity');
  const text = ldToHuman(sum);
  ctx.ks.set(key, { type: 'string', data: Buffer.from(text, 'latin1') }, true);
  return bulk(text);
}

function append(ctx: ExecContext, argv: Buffer[]): Reply {
  const key = bin(argv[1]!);
  const cur = lookup(ctx, key, 'string');
  const data = cur === undefined ? Buffer.from(argv[2]!) : Buffer.concat([cur.data, argv[2]!]);
  ctx.ks.set(key, { type: 'string', data }, true);
  return data.length;
}

/** GETRANGE's index clamping (getrangeCommand). */
function getrange(ctx: ExecContext, argv: Buffer[]): Reply {
  let start = Number(parseLL(argv[2]!));
  let end = Number(parseLL(argv[3]!));
  const v = getString(ctx, argv[1]!);
  if (v === undefined) return Buffer.alloc(0);
  const len = v.length;
  if (start < 0 && end < 0 && start > end) return Buffer.alloc(0);
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len === 0) return Buffer.alloc(0);
  return Buffer.from(v.subarray(start, end + 1));
}

const PROTO_MAX_BULK_LEN = 512 * 1024 * 1024;

function setrange(ctx: ExecContext, argv: Buffer[]): Reply {
  const key = bin(argv[1]!);
  const offset = Number(parseLL(argv[2]!));
  if (offset < 0) fail('ERR offset is out of range');
  const value = argv[3]!;
  const cur = lookup(ctx, key, 'string');
  if (cur === undefined && value.length === 0) return 0;
  if (offset + value.length > PROTO_MAX_BULK_LEN) fail('ERR string exceeds maximum allowed size (proto-max-bulk-len)');
  const old = cur?.data ?? Buffer.alloc(0);
  if (value.length === 0) return old.length;
  const data = Buffer.alloc(Math.max(old.length, offset + value.length));
  old.copy(data);
  value.copy(data, offset);
  ctx.ks.set(key, { type: 'string', data }, true);
  return data.length;
}

export const stringCommands: CommandDef[] = [
  { name: 'get', arity: 2, run: (c, a) => getString(c, a[1]!) ?? null },
  { name: 'set', arity: -3, write: true, run: set },
  {
    name: 'setex',
    arity: 4,
    write: true,
    run: (c, a) => setGeneric(c, 'setex', F_EX, a[1]!, a[3]!, a[2]),
  },
  {
    name: 'psetex',
    arity: 4,
    write: true,
    run: (c, a) => setGeneric(c, 'psetex', F_PX, a[1]!, a[3]!, a[2]),
  },
  {
    name: 'setnx',
    arity: 3,
    write: true,
    run: (c, a) => (setGeneric(c, 'setnx', F_NX, a[1]!, a[2]!, undefined) === null ? 0 : 1),
  },
  { name: 'getset', arity: 3, write: true, run: (c, a) => setGeneric(c, 'getset', F_GET, a[1]!, a[2]!, undefined) },
  { name: 'getdel', arity: 2, write: true, run: getdel },
  { name: 'getex', arity: -2, write: true, run: getex },
  { name: 'getrange', arity: 4, run: getrange },
  { name: 'setrange', arity: 4, write: true, run: setrange },
  {
    name: 'mget',
    arity: -2,
    run: (c, a) =>
      a.slice(1).map((k) => {
        const e = c.ks.get(bin(k));
        return e !== undefined && e.value.type === 'string' ? e.value.data : null;
      }),
  },
  { name: 'mset', arity: -3, write: true, run: (c, a) => mset(c, a, false) },
  { name: 'msetnx', arity: -3, write: true, run: (c, a) => mset(c, a, true) },
  { name: 'incr', arity: 2, write: true, run: (c, a) => incrDecr(c, a[1]!, 1n) },
  { name: 'decr', arity: 2, write: true, run: (c, a) => incrDecr(c, a[1]!, -1n) },
  { name: 'incrby', arity: 3, write: true, run: (c, a) => incrDecr(c, a[1]!, parseLL(a[2]!)) },
  {
    name: 'decrby',
    arity: 3,
    write: true,
    run: (c, a) => {
      const v = parseLL(a[2]!);
      if (v === LLONG_MIN) fail('ERR decrement would overflow');
      return incrDecr(c, a[1]!, -v);
    },
  },
  { name: 'incrbyfloat', arity: 3, write: true, run: incrbyfloat },
  { name: 'append', arity: 3, write: true, run: append },
  { name: 'strlen', arity: 2, run: (c, a) => getString(c, a[1]!)?.length ?? 0 },
];
