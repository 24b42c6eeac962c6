import { Buffer } from 'node:buffer';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplyError, StatusReply } from '../../dev/stand-ins/redis-backend.ts';
import type { Command, RedisBackend, Reply } from '../../dev/stand-ins/redis-backend.ts';
import { createEmbeddedRedis } from '../../dev/stand-ins/redis-embedded/engine.ts';
import { findBinary, startRedis } from '../../dev/stand-ins/real-servers.ts';
import { createRealRedis } from '../../dev/stand-ins/redis-real.ts';
import type { StartedServer } from '../../dev/stand-ins/real-servers.ts';

/**
 * Differential test of the embedded engine against the real redis-server 7.0 (the oracle): every
 * case runs the same raw commands on both, on fresh keys, and the replies must be identical,
 * reply types included (status vs bulk, integer vs bigint, error text). Real Redis must be
 * reachable (STANDINS_REDIS_URL, 127.0.0.1:6379, or a redis-server binary to start a throwaway
 * one): without it every case fails, none is skipped.
 */

// ------------------------------------------------------------------------------- case language

type Arg = string | number | Buffer;
type Norm = (r: Reply) => unknown;
type Step = Arg[] | { tx: Arg[][] } | { pipe: Arg[][] } | { scanAll: Arg[]; norm?: Norm };

interface Case {
  name: string;
  steps: (k: (suffix?: string) => string) => Step[];
}

const toArgv = (args: Arg[]): Buffer[] => args.map((a) => (Buffer.isBuffer(a) ? a : Buffer.from(String(a))));

/** A comparable, printable form that keeps every distinction the REST layer relies on. */
function canon(r: Reply): unknown {
  if (r === null) return null;
  if (typeof r === 'number') return { int: r };
  if (typeof r === 'bigint') return { bigint: r.toString() };
  if (r instanceof Uint8Array) return { bulk: Buffer.from(r).toString('latin1') };
  if (r instanceof StatusReply) return { status: r.status };
  if (r instanceof ReplyError) return { error: r.message };
  return r.map(canon);
}

const sorted: Norm = (r) =>
  Array.isArray(r) ? r.map(canon).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)) : canon(r);

function ratelimitScripts(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const file = readFileSync(require.resolve('@upstash/ratelimit').replace(/index\.js$/, 'index.mjs'), 'utf8');
  const out: Record<string, string> = {};
  for (const m of file.matchAll(/^var (\w+) = `([\s\S]*?)`;$/gm)) {
    // What the REST layer does: drop Upstash's shebang line before the script reaches an engine.
    out[m[1]!] = m[2]!
      .replace('${tokenBucketIdentifierNotFound}', '-1')
      .replace(/^#!lua flags=allow-key-locking\n/, '');
  }
  return out;
}

const RL = ratelimitScripts();
const RUN = randomUUID().slice(0, 8);
const sha1 = (s: string): string => createHash('sha1').update(s).digest('hex');

// ------------------------------------------------------------------------------------------ cases

const cases: Case[] = [
  // connection, arity
  { name: 'ping', steps: () => [['ping'], ['PING', 'hi'], ['ping', 'a', 'b']] },
  {
    name: 'arity',
    steps: () => [['get'], ['GET', 'a', 'b'], ['set', 'a'], ['script'], ['script', 'load'], ['incrby', 'a']],
  },
  // strings
  {
    name: 'set/get basics and binary values',
    steps: (k) => [
      ['set', k('a'), 'v1'],
      ['get', k('a')],
      ['get', k('missing')],
      ['set', k('bin'), Buffer.from([0, 255, 13, 10, 128])],
      ['get', k('bin')],
      ['set', k('utf'), 'héllo ✓'],
      ['get', k('utf')],
    ],
  },
  {
    name: 'set NX/XX/GET',
    steps: (k) => [
      ['set', k('a'), '1', 'nx'],
      ['set', k('a'), '2', 'NX'],
      ['set', k('b'), '1', 'xx'],
      ['set', k('a'), '3', 'xx'],
      ['set', k('a'), '4', 'nx', 'xx'],
      ['set', k('a'), '5', 'get'],
      ['set', k('n'), '5', 'get'],
      ['set', k('a'), '6', 'nx', 'get'],
      ['get', k('a')],
    ],
  },
  {
    name: 'set expiry options and errors',
    steps: (k) => [
      ['set', k('a'), '1', 'px', 0],
      ['set', k('a'), '1', 'ex', -5],
      ['set', k('a'), '1', 'ex', 'abc'],
      ['set', k('a'), '1', 'exat', 0],
      ['set', k('a'), '1', 'ex'],
      ['set', k('a'), '1', 'ex', 10, 'px', 100],
      ['set', k('a'), '1', 'keepttl', 'ex', 10],
      ['set', k('a'), '1', 'ex', '9223372036854775807'],
      ['set', k('a'), '1', 'bogus'],
      ['set', k('a'), '1', 'EX', 100, 'EX', 200],
      ['get', k('a')],
      ['set', k('b'), '1', 'px', 100000],
      ['set', k('b'), '2', 'keepttl'],
      ['set', k('c'), '1', 'pxat', 32503680000000],
      ['set', k('d'), '1', 'exat', 32503680000],
      ['set', k('e'), '1', 'pxat', 1000],
      ['exists', k('b'), k('c'), k('d'), k('e')],
    ],
  },
  {
    name: 'incr, incrby and integer parsing',
    steps: (k) => [
      ['incr', k('a')],
      ['incrby', k('a'), 41],
      ['incrby', k('a'), -10],
      ['incrby', k('a'), '1.5'],
      ['incrby', k('a'), ' 1'],
      ['incrby', k('a'), '+1'],
      ['incrby', k('a'), '01'],
      ['incrby', k('a'), '-0'],
      ['incrby', k('a'), ''],
      ['incrby', k('a'), '99999999999999999999'],
      ['set', k('b'), 'abc'],
      ['incr', k('b')],
      ['set', k('c'), '9223372036854775807'],
      ['incr', k('c')],
      ['incrby', k('c'), '-9223372036854775808'],
      ['set', k('d'), '-9223372036854775808'],
      ['incrby', k('d'), -1],
      ['set', k('e'), ' 5'],
      ['incr', k('e')],
    ],
  },
  {
    name: 'large integers: 2^40, 2^53 and beyond',
    steps: (k) => [
      ['incrby', k('n'), 2 ** 40],
      ['incrby', k('n'), 2 ** 53],
      ['incrby', k('n'), 2 ** 53],
      ['incrby', k('n'), '-36028797018963968'],
      ['incrby', k('m'), '-9007199254740993'],
      ['get', k('n')],
    ],
  },
  {
    name: 'glob matching (SCAN MATCH) with bytes above 0x7f and odd patterns',
    steps: (k) => [
      ['set', Buffer.from(k('\xe9')), '1'],
      ['set', k('a'), '2'],
      ['set', Buffer.concat([Buffer.from(k()), Buffer.from([0xc3, 0xa9])]), '3'],
      { scanAll: ['MATCH', Buffer.concat([Buffer.from(k('[a-')), Buffer.from([0xff]), Buffer.from(']*')])] },
      { scanAll: ['MATCH', Buffer.concat([Buffer.from(k('[')), Buffer.from([0xc3]), Buffer.from('-a]*')])] },
      { scanAll: ['MATCH', k('?')] },
      { scanAll: ['MATCH', k('*?*')] },
      { scanAll: ['MATCH', k('[]')] },
      { scanAll: ['MATCH', k('[^]')] },
      { scanAll: ['MATCH', k('\\')] },
      { scanAll: ['MATCH', k('**a')] },
    ],
  },
  // keyspace
  {
    name: 'del, exists',
    steps: (k) => [
      ['set', k('a'), '1'],
      ['set', k('b'), '2'],
      ['exists', k('a'), k('a'), k('b'), k('none')],
      ['del', k('a'), k('a'), k('none')],
      ['del', k('b')],
      ['exists', k('a'), k('b')],
    ],
  },
  {
    name: 'pexpire',
    steps: (k) => [
      ['pexpire', k('none'), 100000],
      ['set', k('a'), 'v'],
      ['pexpire', k('a'), 100000],
      ['pexpire', k('a'), 'abc'],
      ['pexpire', k('a'), '9223372036854775807'],
      ['pexpire', k('a'), 1.5],
      ['exists', k('a')],
      ['pexpire', k('a'), -1],
      ['exists', k('a')],
      ['set', k('b'), 'v'],
      ['pexpire', k('b'), 0],
      ['exists', k('b')],
    ],
  },
  {
    name: 'glob patterns (SCAN MATCH)',
    steps: (k) => [
      ['set', k('a1'), '1'],
      ['set', k('a2'), '2'],
      ['set', k('b1'), '3'],
      ['set', k('*'), '4'],
      ['set', k('c[x]'), '5'],
      { scanAll: ['MATCH', k('*')] },
      { scanAll: ['MATCH', k('a?')] },
      { scanAll: ['MATCH', k('[ab]1')] },
      { scanAll: ['MATCH', k('[^a]*')] },
      { scanAll: ['MATCH', k('[a-b]2')] },
      { scanAll: ['MATCH', k('\\*')] },
      { scanAll: ['MATCH', k('c\\[x]')] },
      { scanAll: ['MATCH', k('[a')] },
      { scanAll: ['MATCH', k('nothing*')] },
    ],
  },
  {
    name: 'scan: cursor protocol, MATCH, COUNT, TYPE, errors',
    steps: (k) => [
      ['set', k('s1'), '1'],
      ['set', k('s2'), '2'],
      ['set', k('s3'), '3'],
      ['set', k('s4'), '4'],
      { scanAll: ['MATCH', k('*'), 'COUNT', 3] },
      { scanAll: ['match', k('s*')] },
      { scanAll: ['MATCH', k('*'), 'TYPE', 'hash'] },
      { scanAll: ['MATCH', k('*'), 'TYPE', 'STRING', 'COUNT', 1000] },
      { scanAll: ['MATCH', k('*'), 'TYPE', 'nosuchtype'] },
      ['scan', 'abc'],
      ['scan', '0', 'count', 0],
      ['scan', '0', 'count', 'x'],
      ['scan', '0', 'foo'],
      ['scan', '0', 'match'],
    ],
  },
  // pipelines (Upstash /pipeline) and transactions (Upstash /multi-exec)
  {
    name: 'pipeline with per-entry errors',
    steps: (k) => [
      { pipe: [['set', k('p'), '1'], ['incr', k('p')], ['incrby', k('p'), 'x'], ['get'], ['get', k('p')]] },
    ],
  },
  {
    name: 'multi-exec',
    steps: (k) => [
      {
        tx: [
          ['set', k('m'), '1'],
          ['incrby', k('m'), 2],
          ['get', k('m')],
        ],
      },
    ],
  },
  {
    name: 'multi-exec runtime error is per entry',
    steps: (k) => [
      {
        tx: [
          ['set', k('m'), 'a'],
          ['incr', k('m')],
          ['get', k('m')],
        ],
      },
    ],
  },
  {
    name: 'EXECABORT on unknown command and arity',
    steps: (k) => [
      { tx: [['set', k('m'), 'a'], ['get']] },
      {
        tx: [
          ['set', k('m'), 'a'],
          ['nosuchcmd', 'x'],
        ],
      },
      ['get', k('m')],
    ],
  },
  // Lua: Lua → Redis conversions
  {
    name: 'lua reply conversion: scalars',
    steps: () => [
      ['eval', 'return true', 0],
      ['eval', 'return false', 0],
      ['eval', 'return nil', 0],
      ['eval', 'return 3.9', 0],
      ['eval', 'return -3.9', 0],
      ['eval', "return 'str'", 0],
      ['eval', 'return 2^53', 0],
      ['eval', 'return 2^53 + 1', 0],
      ['eval', 'return 2^63', 0],
      ['eval', 'return -2^63', 0],
      ['eval', 'return 0/0', 0],
      ['eval', 'return 1/0', 0],
      ['eval', 'return 10/2', 0],
      ['eval', 'return 100000*100000', 0],
      ['eval', 'return -(-2147483647 - 1)', 0],
      ['eval', 'return 2147483647 + 1', 0],
      ['eval', 'return 7 % 0', 0],
      ['eval', 'return -7 % 3', 0],
      ['eval', 'return 5.5 % 2', 0],
      ['eval', 'return math.floor(-3.5)', 0],
    ],
  },
  {
    name: 'lua reply conversion: tables and special fields',
    steps: () => [
      ['eval', 'return {1, 2, nil, 4}', 0],
      ['eval', "return {1, {2, {3, 'a'}}, true, false, 'x'}", 0],
      ['eval', 'return {}', 0],
      ['eval', "return {ok='fine'}", 0],
      ['eval', 'return {ok=5}', 0],
      ['eval', "return {err='My Error'}", 0],
      ['eval', "return {err='ERR with code'}", 0],
      ['eval', 'return {err=5}', 0],
      ['eval', "return redis.error_reply('x y')", 0],
      ['eval', "return redis.error_reply('My')", 0],
      ['eval', 'return redis.error_reply()', 0],
      ['eval', 'return redis.error_reply(5)', 0],
      ['eval', "return redis.status_reply('FINE')", 0],
      ['eval', 'return redis.status_reply()', 0],
      ['eval', "return redis.status_reply('a\\r\\nb')", 0],
      ['eval', "return {err='a\\r\\nb'}", 0],
      ['eval', 'return {double=3.5}', 0],
      ['eval', 'return {double=0.1}', 0],
      ['eval', "return {redis.status_reply('A'), redis.error_reply('B c'), 1.9}", 0],
      ['eval', "return {1, 2, n=3, 'three'}", 0],
    ],
  },
  {
    name: 'lua number formatting and 5.1 library behaviour',
    steps: () => [
      ['eval', 'return tostring(10/2)', 0],
      ['eval', "return 10/2 .. ''", 0],
      ['eval', 'return tostring(0.1)', 0],
      ['eval', 'return tostring(1/3)', 0],
      ['eval', 'return tostring(1e100)', 0],
      ['eval', 'return tostring(2^53)', 0],
      ['eval', 'return tostring(2^31)', 0],
      ['eval', 'return tostring(1e-5)', 0],
      ['eval', 'return tostring(123456789012)', 0],
      ['eval', 'return tostring(1/0)', 0],
      ['eval', 'return tostring(-1/0)', 0],
      ['eval', 'return tostring(0/0)', 0],
      ['eval', 'return tostring(7 % 0)', 0],
      ['eval', 'return tostring(100000*100000)', 0],
      ['eval', "return string.format('%d', 3.7)", 0],
      ['eval', "return string.format('%d', 2^40)", 0],
      ['eval', "return string.format('%s %5.2f %x', 2^40, 1/3, 255)", 0],
      ['eval', "return tostring(tonumber('0x10'))", 0],
      ['eval', "return tostring(tonumber('1e3'))", 0],
      ['eval', "return tostring(tonumber('  12  '))", 0],
      ['eval', "return tonumber('abc') == nil", 0],
      ['eval', "return tonumber('inf') == 1/0", 0],
      ['eval', "return tostring(tonumber('1700000000000'))", 0],
      ['eval', "return tostring(tonumber('1700000000000') % 60000)", 0],
      ['eval', 'return {unpack({1, 2, 3})}', 0],
      ['eval', 'return table.getn({1, 2, 3})', 0],
      ['eval', "return {string.rep('ab', 2.7), string.sub('hello', 2.9)}", 0],
      ['eval', 'return _VERSION', 0],
      ['eval', 'return type(math.pow) .. type(math.mod) .. type(loadstring) .. type(table.unpack)', 0],
      [
        'eval',
        'return {bit.tohex(-1), bit.band(0xff, 0x0f), bit.tobit(2^32+5), bit.lshift(1, 33), bit.tohex(255, -4)}',
        0,
      ],
      ['eval', 'return {bit.bor(1, 2, 4), bit.bxor(5, 3), bit.bnot(0), bit.rshift(-1, 28), bit.arshift(-256, 4)}', 0],
      ['eval', "return redis.sha1hex('abc')", 0],
      ['eval', 'return redis.sha1hex(123)', 0],
      ['eval', 'return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}', 0],
      ['eval', "return redis.log(redis.LOG_WARNING, 'hello')", 0],
    ],
  },
  {
    name: 'lua: KEYS, ARGV and Redis → Lua conversion',
    steps: (k) => [
      ['eval', 'return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}', 2, k('a'), k('b'), 'x', 'y'],
      ['eval', "local r = redis.call('get', KEYS[1]) return type(r) .. tostring(r)", 1, k('none')],
      ['eval', "local r = redis.call('ping') return {type(r), r.ok}", 0],
      ['eval', "return redis.call('ping')", 0],
      ['eval', "return {redis.call('ping')}", 0],
      ['eval', "local r = redis.call('incr', KEYS[1]) return {type(r), r + 0.5}", 1, k('n')],
      ['eval', "local r = redis.call('set', KEYS[1], 'v') return type(r) .. r.ok", 1, k('s')],
    ],
  },
  {
    name: 'lua: numbers as redis.call arguments',
    steps: (k) => [
      ['eval', "redis.call('set', KEYS[1], 3.0) return redis.call('get', KEYS[1])", 1, k('a')],
      ['eval', "redis.call('set', KEYS[1], 1/3) return redis.call('get', KEYS[1])", 1, k('a')],
      ['eval', "redis.call('set', KEYS[1], 2^53) return redis.call('get', KEYS[1])", 1, k('a')],
      ['eval', "redis.call('set', KEYS[1], -0.5) return redis.call('get', KEYS[1])", 1, k('a')],
      ['eval', "redis.call('set', KEYS[1], 1e100) return redis.call('get', KEYS[1])", 1, k('a')],
      ['eval', "return redis.call('incrby', KEYS[1], 2^40)", 1, k('n')],
      ['eval', "return redis.call('incrby', KEYS[1], 2^53)", 1, k('n')],
      ['eval', "return redis.call('incrby', KEYS[1], 0) + 1", 1, k('n')],
      ['eval', "return tonumber(redis.call('get', KEYS[1]))", 1, k('n')],
      ['eval', "return redis.call('incrby', KEYS[1], 1.5)", 1, k('n')],
    ],
  },
  {
    name: 'lua: large integers through INCRBY and back',
    steps: (k) => [
      ['incrby', k('n'), 2 ** 40],
      ['eval', "local v = redis.call('incrby', KEYS[1], 1) return {v, v * 2, tostring(v)}", 1, k('n')],
      ['set', k('m'), String(2 ** 53)],
      ['eval', "local v = redis.call('incr', KEYS[1]) return {v, tostring(v)}", 1, k('m')],
      ['eval', "return redis.call('incrby', KEYS[1], ARGV[1])", 1, k('o'), '2147483648'],
      ['eval', "return redis.call('incrby', KEYS[1], ARGV[1]) * 3", 1, k('o'), '-4294967296'],
      ['eval', 'local a = tonumber(ARGV[1]) return {a * 1000, tostring(a * 1000)}', 0, '3000000'],
    ],
  },
  {
    name: 'lua: pcall and errors from commands',
    steps: (k) => [
      ['set', k('s'), 'abc'],
      ['eval', "return redis.pcall('incr', KEYS[1])", 1, k('s')],
      ['eval', "local r = redis.pcall('incr', KEYS[1]) return {type(r), r.err}", 1, k('s')],
      ['eval', "return redis.call('incr', KEYS[1])", 1, k('s')],
      ['eval', "return redis.pcall('get')", 0],
      ['eval', "return redis.call('get')", 0],
      ['eval', 'return redis.call()', 0],
      ['eval', "return redis.call('get', {})", 0],
      ['eval', "return redis.call('get', nil)", 0],
      ['eval', "return redis.call('eval', 'return 1', 0)", 0],
      ['eval', "return redis.call('script', 'load', 'return 1')", 0],
      ['eval', "local ok, e = pcall(redis.call, 'incr', KEYS[1]) return {tostring(ok), e.err}", 1, k('s')],
      ['eval', 'return redis.sha1hex()', 0],
      ['eval', 'return redis.log()', 0],
    ],
  },
  {
    name: 'lua: errors raised inside scripts',
    steps: () => [
      ['eval', "error('boom')", 0],
      ['eval', "\nlocal a = 1\nerror({err='ERR xyz'})", 0],
      ['eval', "error({err='custom message'})", 0],
      ['eval', 'error(5)', 0],
      ['eval', 'error(nil)', 0],
      ['eval', "error('x', 0)", 0],
      ['eval', "local function f()\n  error('deep')\nend\nf()", 0],
      ['eval', 'local x = nil; return x + 1', 0],
      ['eval', 'local t = nil; return t.x', 0],
      ['eval', 'local t = {} return t.a.b', 0],
      ['eval', "return 'a' + 1", 0],
      ['eval', 'return #nil', 0],
      ['eval', 'return foo', 0],
      ['eval', 'x = 5', 0],
      ['eval', 'string.foo = 1', 0],
      ['eval', 'return string.foo', 0],
      ['eval', 'return 1 +', 0],
      ['eval', 'return end', 0],
      ['eval', 'local x = = 1', 0],
      ['eval', 'if true then', 0],
      ['eval', "return 'unfinished", 0],
      ['eval', "assert(false, 'assertion text')", 0],
      ['eval', 'assert(false)', 0],
    ],
  },
  {
    name: 'eval argument errors, NOSCRIPT, script cache',
    steps: () => {
      const body = `return 'cached ${RUN}'`;
      const neverLoaded = sha1(`return 'never loaded ${RUN}'`);
      return [
        ['eval', 'return 1', -1],
        ['eval', 'return 1', 2, 'a'],
        ['eval', 'return 1', 'x'],
        ['eval', 'return 1'],
        ['evalsha', neverLoaded, 0],
        ['evalsha', 'abc', 0],
        ['evalsha', neverLoaded, -1],
        ['evalsha', 'abc', 'x'],
        ['script', 'load', body],
        ['evalsha', sha1(body), 0],
        ['evalsha', sha1(body).toUpperCase(), 0],
        ['eval', `return 'by eval ${RUN}'`, 0],
        ['evalsha', sha1(`return 'by eval ${RUN}'`), 0],
        ['script', 'load', 'return +'],
      ];
    },
  },
  {
    name: 'script shebangs and no-writes scripts',
    steps: (k) => [
      ['eval', '#!lua\nreturn 1', 0],
      ['eval', '#!lua flags=no-writes,allow-oom,allow-stale,no-cluster,allow-cross-slot-keys\nreturn 2', 0],
      ['eval', '#!lua flags=\nreturn 3', 0],
      ['eval', '#!lua flags=allow-key-locking\nreturn 1', 0],
      ['eval', '#!lua flags=no-writes,bogus\nreturn 1', 0],
      ['eval', '#!luax\nreturn 1', 0],
      ['eval', '#!lua foo\nreturn 1', 0],
      ['eval', '#!lua', 0],
      ['eval', "#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], '1')", 1, k('a')],
      ['eval', "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", 1, k('a')],
      ['exists', k('a')],
    ],
  },
  {
    name: 'lua: arithmetic past 32 bits and 5.1 string/table library details',
    steps: () => [
      ['eval', 'local s = 0 for i = 1, 100000 do s = s + i end return {s, tostring(s)}', 0],
      ['eval', 'local x = 2147483647 x = x + 1 return {x, tostring(x), tostring(-x - 1)}', 0],
      ['eval', 'local x = 65536 return {x * x, tostring(x * x * x)}', 0],
      ['eval', 'return {tostring(-0.0), tostring(math.huge), tostring(-math.huge), tostring(3), tostring(3.0)}', 0],
      ['eval', "return {string.format('%.3f', 2/3), ('%5d'):format(42), ('x'):upper(), #'abc'}", 0],
      ['eval', "return {string.format('%g', 1e20), string.format('%g', 0.1), string.format('%q', 'a\\nb')}", 0],
      ['eval', "return table.concat({1, 2.5, 10/2, 'x'}, ',')", 0],
      ['eval', "return {select('#', 1, nil, 3), select(2, 'a', 'b', 'c')}", 0],
      ['eval', 'return {math.floor(2^31 + 0.5), math.ceil(-0.5), math.max(1, 2^40), math.min(-2^40, 1)}', 0],
      ['eval', 'return {math.fmod(7, 3), math.fmod(-7, 3), math.abs(-2^40), math.sqrt(16)}', 0],
      ['eval', 'return {tostring(nil), tostring(true), type(KEYS), type(ARGV), type(redis), type(bit)}', 0],
      ['eval', "local t = {} table.insert(t, 'a') table.insert(t, 1, 'b') table.sort(t) return t", 0],
      ['eval', "local f = loadstring('return 40 + 2') return f()", 0],
      [
        'eval',
        "local co = coroutine.wrap(function(k) coroutine.yield(redis.call('incr', k)) end) return co(KEYS[1])",
        1,
        'emb-diff-co-' + RUN,
      ],
      ['del', 'emb-diff-co-' + RUN],
      ['eval', 'local n = 0 for k, v in pairs({a = 1, b = 2, c = 3}) do n = n + v end return n', 0],
      [
        'eval',
        "return {string.find('hello world', 'o w'), string.match('key:123', '%d+'), (string.gsub('aaa', 'a', 'b'))}",
        0,
      ],
      ['eval', "return {string.byte('A'), string.char(72, 105), string.len('\\0x'), string.reverse('abc')}", 0],
      ['eval', "local t = setmetatable({}, {__index = function(_, k) return k .. '!' end}) return t.x", 0],
      ['eval', 'return {1e15, 1e16, -1e15, 123456789012345678}', 0],
      ['eval', 'return {tostring(1e15), tostring(1e16), tostring(123456789012345678), tostring(0.1 + 0.2)}', 0],
      ['eval', 'return tostring(tonumber("0x7fffffff") + 1)', 0],
      ['eval', 'return {tonumber("10", 16), tonumber("zz", 36), tonumber("8", 8) == nil}', 0],
      ['eval', 'local a = {} a[1.0] = "x" a[2] = "y" return {a[1], #a}', 0],
      ['eval', 'return math.type', 0],
      ['eval', 'return 3 // 2', 0],
    ],
  },
  {
    name: 'lua: more runtime error texts',
    steps: () => [
      ['eval', 'local t = {} t.x.y = 1', 0],
      ['eval', 'local s = "x" return s:nosuch()', 0],
      ['eval', 'return nil .. "x"', 0],
      ['eval', 'return {} < {}', 0],
      ['eval', 'return 1 < "x"', 0],
      ['eval', 'local f = nil f()', 0],
      ['eval', 'return math.floor("x")', 0],
      ['eval', 'return string.rep()', 0],
      ['eval', "return ('x'):bad()", 0],
      ['eval', 'return tostring()', 0],
      ['eval', 'return setmetatable(1, {})', 0],
      ['eval', 'local t = {} return t[nil]', 0],
      ['eval', 'local t = {} t[nil] = 1', 0],
      ['eval', "return redis.call('set', KEYS[1], true)", 1, 'k'],
    ],
  },
  // @upstash/ratelimit 2.2.0 scripts, shebang removed as the REST layer does
  {
    name: 'ratelimit fixed window: limit and remaining',
    steps: (k) => [
      ['eval', RL.fixedWindowLimitScript!, 1, k('fw'), 3, 60000, 1],
      ['eval', RL.fixedWindowLimitScript!, 1, k('fw'), 3, 60000, 1],
      ['eval', RL.fixedWindowLimitScript!, 1, k('fw'), 3, 60000, 5],
      ['exists', k('fw')],
      ['eval', RL.fixedWindowRemainingTokensScript!, 1, k('fw'), 3],
      ['eval', RL.fixedWindowRemainingTokensScript!, 1, k('none'), 3],
      ['set', k('dyn'), '10'],
      ['eval', RL.fixedWindowLimitScript!, 2, k('fw2'), k('dyn'), 3, 60000, 1],
      ['eval', RL.fixedWindowRemainingTokensScript!, 2, k('fw2'), k('dyn'), 3],
      ['eval', RL.fixedWindowLimitScript!, 2, k('fw2'), '', 3, 60000, -1],
    ],
  },
  {
    name: 'ratelimit sliding window: limit and remaining',
    steps: (k) => [
      ['set', k('prev'), '4'],
      ['eval', RL.slidingWindowLimitScript!, 2, k('cur'), k('prev'), 10, 1700000012345, 60000, 1],
      ['eval', RL.slidingWindowLimitScript!, 2, k('cur'), k('prev'), 10, 1700000012345, 60000, 3],
      ['exists', k('cur')],
      ['eval', RL.slidingWindowLimitScript!, 2, k('cur'), k('prev'), 5, 1700000012345, 60000, 3],
      ['eval', RL.slidingWindowLimitScript!, 2, k('cur'), k('prev'), 5, 1700000012345, 60000, -2],
      ['eval', RL.slidingWindowRemainingTokensScript!, 2, k('cur'), k('prev'), 10, 1700000012345, 60000],
      ['eval', RL.slidingWindowRemainingTokensScript!, 2, k('none1'), k('none2'), 10, 1700000059999, 60000],
      ['set', k('dyn'), '2'],
      ['eval', RL.slidingWindowLimitScript!, 3, k('c2'), k('p2'), k('dyn'), 10, 1700000000000, 1000, 1],
    ],
  },
];

// ------------------------------------------------------------------------------------------ runner

const realUrl = new URL(process.env.STANDINS_REDIS_URL || 'redis://127.0.0.1:6379');

/**
 * The oracle: STANDINS_REDIS_URL, else the machine's 127.0.0.1:6379, else a throwaway redis-server,
 * through the real backend of the stand-ins (its RESP2 client keeps reply types apart).
 */
async function connectOracle(): Promise<{ client: RedisBackend; server?: StartedServer }> {
  try {
    return { client: await createRealRedis(realUrl.toString()) };
  } catch (e) {
    if (process.env.STANDINS_REDIS_URL || findBinary('redis-server') === null) throw e;
  }
  const server = await startRedis();
  return { client: await createRealRedis(server.url), server };
}
const PREFIX = `emb-diff:${RUN}:`;

const one = async (backend: RedisBackend, argv: Buffer[]): Promise<Reply> =>
  (await backend.pipeline([argv]))[0] ?? null;

async function scanAll(send: (argv: Buffer[]) => Promise<Reply>, opts: Arg[]): Promise<Reply> {
  const keys: Reply[] = [];
  let cursor = '0';
  for (let i = 0; i < 100_000; i++) {
    const r = await send(toArgv(['scan', cursor, ...opts]));
    if (!Array.isArray(r)) return r;
    const [next, batch] = r as [Uint8Array, Reply[]];
    keys.push(...batch);
    cursor = Buffer.from(next).toString();
    if (cursor === '0') return keys;
  }
  throw new Error('SCAN did not terminate');
}

async function runSteps(
  steps: Step[],
  side: {
    one: (argv: Buffer[]) => Promise<Reply>;
    pipe: (cmds: Buffer[][]) => Promise<Reply[]>;
    tx: (cmds: Buffer[][]) => Promise<Reply[] | ReplyError>;
  },
): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const step of steps) {
    if (Array.isArray(step)) out.push(canon(await side.one(toArgv(step))));
    else if ('tx' in step) {
      const r = await side.tx(step.tx.map(toArgv));
      out.push(r instanceof ReplyError ? canon(r) : r.map(canon));
    } else if ('pipe' in step) out.push((await side.pipe(step.pipe.map(toArgv))).map(canon));
    else out.push((step.norm ?? sorted)(await scanAll(side.one, step.scanAll)));
  }
  return out;
}

describe('embedded Redis vs redis-server 7.0 (differential)', () => {
  let real: RedisBackend | undefined;
  let throwaway: StartedServer | undefined;
  let embedded: RedisBackend;
  let unreachable: Error | undefined;

  beforeAll(async () => {
    embedded = createEmbeddedRedis();
    try {
      ({ client: real, server: throwaway } = await connectOracle());
    } catch (e) {
      // Every case fails with this (rather than the suite being skipped): no oracle, no verdict.
      unreachable = new Error(`real Redis (the oracle of this differential test) is not reachable at ${realUrl.host}`, {
        cause: e,
      });
      return;
    }
    const info = await one(real, toArgv(['info', 'server']));
    const version = /redis_version:(\S+)/.exec(Buffer.from(info as Uint8Array).toString())?.[1];
    if (version === undefined || !version.startsWith('7.0.')) {
      unreachable = new Error(`the oracle must be redis-server 7.0.x, found ${version ?? 'unknown'}`);
    }
  });

  const oracle = (): RedisBackend => {
    if (unreachable !== undefined || real === undefined) throw unreachable ?? new Error('no oracle');
    return real;
  };

  afterAll(async () => {
    await embedded?.close();
    if (real === undefined) return;
    const server = real;
    const keys = (await scanAll((argv) => one(server, argv), ['MATCH', `${PREFIX}*`, 'COUNT', 1000])) as Uint8Array[];
    for (let i = 0; i < keys.length; i += 500)
      await one(server, [Buffer.from('del'), ...keys.slice(i, i + 500).map((k) => Buffer.from(k))]);
    await real.close();
    await throwaway?.stop();
  });

  it('has at least 300 differential steps over the commands edgetask sends', () => {
    const total = cases.reduce((n, c) => n + c.steps(() => 'k').length, 0);
    expect(cases.length).toBeGreaterThanOrEqual(25);
    expect(total).toBeGreaterThanOrEqual(300);
  });

  cases.forEach((c, index) => {
    it(c.name, async () => {
      const k = (suffix = ''): string => `${PREFIX}${index}:${suffix}`;
      const steps = c.steps(k);
      const server = oracle();
      const realOut = await runSteps(steps, {
        one: (argv) => one(server, argv),
        pipe: (cmds) => server.pipeline(cmds),
        tx: (cmds) => server.transaction(cmds),
      });
      const embeddedOut = await runSteps(steps, {
        one: (argv) => one(embedded, argv),
        pipe: (cmds) => embedded.pipeline(cmds),
        tx: (cmds) => embedded.transaction(cmds),
      });
      const labelled = (out: unknown[]): unknown[] =>
        out.map((r, i) => {
          const s = steps[i]!;
          const label = Array.isArray(s) ? s : 'tx' in s ? s.tx : 'pipe' in s ? s.pipe : s.scanAll;
          return {
            step: i,
            command: JSON.stringify(label, (_k, v: unknown) =>
              typeof v === 'string' && v.length > 80 ? `${v.slice(0, 80)}…` : v,
            ),
            reply: r,
          };
        });
      expect(labelled(embeddedOut)).toEqual(labelled(realOut));
    });
  });
});

// ------------------------------------------------------------------------ unit tests, injected clock

describe('embedded Redis with an injected clock', () => {
  const cmd = (...args: Arg[]): Command => toArgv(args);
  const one = async (r: RedisBackend, ...args: Arg[]): Promise<unknown> =>
    canon((await r.pipeline([cmd(...args)]))[0]!);

  it('expires lazily at expireAt + 1 ms, everywhere', async () => {
    let t = 1_000_000;
    const r = createEmbeddedRedis({ now: () => t });
    await one(r, 'set', 'a', '1', 'px', 100);
    await one(r, 'set', 'b', '2');
    t += 100;
    expect(await one(r, 'get', 'a')).toEqual({ bulk: '1' });
    t += 1;
    expect(await one(r, 'exists', 'a')).toEqual({ int: 0 });
    await one(r, 'set', 'c', '3', 'ex', 1);
    t += 1000;
    expect(await one(r, 'exists', 'c')).toEqual({ int: 1 });
    t += 1;
    expect(await one(r, 'scan', 0)).toEqual([{ bulk: '0' }, [{ bulk: 'b' }]]);
    expect(await one(r, 'get', 'c')).toBeNull();
  });

  it('keeps a TTL across INCR and INCRBY but not across SET; PEXPIRE sets one, 0 or less deletes', async () => {
    let t = 5_000;
    const r = createEmbeddedRedis({ now: () => t });
    await one(r, 'set', 'a', '1', 'px', 1500);
    await one(r, 'incr', 'a');
    await one(r, 'incrby', 'a', 5);
    t += 1500;
    expect(await one(r, 'get', 'a')).toEqual({ bulk: '7' });
    t += 1;
    expect(await one(r, 'exists', 'a')).toEqual({ int: 0 });
    await one(r, 'set', 'b', '1', 'ex', 1);
    await one(r, 'set', 'b', 'x');
    t += 5000;
    expect(await one(r, 'get', 'b')).toEqual({ bulk: 'x' });
    expect(await one(r, 'pexpire', 'b', 10)).toEqual({ int: 1 });
    t += 10;
    expect(await one(r, 'exists', 'b')).toEqual({ int: 1 });
    t += 1;
    expect(await one(r, 'exists', 'b')).toEqual({ int: 0 });
    await one(r, 'set', 'c', '1');
    expect(await one(r, 'pexpire', 'c', 0)).toEqual({ int: 1 });
    expect(await one(r, 'exists', 'c')).toEqual({ int: 0 });
  });

  it('expires ratelimit windows set from Lua with the injected clock', async () => {
    let t = 1_700_000_000_000;
    const r = createEmbeddedRedis({ now: () => t });
    const script = RL.fixedWindowLimitScript!;
    expect(await one(r, 'eval', script, 1, 'w', 2, 1000, 1)).toEqual([{ int: 1 }, { int: 2 }]);
    expect(await one(r, 'eval', script, 1, 'w', 2, 1000, 1)).toEqual([{ int: 2 }, { int: 2 }]);
    t += 1001;
    expect(await one(r, 'eval', script, 1, 'w', 2, 1000, 1)).toEqual([{ int: 1 }, { int: 2 }]);
    t += 1000;
    expect(await one(r, 'get', 'w')).toEqual({ bulk: '1' });
    t += 1;
    expect(await one(r, 'exists', 'w')).toEqual({ int: 0 });
  });

  it('SCAN returns every key present for the whole scan despite deletions, and ends with "0"', async () => {
    const r = createEmbeddedRedis({ now: () => 0 });
    for (let i = 0; i < 50; i++) await one(r, 'set', `k${i}`, i);
    const seen = new Set<string>();
    let cursor = '0';
    let rounds = 0;
    do {
      const [next, keys] = (await r.pipeline([cmd('scan', cursor, 'count', 7)]))[0] as [Buffer, Buffer[]];
      for (const key of keys) seen.add(key.toString());
      // Delete keys already returned and some not yet returned.
      await r.pipeline([cmd('del', ...keys), cmd('del', `k${49 - rounds}`)]);
      cursor = next.toString();
      rounds++;
    } while (cursor !== '0' && rounds < 100);
    expect(cursor).toBe('0');
    for (let i = 0; i < 50 - rounds; i++) expect(seen.has(`k${i}`)).toBe(true);
  });

  it('flushAll() empties the keyspace', async () => {
    const r = createEmbeddedRedis();
    await r.pipeline([cmd('set', 'a', 1), cmd('set', 'b', 2)]);
    await r.flushAll();
    expect(await one(r, 'exists', 'a', 'b')).toEqual({ int: 0 });
  });

  it('freezes the clock during a script, as Redis does', async () => {
    let t = 10_000;
    // Every reading of the clock moves it on by 1 ms: unfrozen, the key would be gone at once.
    const r = createEmbeddedRedis({ now: () => t++ });
    const script = "redis.call('set', 'a', 1, 'px', 1) return {redis.call('exists', 'a'), redis.call('exists', 'a')}";
    expect(await one(r, 'eval', script, 0)).toEqual([{ int: 1 }, { int: 1 }]);
  });

  it('keeps a transaction atomic against concurrent callers', async () => {
    const r = createEmbeddedRedis();
    const tx = r.transaction([cmd('set', 'x', 1), cmd('incr', 'x'), cmd('get', 'x')]);
    const other = r.pipeline([cmd('set', 'x', 100)]);
    const [txReply] = await Promise.all([tx, other]);
    expect(Array.isArray(txReply) && txReply.map(canon)).toEqual([{ status: 'OK' }, { int: 2 }, { bulk: '2' }]);
    expect(await one(r, 'get', 'x')).toEqual({ bulk: '100' });
    expect(canon((await r.transaction([cmd('set', 'y', 1), cmd('nosuch')])) as ReplyError)).toEqual({
      error: 'EXECABORT Transaction discarded because of previous errors.',
    });
    expect(await one(r, 'exists', 'y')).toEqual({ int: 0 });
  });

  it('isolates scripts: a global write cannot leak into the next script', async () => {
    const r = createEmbeddedRedis();
    expect(await one(r, 'eval', 'redis = nil', 0)).toMatchObject({
      error: expect.stringContaining('readonly') as unknown,
    });
    expect(await one(r, 'eval', "return redis.call('ping')", 0)).toEqual({ status: 'PONG' });
  });
});

describe('embedded Redis refuses what edgetask does not send', () => {
  const cmd = (...args: Arg[]): Command => toArgv(args);
  const one = async (r: RedisBackend, ...args: Arg[]): Promise<unknown> =>
    canon((await r.pipeline([cmd(...args)]))[0]!);
  const refused = (name: string, fromScript = false): string =>
    `ERR unknown command '${name}'${fromScript ? ' called from script' : ''} (the embedded engine implements only ` +
    'the commands edgetask sends; see dev/stand-ins/redis-embedded/README.md)';

  it('names the command, as sent, whether Redis has it or not', async () => {
    const r = createEmbeddedRedis();
    expect(await one(r, 'ZUNIONSTORE', 'd', 1, 'z')).toEqual({ error: refused('ZUNIONSTORE') });
    expect(await one(r, 'hset', 'h', 'f', 'v')).toEqual({ error: refused('hset') });
    expect(await one(r, 'incrbyfloat', 'n', '0.1')).toEqual({ error: refused('incrbyfloat') });
    expect(await one(r, 'nosuchcommand', 'a')).toEqual({ error: refused('nosuchcommand') });
    expect(await one(r, 'script', 'exists', sha1('return 1'))).toEqual({ error: refused('script exists') });
    expect(await one(r, 'multi')).toEqual({ error: refused('multi') });
    // Nothing ran: the refused HSET left no key behind.
    expect(await one(r, 'exists', 'h')).toEqual({ int: 0 });
  });

  it('refuses inside scripts and transactions too, and options of PEXPIRE', async () => {
    const r = createEmbeddedRedis();
    expect(await one(r, 'eval', "return redis.call('hgetall', KEYS[1])", 1, 'h')).toEqual({
      error: `${refused('hgetall', true)} script: ${sha1("return redis.call('hgetall', KEYS[1])")}, on @user_script:1.`,
    });
    expect(await one(r, 'eval', "return redis.pcall('lpush', 'l', 'x')['err']", 0)).toEqual({
      bulk: refused('lpush', true),
    });
    expect(canon((await r.transaction([cmd('set', 'y', 1), cmd('append', 'y', 'x')])) as ReplyError)).toEqual({
      error: 'EXECABORT Transaction discarded because of previous errors.',
    });
    await one(r, 'set', 'k', 'v');
    expect(await one(r, 'pexpire', 'k', 100, 'nx')).toEqual({
      error: "ERR the embedded engine implements PEXPIRE without options (got 'nx')",
    });
  });

  it('has no cjson in Lua', async () => {
    const r = createEmbeddedRedis();
    expect(await one(r, 'eval', 'return cjson.encode({})', 0)).toMatchObject({
      error: expect.stringContaining("Script attempted to access nonexistent global variable 'cjson'") as unknown,
    });
  });
});
