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
type Step = Arg[] | { cmd: Arg[]; norm: Norm } | { tx: Arg[][] } | { pipe: Arg[][] } | { scanAll: Arg[]; norm?: Norm };

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
/** A positive TTL no larger than `max` (the two servers' clocks cannot agree to the ms). */
const ttlWithin =
  (max: number): Norm =>
  (r) =>
    typeof r === 'number' && r > 0 && r <= max ? `ttl in (0, ${max}]` : canon(r);

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
  // connection and unknown commands
  { name: 'ping, echo', steps: () => [['ping'], ['PING', 'hi'], ['ping', 'a', 'b'], ['echo', 'x y'], ['echo']] },
  {
    name: 'unknown commands and arity',
    steps: () => [
      ['foo', 'a', 'b'],
      ['FOO'],
      ['nosuch', 'x'.repeat(100), 'y'.repeat(100), 'z'],
      ['get'],
      ['GET', 'a', 'b'],
      ['hset', 'h', 'f'],
      ['set', 'a'],
      ['script'],
      ['script', 'foo'],
      ['script', 'load'],
      ['lpop', 'l', '1', '2'],
    ],
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
      ['strlen', k('bin')],
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
      ['hset', k('h'), 'f', 'v'],
      ['set', k('h'), 'x', 'get'],
      ['type', k('h')],
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
      { cmd: ['ttl', k('a')], norm: ttlWithin(200) },
      ['set', k('b'), '1', 'px', 100000],
      { cmd: ['pttl', k('b')], norm: ttlWithin(100000) },
      ['set', k('b'), '2', 'keepttl'],
      { cmd: ['pttl', k('b')], norm: ttlWithin(100000) },
      ['set', k('b'), '3'],
      ['pttl', k('b')],
      ['set', k('c'), '1', 'pxat', 32503680000000],
      ['pexpiretime', k('c')],
      ['expiretime', k('c')],
      ['set', k('d'), '1', 'exat', 32503680000],
      ['pexpiretime', k('d')],
      ['set', k('e'), '1', 'pxat', 1000],
      ['exists', k('e')],
    ],
  },
  {
    name: 'setex, psetex, setnx, getset, getdel',
    steps: (k) => [
      ['setex', k('a'), 100, 'v'],
      { cmd: ['ttl', k('a')], norm: ttlWithin(100) },
      ['setex', k('a'), 0, 'v'],
      ['setex', k('a'), 'x', 'v'],
      ['psetex', k('b'), 0, 'v'],
      ['psetex', k('b'), 5000, 'v'],
      { cmd: ['pttl', k('b')], norm: ttlWithin(5000) },
      ['setnx', k('c'), '1'],
      ['setnx', k('c'), '2'],
      ['getset', k('c'), '3'],
      ['getset', k('new'), '3'],
      ['getdel', k('c')],
      ['getdel', k('c')],
      ['lpush', k('l'), 'x'],
      ['getdel', k('l')],
      ['getset', k('l'), 'x'],
    ],
  },
  {
    name: 'getex options',
    steps: (k) => [
      ['getex', k('missing'), 'ex', 10],
      ['set', k('a'), 'v'],
      ['getex', k('a')],
      ['getex', k('a'), 'px', 50000],
      { cmd: ['pttl', k('a')], norm: ttlWithin(50000) },
      ['getex', k('a'), 'persist'],
      ['pttl', k('a')],
      ['getex', k('a'), 'ex', 0],
      ['getex', k('a'), 'nx'],
      ['getex', k('a'), 'ex', 10, 'persist'],
      ['getex', k('a'), 'exat', 100],
      ['exists', k('a')],
      ['hset', k('h'), 'f', 'v'],
      ['getex', k('h')],
    ],
  },
  {
    name: 'mget, mset, msetnx',
    steps: (k) => [
      ['mset', k('a'), '1', k('b'), '2'],
      ['mget', k('a'), k('b'), k('c')],
      ['mset', k('a'), '1', k('b')],
      ['hset', k('h'), 'f', 'v'],
      ['mget', k('a'), k('h')],
      ['msetnx', k('c'), '3', k('a'), 'x'],
      ['msetnx', k('c'), '3', k('d'), '4'],
      ['mget', k('a'), k('c'), k('d')],
    ],
  },
  {
    name: 'incr family and integer parsing',
    steps: (k) => [
      ['incr', k('a')],
      ['incrby', k('a'), 41],
      ['decr', k('a')],
      ['decrby', k('a'), 10],
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
      ['decrby', k('c'), '-9223372036854775808'],
      ['set', k('d'), '-9223372036854775808'],
      ['decr', k('d')],
      ['set', k('e'), ' 5'],
      ['incr', k('e')],
      ['lpush', k('l'), 'x'],
      ['incr', k('l')],
    ],
  },
  {
    name: 'large integers: 2^40, 2^53 and beyond',
    steps: (k) => [
      ['incrby', k('n'), 2 ** 40],
      ['incrby', k('n'), 2 ** 53],
      ['incrby', k('n'), 2 ** 53],
      ['decrby', k('n'), '36028797018963968'],
      ['incrby', k('m'), '-9007199254740993'],
      ['get', k('n')],
    ],
  },
  {
    name: 'incrbyfloat (x87 long double arithmetic)',
    steps: (k) => [
      ['incrbyfloat', k('a'), '0.1'],
      ['incrbyfloat', k('a'), '0.2'],
      ['incrbyfloat', k('a'), '1e3'],
      ['incrbyfloat', k('a'), '-1000.3'],
      ['incrbyfloat', k('a'), 'abc'],
      ['incrbyfloat', k('a'), 'inf'],
      ['incrbyfloat', k('a'), ' 1'],
      ['incrbyfloat', k('a'), '1.5e-7'],
      ['set', k('b'), '10.5'],
      ['incrbyfloat', k('b'), '-0.5'],
      ['incrbyfloat', k('b'), '3.0000000000000000001'],
      ['set', k('c'), '1e20'],
      ['incrbyfloat', k('c'), '1'],
      ['set', k('d'), 'x'],
      ['incrbyfloat', k('d'), '1'],
      ['incrbyfloat', k('e'), '0x10'],
      ['incrbyfloat', k('f'), '-0.0'],
      ['incrbyfloat', k('g'), '1.23456789012345678901234567890'],
      ['incrbyfloat', k('g'), '1e-20'],
      ['set', k('h'), '5'],
      ['incrbyfloat', k('h'), '2'],
    ],
  },
  {
    name: 'append, strlen, getrange',
    steps: (k) => [
      ['append', k('a'), 'hello'],
      ['append', k('a'), ' world'],
      ['strlen', k('a')],
      ['strlen', k('none')],
      ['getrange', k('a'), 0, 4],
      ['getrange', k('a'), -5, -1],
      ['getrange', k('a'), 5, 2],
      ['getrange', k('a'), 0, 100],
      ['getrange', k('none'), 0, 1],
      ['getrange', k('a'), 'x', 1],
      ['hset', k('h'), 'f', 'v'],
      ['append', k('h'), 'x'],
      ['strlen', k('h')],
    ],
  },
  {
    name: 'incrbyfloat at the edges of long double',
    steps: (k) => [
      ['incrbyfloat', k('a'), '1e400'],
      ['incrbyfloat', k('a'), '-1e400'],
      ['incrbyfloat', k('b'), '0x1p-2'],
      ['incrbyfloat', k('c'), '1e-5000'],
      ['incrbyfloat', k('c'), '1e5000'],
      ['incrbyfloat', k('c'), '5e-324'],
      ['incrbyfloat', k('d'), '123456789.987654321'],
      ['incrbyfloat', k('d'), '-123456789'],
      ['set', k('e'), '1.7976931348623157e308'],
      ['incrbyfloat', k('e'), '1.7976931348623157e308'],
      ['incrbyfloat', k('f'), '-1e-18'],
      ['incrbyfloat', k('g'), '9223372036854775807'],
      ['incrbyfloat', k('g'), '1'],
    ],
  },
  {
    name: 'glob matching with bytes above 0x7f and odd patterns',
    steps: (k) => [
      [
        'mset',
        Buffer.from(k('\xe9')),
        '1',
        k('a'),
        '2',
        Buffer.concat([Buffer.from(k()), Buffer.from([0xc3, 0xa9])]),
        '3',
      ],
      { cmd: ['keys', Buffer.concat([Buffer.from(k('[a-')), Buffer.from([0xff]), Buffer.from(']*')])], norm: sorted },
      { cmd: ['keys', Buffer.concat([Buffer.from(k('[')), Buffer.from([0xc3]), Buffer.from('-a]*')])], norm: sorted },
      { cmd: ['keys', k('?')], norm: sorted },
      { cmd: ['keys', k('*?*')], norm: sorted },
      { cmd: ['keys', k('[]')], norm: sorted },
      { cmd: ['keys', k('[^]')], norm: sorted },
      { cmd: ['keys', k('\\')], norm: sorted },
      { cmd: ['keys', k('**a')], norm: sorted },
    ],
  },
  // keyspace
  {
    name: 'del, unlink, exists, type',
    steps: (k) => [
      ['mset', k('a'), '1', k('b'), '2'],
      ['hset', k('h'), 'f', 'v'],
      ['zadd', k('z'), 1, 'm'],
      ['sadd', k('s'), 'm'],
      ['rpush', k('l'), 'm'],
      ['exists', k('a'), k('a'), k('b'), k('none')],
      ['type', k('a')],
      ['type', k('h')],
      ['type', k('z')],
      ['type', k('s')],
      ['type', k('l')],
      ['type', k('none')],
      ['del', k('a'), k('a'), k('none')],
      ['unlink', k('b'), k('h')],
      ['exists', k('a'), k('b'), k('h')],
    ],
  },
  {
    name: 'expire family and options',
    steps: (k) => [
      ['expire', k('none'), 100],
      ['set', k('a'), 'v'],
      ['expire', k('a'), 100, 'xx'],
      ['expire', k('a'), 100, 'nx'],
      ['expire', k('a'), 200, 'nx'],
      ['expire', k('a'), 50, 'gt'],
      ['expire', k('a'), 300, 'gt'],
      ['expire', k('a'), 400, 'lt'],
      ['expire', k('a'), 200, 'LT'],
      { cmd: ['ttl', k('a')], norm: ttlWithin(200) },
      ['expire', k('a'), 10, 'foo'],
      ['expire', k('a'), 10, 'nx', 'xx'],
      ['expire', k('a'), 10, 'gt', 'lt'],
      ['expire', k('a'), 'abc', 'foo'],
      ['expire', k('a'), 'abc'],
      ['expire', k('a'), '9223372036854775807'],
      ['pexpire', k('a'), '9223372036854775807'],
      ['persist', k('a')],
      ['persist', k('a')],
      ['ttl', k('a')],
      ['expire', k('a'), 10, 'gt'],
      ['expire', k('a'), 10, 'lt'],
      { cmd: ['ttl', k('a')], norm: ttlWithin(10) },
      ['pexpireat', k('a'), 32503680000000],
      ['pexpiretime', k('a')],
      ['expireat', k('a'), 32503680000],
      ['expiretime', k('a')],
      ['expire', k('a'), -1],
      ['exists', k('a')],
      ['set', k('b'), 'v'],
      ['pexpireat', k('b'), 1000],
      ['exists', k('b')],
      ['ttl', k('none')],
      ['pttl', k('none')],
      ['expiretime', k('none')],
    ],
  },
  {
    name: 'keys with glob patterns',
    steps: (k) => [
      ['mset', k('a1'), '1', k('a2'), '2', k('b1'), '3', k('*'), '4', k('c[x]'), '5'],
      { cmd: ['keys', k('*')], norm: sorted },
      { cmd: ['keys', k('a?')], norm: sorted },
      { cmd: ['keys', k('[ab]1')], norm: sorted },
      { cmd: ['keys', k('[^a]*')], norm: sorted },
      { cmd: ['keys', k('[a-b]2')], norm: sorted },
      { cmd: ['keys', k('\\*')], norm: sorted },
      { cmd: ['keys', k('c\\[x]')], norm: sorted },
      { cmd: ['keys', k('[a')], norm: sorted },
      { cmd: ['keys', k('nothing*')], norm: sorted },
    ],
  },
  {
    name: 'scan: cursor protocol, MATCH, COUNT, TYPE, errors',
    steps: (k) => [
      ['mset', k('s1'), '1', k('s2'), '2', k('s3'), '3', k('s4'), '4'],
      ['hset', k('h1'), 'f', 'v'],
      ['zadd', k('z1'), 1, 'm'],
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
  // hashes
  {
    name: 'hash basics',
    steps: (k) => [
      ['hset', k('h'), 'f1', 'v1', 'f2', 'v2'],
      ['hset', k('h'), 'f2', 'v2b', 'f3', 'v3'],
      ['hset', k('h'), 'f1'],
      ['hset', k('h'), 'f1', 'a', 'f2'],
      ['hget', k('h'), 'f2'],
      ['hget', k('h'), 'nope'],
      ['hget', k('none'), 'f'],
      ['hmget', k('h'), 'f3', 'nope', 'f1'],
      ['hmget', k('none'), 'a', 'b'],
      ['hgetall', k('h')],
      ['hgetall', k('none')],
      ['hkeys', k('h')],
      ['hvals', k('h')],
      ['hlen', k('h')],
      ['hexists', k('h'), 'f1'],
      ['hexists', k('h'), 'zz'],
      ['hstrlen', k('h'), 'f2'],
      ['hsetnx', k('h'), 'f1', 'x'],
      ['hsetnx', k('h'), 'f9', 'x'],
      ['hmset', k('h'), 'f10', 'y'],
      ['hdel', k('h'), 'f1', 'f1', 'nope'],
      ['hdel', k('h'), 'f2', 'f3', 'f9', 'f10'],
      ['exists', k('h')],
      ['hdel', k('none'), 'f'],
    ],
  },
  {
    name: 'hincrby and hincrbyfloat',
    steps: (k) => [
      ['hincrby', k('h'), 'n', 5],
      ['hincrby', k('h'), 'n', -7],
      ['hincrby', k('h'), 'n', 'x'],
      ['hset', k('h'), 's', 'abc', 'big', '9223372036854775807'],
      ['hincrby', k('h'), 's', 1],
      ['hincrby', k('h'), 'big', 1],
      ['hincrbyfloat', k('h'), 'f', '0.1'],
      ['hincrbyfloat', k('h'), 'f', '0.2'],
      ['hincrbyfloat', k('h'), 'n', '1.5'],
      ['hincrbyfloat', k('h'), 's', '1'],
      ['hincrbyfloat', k('h'), 'f', 'inf'],
      ['hincrbyfloat', k('h'), 'f', 'x'],
      ['hgetall', k('h')],
    ],
  },
  {
    name: 'WRONGTYPE across types',
    steps: (k) => [
      ['set', k('s'), 'v'],
      ['rpush', k('l'), 'v'],
      ['hget', k('s'), 'f'],
      ['hset', k('l'), 'f', 'v'],
      ['zadd', k('s'), 1, 'm'],
      ['zscore', k('l'), 'm'],
      ['sadd', k('l'), 'm'],
      ['smembers', k('s')],
      ['lpush', k('s'), 'x'],
      ['lrange', k('s'), 0, -1],
      ['get', k('l')],
      ['zrange', k('s'), 0, -1],
      ['hgetall', k('s')],
      ['scard', k('s')],
    ],
  },
  // sorted sets
  {
    name: 'zadd flags and errors',
    steps: (k) => [
      ['zadd', k('z'), 1, 'a', 2, 'b', 3, 'c'],
      ['zadd', k('z'), 'ch', 5, 'a', 2, 'b', 9, 'd'],
      ['zadd', k('z'), 'nx', 100, 'a', 7, 'e'],
      ['zadd', k('z'), 'xx', 100, 'a', 8, 'f'],
      ['zadd', k('z'), 'xx', 'ch', 'gt', 1, 'a', 200, 'b'],
      ['zadd', k('z'), 'lt', 'ch', 50, 'a', 300, 'b'],
      ['zadd', k('z'), 'nx', 'xx', 1, 'a'],
      ['zadd', k('z'), 'gt', 'nx', 1, 'a'],
      ['zadd', k('z'), 'gt', 'lt', 1, 'a'],
      ['zadd', k('z'), 'incr', 1, 'a', 2, 'b'],
      ['zadd', k('z'), 1, 'a', 2],
      ['zadd', k('z'), 'abc', 'a'],
      ['zadd', k('z'), 'nan', 'a'],
      ['zadd', k('z'), 'incr', 5, 'a'],
      ['zadd', k('z'), 'incr', 'nx', 5, 'a'],
      ['zadd', k('z'), 'incr', 'xx', 5, 'zz'],
      ['zadd', k('z2'), 'xx', 1, 'a'],
      ['exists', k('z2')],
      ['zadd', k('z'), 'inf', 'i', '-inf', 'ni', '+inf', 'pi'],
      ['zrange', k('z'), 0, -1, 'withscores'],
    ],
  },
  {
    name: 'zincrby, zscore, zmscore, zrem, zcard, score formatting',
    steps: (k) => [
      ['zincrby', k('z'), '0.1', 'm'],
      ['zincrby', k('z'), '0.2', 'm'],
      ['zscore', k('z'), 'm'],
      ['zincrby', k('z'), 'abc', 'm'],
      ['zincrby', k('z'), 'inf', 'x'],
      ['zincrby', k('z'), '-inf', 'x'],
      ['zadd', k('z'), '1e20', 'big', '1.5e-7', 'small', '123456789.123456789', 'mid', '-0', 'negz'],
      ['zmscore', k('z'), 'big', 'nope', 'small', 'mid', 'negz'],
      ['zscore', k('z'), 'nope'],
      ['zscore', k('none'), 'm'],
      ['zcard', k('z')],
      ['zrem', k('z'), 'big', 'nope', 'big'],
      ['zcard', k('z')],
      ['zrem', k('z'), 'm', 'x', 'small', 'mid', 'negz'],
      ['exists', k('z')],
      ['zincrby', k('analytics'), 1, 'success'],
      ['zincrby', k('analytics'), 1, 'success'],
      ['zincrby', k('analytics'), 1, 'blocked'],
      ['zrange', k('analytics'), 0, -1, 'WITHSCORES'],
    ],
  },
  {
    name: 'zrange by rank, score, lex; legacy forms; ranks and counts',
    steps: (k) => [
      ['zadd', k('z'), 1, 'a', 1, 'b', 2, 'c', 3, 'd', 3, 'e', 5, 'f'],
      ['zrange', k('z'), 0, -1],
      ['zrange', k('z'), -2, -1, 'withscores'],
      ['zrange', k('z'), 1, 3, 'rev'],
      ['zrange', k('z'), 5, 1],
      ['zrange', k('z'), 0, 100],
      ['zrange', k('z'), 'x', 1],
      ['zrange', k('z'), 1, 3, 'byscore'],
      ['zrange', k('z'), '(1', '(5', 'byscore', 'withscores'],
      ['zrange', k('z'), '-inf', '+inf', 'byscore', 'limit', 1, 2],
      ['zrange', k('z'), '+inf', '-inf', 'byscore', 'rev', 'limit', 0, 3],
      ['zrange', k('z'), 'abc', 3, 'byscore'],
      ['zrange', k('z'), 0, -1, 'limit', 0, 1],
      ['zrange', k('z'), '[b', '(e', 'bylex'],
      ['zrange', k('z'), '-', '+', 'bylex', 'limit', 2, 2],
      ['zrange', k('z'), 'b', 'e', 'bylex'],
      ['zrange', k('z'), '-', '+', 'bylex', 'withscores'],
      ['zrange', k('z'), 0, -1, 'foo'],
      ['zrevrange', k('z'), 0, 2, 'withscores'],
      ['zrangebyscore', k('z'), 1, 3, 'withscores', 'limit', 1, 10],
      ['zrangebyscore', k('z'), '-inf', '+inf', 'limit', -1, 5],
      ['zrevrangebyscore', k('z'), 3, 1],
      ['zcount', k('z'), 1, 3],
      ['zcount', k('z'), '(1', '+inf'],
      ['zrank', k('z'), 'c'],
      ['zrevrank', k('z'), 'c'],
      ['zrank', k('z'), 'nope'],
      ['zrange', k('none'), 0, -1],
    ],
  },
  // sets
  {
    name: 'sets: intset order, members, cardinality',
    steps: (k) => [
      ['sadd', k('i'), 10, 3, -5, 3, 100],
      ['smembers', k('i')],
      ['sadd', k('s'), 'b', 'a', 'c', 'a'],
      { cmd: ['smembers', k('s')], norm: sorted },
      ['sismember', k('s'), 'a'],
      ['sismember', k('s'), 'z'],
      ['smismember', k('s'), 'a', 'z', 'c'],
      ['scard', k('s')],
      ['srem', k('s'), 'a', 'z'],
      ['srem', k('s'), 'b', 'c'],
      ['exists', k('s')],
      ['smembers', k('none')],
      ['scard', k('none')],
    ],
  },
  // lists
  {
    name: 'lists: push, pop with counts, range, index',
    steps: (k) => [
      ['rpush', k('l'), 'a', 'b', 'c'],
      ['lpush', k('l'), 'x', 'y'],
      ['lrange', k('l'), 0, -1],
      ['lrange', k('l'), -2, 100],
      ['lrange', k('l'), 3, 1],
      ['lrange', k('l'), 'a', 1],
      ['llen', k('l')],
      ['lindex', k('l'), 1],
      ['lindex', k('l'), -1],
      ['lindex', k('l'), 99],
      ['lindex', k('none'), 'x'],
      ['lpop', k('l')],
      ['rpop', k('l')],
      ['lpop', k('l'), 2],
      ['lpop', k('l'), 0],
      ['lpop', k('l'), -1],
      ['lpop', k('l'), 'x'],
      ['rpop', k('l'), 5],
      ['exists', k('l')],
      ['lpop', k('l')],
      ['lpop', k('l'), 2],
      ['lpop', k('l'), 0],
    ],
  },
  {
    name: 'zremrange*, zpop*, zrangebylex',
    steps: (k) => [
      ['zadd', k('z'), 1, 'a', 2, 'b', 3, 'c', 4, 'd', 5, 'e', 6, 'f'],
      ['zremrangebyrank', k('z'), 0, 0],
      ['zremrangebyrank', k('z'), -1, -1],
      ['zremrangebyrank', k('z'), 5, 1],
      ['zremrangebyrank', k('z'), 'x', 1],
      ['zremrangebyscore', k('z'), '(2', 3],
      ['zremrangebyscore', k('z'), 'a', 3],
      ['zrange', k('z'), 0, -1, 'withscores'],
      ['zadd', k('l'), 0, 'a', 0, 'b', 0, 'c', 0, 'd'],
      ['zrangebylex', k('l'), '[b', '+'],
      ['zrangebylex', k('l'), '-', '(c', 'limit', 1, 1],
      ['zremrangebylex', k('l'), '[a', '(c'],
      ['zremrangebylex', k('l'), 'a', 'c'],
      ['zpopmin', k('l')],
      ['zpopmax', k('z'), 5],
      ['zpopmin', k('z'), 0],
      ['zpopmin', k('z'), -1],
      ['zpopmin', k('none')],
      ['zpopmin', k('none'), 2],
      ['exists', k('z')],
      ['zremrangebyrank', k('none'), 0, -1],
    ],
  },
  {
    name: 'ltrim, lrem, lset, rename, renamenx, setrange',
    steps: (k) => [
      ['rpush', k('l'), 'a', 'b', 'a', 'c', 'a', 'd'],
      ['lrem', k('l'), -2, 'a'],
      ['lrem', k('l'), 0, 'zz'],
      ['lrange', k('l'), 0, -1],
      ['lset', k('l'), 1, 'B'],
      ['lset', k('l'), 10, 'x'],
      ['lset', k('none'), 0, 'x'],
      ['lset', k('l'), 'x', 'y'],
      ['ltrim', k('l'), 1, -2],
      ['lrange', k('l'), 0, -1],
      ['ltrim', k('l'), 5, 1],
      ['exists', k('l')],
      ['ltrim', k('none'), 0, 1],
      ['lrem', k('none'), 1, 'x'],
      ['set', k('a'), 'v', 'px', 100000],
      ['rename', k('a'), k('b')],
      { cmd: ['pttl', k('b')], norm: ttlWithin(100000) },
      ['rename', k('a'), k('b')],
      ['rename', k('b'), k('b')],
      ['set', k('c'), 'x'],
      ['renamenx', k('b'), k('c')],
      ['renamenx', k('b'), k('d')],
      ['mget', k('b'), k('c'), k('d')],
      ['setrange', k('s'), 3, 'abc'],
      ['get', k('s')],
      ['setrange', k('s'), 1, 'XY'],
      ['setrange', k('s'), 0, ''],
      ['setrange', k('none'), 5, ''],
      ['setrange', k('s'), -1, 'x'],
      ['setrange', k('s'), 536870912, 'x'],
      ['exists', k('none')],
    ],
  },
  // transactions and pipelines
  {
    name: 'multi-exec',
    steps: (k) => [
      {
        tx: [
          ['set', k('m'), 'a'],
          ['append', k('m'), 'bc'],
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
          ['hget', k('m'), 'f'],
        ],
      },
    ],
  },
  {
    name: 'EXECABORT on unknown command, arity and unknown subcommand',
    steps: (k) => [
      { tx: [['set', k('m'), 'a'], ['get']] },
      {
        tx: [
          ['set', k('m'), 'a'],
          ['nosuchcmd', 'x'],
        ],
      },
      {
        tx: [
          ['set', k('m'), 'a'],
          ['script', 'nope'],
        ],
      },
      ['get', k('m')],
    ],
  },
  {
    name: 'MULTI/EXEC/DISCARD inside one pipeline',
    steps: (k) => [
      {
        pipe: [
          ['multi'],
          ['set', k('a'), '1'],
          ['incr', k('a')],
          ['exec'],
          ['multi'],
          ['set', k('a'), '5'],
          ['discard'],
          ['get', k('a')],
          ['exec'],
          ['discard'],
          ['multi'],
          ['get'],
          ['exec'],
        ],
      },
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
      ['hset', k('h'), 'f', 'v'],
      [
        'eval',
        "local r = redis.call('hmget', KEYS[1], 'f', 'nope') return {type(r), r[1], type(r[2]), tostring(r[2])}",
        1,
        k('h'),
      ],
      ['eval', "local r = redis.call('get', KEYS[1]) return type(r) .. tostring(r)", 1, k('none')],
      ['eval', "local r = redis.call('ping') return {type(r), r.ok}", 0],
      ['eval', "return redis.call('ping')", 0],
      ['eval', "return {redis.call('ping')}", 0],
      ['eval', "local r = redis.call('incr', KEYS[1]) return {type(r), r + 0.5}", 1, k('n')],
      ['eval', "local r = redis.call('set', KEYS[1], 'v') return type(r) .. r.ok", 1, k('s')],
      ['eval', "local r = redis.call('zincrby', KEYS[1], 1.5, 'm') return {type(r), r}", 1, k('z')],
      ['eval', "local r = redis.call('lpop', KEYS[1]) return r", 1, k('none')],
      ['eval', "local r = redis.call('lrange', KEYS[1], 0, -1) return {type(r), #r}", 1, k('none')],
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
      ['eval', "\n\nreturn redis.call('hget', KEYS[1], 'f')", 1, k('s')],
      ['eval', "return redis.pcall('nosuch')", 0],
      ['eval', "return redis.call('nosuch')", 0],
      ['eval', "return redis.pcall('get')", 0],
      ['eval', "return redis.call('get')", 0],
      ['eval', 'return redis.call()', 0],
      ['eval', "return redis.call('get', {})", 0],
      ['eval', "return redis.call('get', nil)", 0],
      ['eval', "return redis.call('eval', 'return 1', 0)", 0],
      ['eval', "return redis.call('script', 'load', 'return 1')", 0],
      ['eval', "return redis.call('script', 'nope')", 0],
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
        ['script', 'exists', neverLoaded, sha1(body)],
        ['script', 'load', body],
        ['script', 'exists', neverLoaded, sha1(body), sha1(body).toUpperCase()],
        ['evalsha', sha1(body), 0],
        ['evalsha', sha1(body).toUpperCase(), 0],
        ['eval', `return 'by eval ${RUN}'`, 0],
        ['evalsha', sha1(`return 'by eval ${RUN}'`), 0],
        ['script', 'load', 'return +'],
        ['script', 'flush', 'bogus'],
        ['script', 'exists'],
      ];
    },
  },
  {
    name: 'script shebangs and read-only scripts',
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
      ['eval', "#!lua\nreturn redis.call('hget', KEYS[1])", 1, k('a')],
      ['eval_ro', "return redis.call('set', KEYS[1], '1')", 1, k('a')],
      ['eval_ro', "return redis.call('get', KEYS[1])", 1, k('a')],
      ['eval_ro', '#!lua\nreturn 1', 0],
      ['eval_ro', '#!lua flags=no-writes\nreturn 1', 0],
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
  {
    name: 'lua: cjson encode and decode',
    steps: () => [
      [
        'eval',
        "return cjson.encode({'a/b', 'q\"', 'tab\t', string.char(1), string.char(127), string.char(200), 1.5, 1/3, 10, true, false})",
        0,
      ],
      ['eval', 'return cjson.encode({x = {1, 2, {y = cjson.null}}})', 0],
      [
        'eval',
        'return {cjson.encode({}), cjson.encode({[1] = 1, [3] = 3}), cjson.encode({[1.5] = 1}), cjson.encode(cjson.null), cjson.encode(nil)}',
        0,
      ],
      ['eval', 'return cjson.encode({[1] = 1, [30] = 3})', 0],
      ['eval', 'return cjson.encode(0/0)', 0],
      ['eval', 'return cjson.encode({[true] = 1})', 0],
      ['eval', 'return cjson.encode()', 0],
      ['eval', 'return cjson.encode({1e100, -0.0, 2^53, 123456789012345})', 0],
      ['eval', 'return cjson.encode(string.char(0))', 0],
      ['eval', 'return cjson.encode(redis.call)', 0],
      [
        'eval',
        'local t = cjson.decode(ARGV[1]) return {t[1], tostring(t[2]), t[3], type(t[4]), tostring(t[5]), type(t[6].a), t[4] == cjson.null}',
        0,
        '[1, 2.5, "x\\u00e9", null, true, {"a": [ ]}]',
      ],
      [
        'eval',
        'local t = cjson.decode(ARGV[1]) return {t.name, t.tags[2], tostring(t.n)}',
        0,
        '{"name":"x","tags":["a","b"],"n":-1.5e3}',
      ],
      ['eval', 'return cjson.decode(ARGV[1])', 0, '{'],
      ['eval', 'return cjson.decode(ARGV[1])', 0, '[1,]'],
      ['eval', 'return cjson.decode(ARGV[1])', 0, 'tru'],
      ['eval', 'return cjson.decode(ARGV[1])', 0, '1 2'],
      ['eval', 'return cjson.decode(ARGV[1])', 0, '"abc'],
      ['eval', 'return cjson.decode(ARGV[1])', 0, ''],
      ['eval', 'return cjson.decode(ARGV[1])', 0, '{"a" 1}'],
      ['eval', 'return cjson.decode(ARGV[1])', 0, '-'],
      ['eval', 'return cjson.decode(ARGV[1])', 0, '[1e400]'],
      ['eval', 'return cjson.decode(ARGV[1])', 0, '"\\q"'],
      ['eval', 'return cjson.decode(ARGV[1])', 0, '["\\ud83d\\ude00", "\\ud83d"]'],
      ['eval', 'return cjson.decode(5)', 0],
      ['eval', "return tostring(cjson.decode('123456789012'))", 0],
      ['eval', 'cjson.foo = 1', 0],
    ],
  },
  // @upstash/ratelimit 2.2.0 scripts, shebang removed as the REST layer does
  {
    name: 'ratelimit fixed window: limit and remaining',
    steps: (k) => [
      ['eval', RL.fixedWindowLimitScript!, 1, k('fw'), 3, 60000, 1],
      ['eval', RL.fixedWindowLimitScript!, 1, k('fw'), 3, 60000, 1],
      ['eval', RL.fixedWindowLimitScript!, 1, k('fw'), 3, 60000, 5],
      { cmd: ['pttl', k('fw')], norm: ttlWithin(60000) },
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
      { cmd: ['pttl', k('cur')], norm: ttlWithin(121000) },
      ['eval', RL.slidingWindowLimitScript!, 2, k('cur'), k('prev'), 5, 1700000012345, 60000, 3],
      ['eval', RL.slidingWindowLimitScript!, 2, k('cur'), k('prev'), 5, 1700000012345, 60000, -2],
      ['eval', RL.slidingWindowRemainingTokensScript!, 2, k('cur'), k('prev'), 10, 1700000012345, 60000],
      ['eval', RL.slidingWindowRemainingTokensScript!, 2, k('none1'), k('none2'), 10, 1700000059999, 60000],
      ['set', k('dyn'), '2'],
      ['eval', RL.slidingWindowLimitScript!, 3, k('c2'), k('p2'), k('dyn'), 10, 1700000000000, 1000, 1],
    ],
  },
  {
    name: 'ratelimit token bucket: limit, refill and remaining',
    steps: (k) => [
      ['eval', RL.tokenBucketLimitScript!, 1, k('tb'), 5, 1000, 2, 1700000000000, 1],
      ['eval', RL.tokenBucketLimitScript!, 1, k('tb'), 5, 1000, 2, 1700000000100, 3],
      ['eval', RL.tokenBucketLimitScript!, 1, k('tb'), 5, 1000, 2, 1700000000200, 3],
      ['hgetall', k('tb')],
      { cmd: ['pttl', k('tb')], norm: ttlWithin(3000) },
      ['eval', RL.tokenBucketLimitScript!, 1, k('tb'), 5, 1000, 2, 1700000002500, 2],
      ['eval', RL.tokenBucketLimitScript!, 1, k('tb'), 5, 1000, 2, 1700086400000, 1],
      ['eval', RL.tokenBucketRemainingTokensScript!, 1, k('tb'), 5],
      ['eval', RL.tokenBucketRemainingTokensScript!, 1, k('none'), 5],
      ['hset', k('old'), 'refilledAt', 1000, 'tokens', 0],
      ['eval', RL.tokenBucketLimitScript!, 1, k('old'), 5, 1000, 1, 1700000000000, 1],
    ],
  },
  {
    name: 'ratelimit cached fixed window and multi-region scripts',
    steps: (k) => [
      ['eval', RL.cachedFixedWindowLimitScript!, 1, k('c'), 60000, 1],
      ['eval', RL.cachedFixedWindowLimitScript!, 1, k('c'), 60000, 1],
      ['eval', RL.cachedFixedWindowRemainingTokenScript!, 1, k('c')],
      ['eval', RL.cachedFixedWindowRemainingTokenScript!, 1, k('none')],
      ['eval', RL.fixedWindowLimitScript2!, 1, k('mr'), 'req-1', 60000, 1],
      ['eval', RL.fixedWindowLimitScript2!, 1, k('mr'), 'req-2', 60000, 2],
      ['eval', RL.fixedWindowRemainingTokensScript2!, 1, k('mr')],
      ['eval', RL.slidingWindowLimitScript2!, 2, k('sc'), k('sp'), 5, 1700000030000, 60000, 'r1', 2],
      ['eval', RL.slidingWindowLimitScript2!, 2, k('sc'), k('sp'), 5, 1700000030000, 60000, 'r2', 4],
      ['eval', RL.slidingWindowRemainingTokensScript2!, 2, k('sc'), k('sp'), 1700000030000, 60000],
    ],
  },
  {
    name: 'ratelimit reset (SCAN + DEL) and deny list scripts',
    steps: (k) => [
      ['mset', k('id:1'), '1', k('id:2'), '2', k('other'), '3'],
      ['eval', RL.resetScript!, 1, k('id:*'), 'null'],
      { cmd: ['keys', k('*')], norm: sorted },
      ['sadd', k('deny'), 'ip1', 'ip2'],
      ['eval', RL.checkDenyListScript!, 2, k('deny'), k('status'), 'ip1', 'ip3'],
      { cmd: ['ttl', k('status')], norm: ttlWithin(30) },
      ['eval', RL.checkDenyListScript!, 2, k('deny'), k('status'), 'ip2'],
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
    else if ('cmd' in step) out.push(step.norm(await side.one(toArgv(step.cmd))));
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

  it('has at least 60 differential cases worth of commands', () => {
    const total = cases.reduce((n, c) => n + c.steps(() => 'k').length, 0);
    expect(cases.length).toBeGreaterThanOrEqual(40);
    expect(total).toBeGreaterThanOrEqual(60);
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
          const label = Array.isArray(s) ? s : 'cmd' in s ? s.cmd : 'tx' in s ? s.tx : 'pipe' in s ? s.pipe : s.scanAll;
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
    expect(await one(r, 'pttl', 'a')).toEqual({ int: 100 });
    t += 100;
    expect(await one(r, 'pttl', 'a')).toEqual({ int: 0 });
    expect(await one(r, 'get', 'a')).toEqual({ bulk: '1' });
    t += 1;
    expect(await one(r, 'exists', 'a')).toEqual({ int: 0 });
    await one(r, 'set', 'c', '3', 'ex', 1);
    t += 1001;
    expect(await one(r, 'dbsize')).toEqual({ int: 1 });
    expect(await one(r, 'keys', '*')).toEqual([{ bulk: 'b' }]);
    expect(await one(r, 'scan', 0)).toEqual([{ bulk: '0' }, [{ bulk: 'b' }]]);
    expect(await one(r, 'get', 'c')).toBeNull();
    expect(await one(r, 'ttl', 'c')).toEqual({ int: -2 });
  });

  it('rounds TTL like Redis and keeps TTLs across INCR/APPEND but not SET', async () => {
    let t = 5_000;
    const r = createEmbeddedRedis({ now: () => t });
    await one(r, 'set', 'a', '1', 'px', 1500);
    expect(await one(r, 'ttl', 'a')).toEqual({ int: 2 });
    t += 1;
    expect(await one(r, 'ttl', 'a')).toEqual({ int: 1 });
    await one(r, 'incr', 'a');
    await one(r, 'append', 'a', '0');
    expect(await one(r, 'pttl', 'a')).toEqual({ int: 1499 });
    await one(r, 'set', 'a', 'x');
    expect(await one(r, 'pttl', 'a')).toEqual({ int: -1 });
    await one(r, 'pexpireat', 'a', t);
    expect(await one(r, 'exists', 'a')).toEqual({ int: 0 });
  });

  it('expires ratelimit windows set from Lua with the injected clock', async () => {
    let t = 1_700_000_000_000;
    const r = createEmbeddedRedis({ now: () => t });
    const script = RL.fixedWindowLimitScript!;
    expect(await one(r, 'eval', script, 1, 'w', 2, 1000, 1)).toEqual([{ int: 1 }, { int: 2 }]);
    expect(await one(r, 'eval', script, 1, 'w', 2, 1000, 1)).toEqual([{ int: 2 }, { int: 2 }]);
    t += 1001;
    expect(await one(r, 'eval', script, 1, 'w', 2, 1000, 1)).toEqual([{ int: 1 }, { int: 2 }]);
    expect(await one(r, 'pttl', 'w')).toEqual({ int: 1000 });
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

  it('TIME, DBSIZE, FLUSHDB, FLUSHALL and flushAll() follow the injected clock and keyspace', async () => {
    const r = createEmbeddedRedis({ now: () => 1_700_000_000_123 });
    expect(await one(r, 'time')).toEqual([{ bulk: '1700000000' }, { bulk: '123000' }]);
    await one(r, 'mset', 'a', 1, 'b', 2);
    expect(await one(r, 'dbsize')).toEqual({ int: 2 });
    expect(await one(r, 'flushdb', 'bogus')).toEqual({ error: 'ERR syntax error' });
    expect(await one(r, 'flushdb', 'async')).toEqual({ status: 'OK' });
    expect(await one(r, 'dbsize')).toEqual({ int: 0 });
    await one(r, 'set', 'a', 1);
    expect(await one(r, 'flushall')).toEqual({ status: 'OK' });
    await one(r, 'set', 'a', 1);
    await r.flushAll();
    expect(await one(r, 'dbsize')).toEqual({ int: 0 });
  });

  it('freezes the clock during a script, as Redis does', async () => {
    let t = 10_000;
    const r = createEmbeddedRedis({ now: () => t++ });
    const reply = await one(
      r,
      'eval',
      "redis.call('set', 'a', 1, 'px', 1) return {redis.call('pttl', 'a'), redis.call('pttl', 'a')}",
      0,
    );
    expect(reply).toEqual([{ int: 1 }, { int: 1 }]);
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

  it('isolates scripts: SCRIPT FLUSH drops cached scripts and a runaway global write cannot leak', async () => {
    const r = createEmbeddedRedis();
    await one(r, 'script', 'load', 'return 1');
    expect(await one(r, 'script', 'exists', sha1('return 1'))).toEqual([{ int: 1 }]);
    expect(await one(r, 'script', 'flush')).toEqual({ status: 'OK' });
    expect(await one(r, 'script', 'exists', sha1('return 1'))).toEqual([{ int: 0 }]);
    expect(await one(r, 'eval', 'redis = nil', 0)).toMatchObject({
      error: expect.stringContaining('readonly') as unknown,
    });
    expect(await one(r, 'eval', "return redis.call('ping')", 0)).toEqual({ status: 'PONG' });
  });
});
