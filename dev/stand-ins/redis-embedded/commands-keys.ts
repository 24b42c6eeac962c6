/** Keyspace and server commands: DEL, EXISTS, EXPIRE family, TTL, TYPE, KEYS, SCAN, FLUSH*, TIME... */

import type { Buffer } from 'node:buffer';
import { StatusReply } from '../redis-backend.ts';
import type { Reply } from '../redis-backend.ts';
import { bulk, fail, latin1, lower, OK, parseLL, SYNTAX } from './context.ts';
import type { CommandDef, ExecContext } from './context.ts';
import { globMatch } from './glob.ts';
import { bin, unbin } from './keyspace.ts';
import { LLONG_MAX, LLONG_MIN, intReply } from './numbers.ts';

function ping(_ctx: ExecContext, argv: Buffer[]): Reply {
  // PING's arity is -1 but it takes at most one argument; the command itself enforces that.
  if (argv.length > 2) fail("ERR wrong number of arguments for 'ping' command");
  return argv.length === 2 ? argv[1]! : new StatusReply('PONG');
}

function del(ctx: ExecContext, argv: Buffer[]): Reply {
  let n = 0;
  for (const k of argv.slice(1)) if (ctx.ks.delete(bin(k))) n++;
  return n;
}

function exists(ctx: ExecContext, argv: Buffer[]): Reply {
  let n = 0;
  for (const k of argv.slice(1)) if (ctx.ks.has(bin(k))) n++;
  return n;
}

function expireGeneric(ctx: ExecContext, argv: Buffer[], name: string, relative: boolean, seconds: boolean): Reply {
  let nx = false;
  let xx = false;
  let gt = false;
  let lt = false;
  for (const opt of argv.slice(3)) {
    const o = lower(opt);
    if (o === 'nx') nx = true;
    else if (o === 'xx') xx = true;
    else if (o === 'gt') gt = true;
    else if (o === 'lt') lt = true;
    else fail(`ERR Unsupported option ${latin1(opt)}`);
  }
  if ((nx && xx) || (nx && gt) || (nx && lt))
    fail('ERR NX and XX, GT or LT options at the same time are not compatible');
  if (gt && lt) fail('ERR GT and LT options at the same time are not compatible');
  let when = parseLL(argv[2]!);
  const invalid = `ERR invalid expire time in '${name}' command`;
  if (seconds) {
    if (when > LLONG_MAX / 1000n || when < LLONG_MIN / 1000n) fail(invalid);
    when *= 1000n;
  }
  const base = relative ? BigInt(ctx.now()) : 0n;
  if (when > LLONG_MAX - base) fail(invalid);
  when += base;
  const key = bin(argv[1]!);
  const e = ctx.ks.get(key);
  if (e === undefined) return 0;
  const current = e.expireAt === undefined ? -1n : BigInt(e.expireAt);
  if (nx && current !== -1n) return 0;
  if (xx && current === -1n) return 0;
  // No TTL counts as infinite: GT can never beat it, LT always does.
  if (gt && (when <= current || current === -1n)) return 0;
  if (lt && current !== -1n && when >= current) return 0;
  if (when <= BigInt(ctx.now())) {
    ctx.ks.delete(key);
    return 1;
  }
  e.expireAt = Number(when);
  return 1;
}

function ttlGeneric(ctx: ExecContext, argv: Buffer[], ms: boolean): Reply {
  const e = ctx.ks.get(bin(argv[1]!));
  if (e === undefined) return -2;
  if (e.expireAt === undefined) return -1;
  const ttl = Math.max(0, e.expireAt - ctx.now());
  return ms ? ttl : Math.floor((ttl + 500) / 1000);
}

function expiretimeGeneric(ctx: ExecContext, argv: Buffer[], ms: boolean): Reply {
  const e = ctx.ks.get(bin(argv[1]!));
  if (e === undefined) return -2;
  if (e.expireAt === undefined) return -1;
  return intReply(ms ? e.expireAt : Math.floor(e.expireAt / 1000));
}

function persist(ctx: ExecContext, argv: Buffer[]): Reply {
  const e = ctx.ks.get(bin(argv[1]!));
  if (e === undefined || e.expireAt === undefined) return 0;
  e.expireAt = undefined;
  return 1;
}

function type(ctx: ExecContext, argv: Buffer[]): Reply {
  const e = ctx.ks.get(bin(argv[1]!));
  return new StatusReply(e === undefined ? 'none' : e.value.type);
}

function keys(ctx: ExecContext, argv: Buffer[]): Reply {
  const pattern = argv[1]!;
  const all = pattern.length === 1 && pattern[0] === 0x2a;
  const out: Reply[] = [];
  for (const [k] of ctx.ks.keys()) {
    const kb = unbin(k);
    if (all || globMatch(pattern, kb)) out.push(kb);
  }
  return out;
}

const ULONG_MAX = 18446744073709551615n;

/** parseScanCursorOrReply: strtoul semantics (sign allowed, "" is 0, no leading space). */
function parseCursor(b: Buffer): number {
  const s = latin1(b);
  if (s === '') return 0;
  const m = /^([+-]?)(\d+)$/.exec(s);
  if (!m) fail('ERR invalid cursor');
  const v = BigInt(m[2]!);
  if (v > ULONG_MAX) fail('ERR invalid cursor');
  const u = m[1] === '-' ? (ULONG_MAX + 1n - v) % (ULONG_MAX + 1n) : v;
  return Number(u);
}

function scan(ctx: ExecContext, argv: Buffer[]): Reply {
  const cursor = parseCursor(argv[1]!);
  let count = 10;
  let pattern: Buffer | undefined;
  let typeName: string | undefined;
  for (let i = 2; i < argv.length;) {
    const left = argv.length - i;
    const opt = lower(argv[i]!);
    if (opt === 'count' && left >= 2) {
      const c = parseLL(argv[i + 1]!);
      if (c < 1n) fail(SYNTAX);
      count = Number(c);
      i += 2;
    } else if (opt === 'match' && left >= 2) {
      const p = argv[i + 1]!;
      pattern = p.length === 1 && p[0] === 0x2a ? undefined : p;
      i += 2;
    } else if (opt === 'type' && left >= 2) {
      typeName = lower(argv[i + 1]!);
      i += 2;
    } else fail(SYNTAX);
  }
  const step = ctx.ks.scanStep(cursor, count);
  const out: Reply[] = [];
  for (const [k, e] of step.keys) {
    if (typeName !== undefined && e.value.type !== typeName) continue;
    const kb = unbin(k);
    if (pattern !== undefined && !globMatch(pattern, kb)) continue;
    out.push(kb);
  }
  return [bulk(String(step.next)), out];
}

function flush(ctx: ExecContext, argv: Buffer[]): Reply {
  if (argv.length === 2) {
    const o = lower(argv[1]!);
    if (o !== 'sync' && o !== 'async') fail(SYNTAX);
  } else if (argv.length !== 1) fail(SYNTAX);
  ctx.ks.clear();
  return OK;
}

function time(ctx: ExecContext): Reply {
  const ms = ctx.now();
  return [bulk(String(Math.floor(ms / 1000))), bulk(String((ms % 1000) * 1000))];
}

/** renameGenericCommand: the TTL moves with the value; the target is replaced. */
function rename(ctx: ExecContext, argv: Buffer[], nx: boolean): Reply {
  const src = bin(argv[1]!);
  const dst = bin(argv[2]!);
  const e = ctx.ks.get(src);
  if (e === undefined) fail('ERR no such key');
  if (src === dst) return nx ? 0 : OK;
  if (nx && ctx.ks.has(dst)) return 0;
  ctx.ks.delete(dst);
  ctx.ks.delete(src);
  const moved = ctx.ks.set(dst, e.value);
  moved.expireAt = e.expireAt;
  return nx ? 1 : OK;
}

export const keyCommands: CommandDef[] = [
  { name: 'ping', arity: -1, run: ping },
  { name: 'echo', arity: 2, run: (_c, a) => a[1]! },
  { name: 'del', arity: -2, write: true, run: del },
  { name: 'unlink', arity: -2, write: true, run: del },
  { name: 'exists', arity: -2, run: exists },
  { name: 'expire', arity: -3, write: true, run: (c, a) => expireGeneric(c, a, 'expire', true, true) },
  { name: 'pexpire', arity: -3, write: true, run: (c, a) => expireGeneric(c, a, 'pexpire', true, false) },
  { name: 'expireat', arity: -3, write: true, run: (c, a) => expireGeneric(c, a, 'expireat', false, true) },
  { name: 'pexpireat', arity: -3, write: true, run: (c, a) => expireGeneric(c, a, 'pexpireat', false, false) },
  { name: 'ttl', arity: 2, run: (c, a) => ttlGeneric(c, a, false) },
  { name: 'pttl', arity: 2, run: (c, a) => ttlGeneric(c, a, true) },
  { name: 'expiretime', arity: 2, run: (c, a) => expiretimeGeneric(c, a, false) },
  { name: 'pexpiretime', arity: 2, run: (c, a) => expiretimeGeneric(c, a, true) },
  { name: 'persist', arity: 2, write: true, run: persist },
  { name: 'rename', arity: 3, write: true, run: (c, a) => rename(c, a, false) },
  { name: 'renamenx', arity: 3, write: true, run: (c, a) => rename(c, a, true) },
  { name: 'type', arity: 2, run: type },
  { name: 'keys', arity: 2, run: keys },
  { name: 'scan', arity: -2, run: scan },
  { name: 'dbsize', arity: 1, run: (c) => c.ks.size() },
  { name: 'flushdb', arity: -1, write: true, run: flush },
  { name: 'flushall', arity: -1, write: true, run: flush },
  { name: 'time', arity: 1, run: time },
];
