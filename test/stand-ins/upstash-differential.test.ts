import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StandIns } from '../../dev/stand-ins/server.ts';
import { availableBackends, startForTest, TOKEN, uniqueName } from './helpers.ts';

/**
 * The same raw REST requests, in the same order, to the real backend (redis-server) and the
 * embedded one (our engine): every status and body must be identical. This is what lets a
 * machine without Redis trust the embedded engine.
 */

interface Case {
  name: string;
  path?: string;
  body: unknown;
  encoding?: 'base64' | 'none';
}

const RATELIMIT_STYLE = `#!lua flags=allow-key-locking
local key = KEYS[1]
local window = ARGV[1]
local incrementBy = ARGV[2]
local r = redis.call("INCRBY", key, incrementBy)
if r == tonumber(incrementBy) then
  redis.call("PEXPIRE", key, window)
end
return r`;

// allow-key-locking: the stand-in's rewriter makes both engines refuse what Upstash refuses (a key
// not in KEYS, a database-wide command); they must refuse it in the same words.
const KEYLOCK_ONLY_KEYS = `#!lua flags=allow-key-locking
redis.call('SET', KEYS[1], ARGV[1])
local n = redis.call('INCRBY', string.format('%s', KEYS[2]), 5)
return {redis.call('GET', KEYS[1]), n, redis.call('EXISTS', KEYS[1], KEYS[2], KEYS[1])}`;
const KEYLOCK_UNDECLARED = `#!lua flags=allow-key-locking
local mine = redis.call('GET', KEYS[1])
return redis.call('SET', ARGV[1], 'x')`;
const KEYLOCK_PCALL = `#!lua flags=allow-key-locking
local r = redis.pcall('DEL', KEYS[1], ARGV[1])
return {type(r), r['err'], redis.pcall('GET', KEYS[1])}`;
const KEYLOCK_LUA_PCALL = `#!lua flags=allow-key-locking
local ok, e = pcall(redis.call, 'GET', ARGV[1])
return {tostring(ok), e}`;
const KEYLOCK_KEPT_FLAG = `#!lua flags=no-writes,allow-key-locking
local v = redis.call('GET', KEYS[1])
if ARGV[1] == 'write' then return redis.call('SET', KEYS[1], 'y') end
return {v, redis.call('GET', ARGV[1])}`;

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/** FLUSHDB is sent only to a redis-server of our own: were the check missing, it would empty a shared one. */
const ownRedis = !process.env.STANDINS_REDIS_URL;

function keyLockingCases(p: string): Case[] {
  const flushdb: Case[] = ownRedis
    ? [
        {
          name: 'key-locking FLUSHDB refused',
          body: ['eval', "#!lua flags=allow-key-locking\nreturn redis.call('FLUSHDB')", 1, `${p}ka`],
        },
      ]
    : [];
  return [
    { name: 'key-locking only KEYS', body: ['eval', KEYLOCK_ONLY_KEYS, 2, `${p}ka`, `${p}kb`, 'v'] },
    { name: 'key-locking evalsha', body: ['evalsha', sha1(KEYLOCK_ONLY_KEYS), 2, `${p}ka`, `${p}kb`, 'w'] },
    { name: 'key-locking undeclared key', body: ['eval', KEYLOCK_UNDECLARED, 1, `${p}ka`, `${p}other`] },
    {
      name: 'key-locking undeclared key in a pipeline',
      path: '/pipeline',
      body: [
        ['evalsha', sha1(KEYLOCK_UNDECLARED), 1, `${p}ka`, `${p}other`],
        ['get', `${p}ka`],
        ['get', `${p}other`],
      ],
    },
    {
      name: 'key-locking undeclared key in multi-exec',
      path: '/multi-exec',
      body: [
        ['evalsha', sha1(KEYLOCK_UNDECLARED), 1, `${p}ka`, `${p}other`],
        ['get', `${p}ka`],
      ],
    },
    { name: 'key-locking pcall error table', body: ['eval', KEYLOCK_PCALL, 1, `${p}ka`, `${p}other`] },
    { name: 'key-locking Lua pcall', body: ['eval', KEYLOCK_LUA_PCALL, 1, `${p}ka`, `${p}other`] },
    {
      name: 'key-locking numeric key declared',
      body: ['eval', "#!lua flags=allow-key-locking\nreturn redis.call('GET', 12)", 1, '12'],
    },
    {
      name: 'key-locking numeric key undeclared',
      body: ['eval', "#!lua flags=allow-key-locking\nreturn redis.call('GET', 12)", 1, '12.0'],
    },
    {
      name: 'key-locking SCAN refused',
      body: ['eval', "#!lua flags=allow-key-locking\nreturn redis.call('SCAN', 0)", 1, `${p}ka`],
    },
    ...flushdb,
    { name: 'key-locking data still there', body: ['get', `${p}ka`] },
    { name: 'key-locking kept flag', body: ['eval', KEYLOCK_KEPT_FLAG, 2, `${p}ka`, `${p}kb`, `${p}kb`] },
    { name: 'key-locking kept flag undeclared', body: ['eval', KEYLOCK_KEPT_FLAG, 1, `${p}ka`, `${p}other`] },
    { name: 'key-locking kept flag write', body: ['eval', KEYLOCK_KEPT_FLAG, 1, `${p}ka`, 'write'] },
  ];
}

function cases(p: string): Case[] {
  return [
    { name: 'ping', body: ['ping'] },
    { name: 'set', body: ['set', `${p}s`, 'héllo ✓'] },
    { name: 'get base64', body: ['get', `${p}s`] },
    { name: 'get plain', body: ['get', `${p}s`], encoding: 'none' },
    { name: 'get missing', body: ['get', `${p}missing`] },
    { name: 'set nx on existing', body: ['set', `${p}s`, 'x', 'nx'] },
    { name: 'set with lowercase px', body: ['set', `${p}t`, '1', 'px', 100000] },
    { name: 'set with bad expire', body: ['set', `${p}t`, '1', 'ex', 0] },
    { name: 'set syntax error', body: ['set', `${p}t`, '1', 'bogus'] },
    { name: 'incr non-integer', body: ['incr', `${p}s`] },
    { name: 'incrby to 2^40', body: ['incrby', `${p}n`, 2 ** 40] },
    { name: 'incrby past 2^53', body: ['incrby', `${p}n`, 2 ** 53] },
    { name: 'get arity', body: ['get'] },
    { name: 'exists', body: ['exists', `${p}s`, `${p}s`, `${p}missing`] },
    {
      name: 'pipeline with per-entry errors',
      path: '/pipeline',
      body: [['set', `${p}q`, '1'], ['incr', `${p}q`], ['incrby', `${p}q`, 'x'], ['get', `${p}q`], ['get']],
    },
    {
      name: 'multi-exec',
      path: '/multi-exec',
      body: [
        ['set', `${p}m`, '1'],
        ['incrby', `${p}m`, 2],
        ['get', `${p}m`],
      ],
    },
    {
      name: 'multi-exec runtime error',
      path: '/multi-exec',
      body: [
        ['set', `${p}m`, 'a'],
        ['incr', `${p}m`],
        ['get', `${p}m`],
      ],
    },
    { name: 'multi-exec EXECABORT', path: '/multi-exec', body: [['set', `${p}m2`, 'a'], ['get']] },
    { name: 'after EXECABORT nothing ran', body: ['get', `${p}m2`] },
    { name: 'lua true', body: ['eval', 'return true', 0] },
    { name: 'lua false', body: ['eval', 'return false', 0] },
    { name: 'lua nil', body: ['eval', 'return nil', 0] },
    { name: 'lua float truncates', body: ['eval', 'return {3.9, -3.9, 0.5, 10/2}', 0] },
    { name: 'lua table stops at nil', body: ['eval', 'return {1, 2, nil, 4}', 0] },
    { name: 'lua nested table', body: ['eval', "return {1, {2, {'x', true}}, 'y'}", 0] },
    { name: 'lua status', body: ['eval', "return {ok='FINE'}", 0] },
    { name: 'lua error table', body: ['eval', "return {err='BAD thing'}", 0] },
    { name: 'lua error_reply', body: ['eval', "return redis.error_reply('MY error')", 0] },
    { name: 'lua status_reply', body: ['eval', "return redis.status_reply('QUEUED-ish')", 0] },
    { name: 'lua pcall error', body: ['eval', "local r = redis.pcall('incr', KEYS[1]); return r['err']", 1, `${p}s`] },
    { name: 'lua call error raised', body: ['eval', "return redis.call('incr', KEYS[1])", 1, `${p}s`] },
    { name: 'lua big integer round trip', body: ['eval', "return redis.call('incrby', KEYS[1], 0)", 1, `${p}n`] },
    { name: 'lua get nil is false', body: ['eval', "return redis.call('get', KEYS[1]) == false", 1, `${p}missing`] },
    { name: 'lua KEYS and ARGV', body: ['eval', 'return {KEYS[1], ARGV[1], ARGV[2], #ARGV}', 1, 'k', 'a', 'b'] },
    { name: 'lua tonumber', body: ['eval', "return tonumber('12') + tonumber(ARGV[1])", 0, '30'] },
    { name: 'lua tostring of integer', body: ['eval', 'return tostring(5)', 0] },
    { name: 'lua status from call', body: ['eval', "return redis.call('set', KEYS[1], 'z')", 1, `${p}lua`] },
    { name: 'lua numkeys too big', body: ['eval', 'return 1', 5, 'a'] },
    { name: 'evalsha NOSCRIPT', body: ['evalsha', 'ffffffffffffffffffffffffffffffffffffffff', 0] },
    { name: 'shebang script via EVAL', body: ['eval', RATELIMIT_STYLE, 1, `${p}rl`, 60000, 1] },
    { name: 'shebang script again', body: ['eval', RATELIMIT_STYLE, 1, `${p}rl`, 60000, 1] },
    { name: 'script load shebang', body: ['script', 'load', RATELIMIT_STYLE] },
    ...keyLockingCases(p),
    { name: 'unknown shebang flag', body: ['eval', '#!lua flags=made-up\nreturn 1', 0] },
    {
      name: 'pexpire',
      path: '/pipeline',
      body: [
        ['pexpire', `${p}rl`, 100000],
        ['pexpire', `${p}missing`, 100000],
        ['exists', `${p}rl`],
      ],
    },
    // A leading U+FEFF (BOM) is data: both engines must hand back its bytes (EF BB BF) untouched.
    { name: 'set BOM value', body: ['set', `${p}bom`, '\uFEFFtitle'] },
    { name: 'get BOM base64', body: ['get', `${p}bom`] },
    { name: 'get BOM plain', body: ['get', `${p}bom`], encoding: 'none' },
    { name: 'lua BOM', body: ['eval', "return {redis.call('get', KEYS[1]), '\\239\\187\\191x'}", 1, `${p}bom`] },
    {
      name: 'del',
      body: ['del', `${p}s`, `${p}n`, `${p}q`, `${p}m`, `${p}lua`, `${p}rl`, `${p}t`, `${p}bom`, `${p}ka`, `${p}kb`],
    },
    { name: 'path form', path: `/set/${p}path/a%20b`, body: undefined },
    { name: 'bad json', body: '{not json' },
    { name: 'pipeline not array of arrays', path: '/pipeline', body: ['get', 'x'] },
  ];
}

const backends = availableBackends();

describe.runIf(backends.includes('real'))('Upstash REST: embedded engine answers exactly like redis-server', () => {
  let real: StandIns;
  let embedded: StandIns;
  beforeAll(async () => {
    [real, embedded] = await Promise.all([startForTest('real'), startForTest('embedded')]);
  });
  afterAll(async () => {
    await Promise.all([real?.close(), embedded?.close()]);
  });

  async function send(standIns: StandIns, c: Case) {
    const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
    if (c.encoding !== 'none') headers['upstash-encoding'] = 'base64';
    const body = c.body === undefined ? undefined : typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
    const res = await fetch(`${standIns.upstashUrl}${c.path ?? ''}`, {
      method: 'POST',
      headers,
      ...(body === undefined ? {} : { body }),
    });
    return { status: res.status, body: await res.json() };
  }

  it('gives identical answers to every request, in order', async () => {
    // One prefix for both: error messages that name a key must match too.
    const prefix = `${uniqueName('diff')}:`;
    const mismatches: string[] = [];
    for (const c of cases(prefix)) {
      const [a, b] = await Promise.all([send(real, c), send(embedded, c)]);
      if (JSON.stringify(a) !== JSON.stringify(b)) {
        mismatches.push(`${c.name}:\n  redis-server ${JSON.stringify(a)}\n  embedded     ${JSON.stringify(b)}`);
      }
    }
    expect(mismatches.join('\n')).toBe('');
  });

  it('keeps a leading U+FEFF: the bytes EF BB BF come back, base64 or plain, from both', async () => {
    const key = `${uniqueName('bom')}`;
    for (const standIns of [real, embedded]) {
      await send(standIns, { name: 'set', body: ['set', key, '\uFEFFtitle'] });
      const base64 = await send(standIns, { name: 'get', body: ['get', key] });
      expect(Buffer.from((base64.body as { result: string }).result, 'base64').subarray(0, 3)).toEqual(
        Buffer.from([0xef, 0xbb, 0xbf]),
      );
      const plain = await send(standIns, { name: 'get', body: ['get', key], encoding: 'none' });
      expect(plain.body).toEqual({ result: '\uFEFFtitle' });
      await send(standIns, { name: 'del', body: ['del', key] });
    }
  });
});

describe.runIf(backends.includes('embedded'))(
  'Upstash REST: the embedded engine refuses what edgetask does not send',
  () => {
    let embedded: StandIns;
    beforeAll(async () => {
      embedded = await startForTest('embedded');
    });
    afterAll(async () => {
      await embedded?.close();
    });

    it('answers 400 with an error that names the command, alone, in a pipeline and from Lua', async () => {
      const post = async (path: string, body: unknown) => {
        const res = await fetch(`${embedded.upstashUrl}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}` },
          body: JSON.stringify(body),
        });
        return { status: res.status, body: await res.json() };
      };
      const refused = (name: string, fromScript = false) =>
        `ERR unknown command '${name}'${fromScript ? ' called from script' : ''} (the embedded engine implements only ` +
        'the commands edgetask sends; see dev/stand-ins/redis-embedded/README.md)';
      expect(await post('', ['zunionstore', 'd', 1, 'z'])).toEqual({
        status: 400,
        body: { error: refused('zunionstore') },
      });
      expect(await post('/pipeline', [['ping'], ['hgetall', 'h']])).toEqual({
        status: 200,
        body: [{ result: 'PONG' }, { error: refused('hgetall') }],
      });
      const lua = await post('', ['eval', "return redis.call('ttl', KEYS[1])", 1, 'k']);
      expect(lua.status).toBe(400);
      expect((lua.body as { error: string }).error).toContain(refused('ttl', true));
    });
  },
);
