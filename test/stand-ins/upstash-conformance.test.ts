import { createHash } from 'node:crypto';
import { Ratelimit } from '@upstash/ratelimit';
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StandIns } from '../../dev/stand-ins/server.ts';
import { availableBackends, control, counters, startForTest, TOKEN, uniqueName, type Kind } from './helpers.ts';

/**
 * @upstash/redis and @upstash/ratelimit, unmodified, against the stand-in on each backend.
 * Each test works under its own namespace (`/ns/<name>` in the base URL) so its request counts
 * are its own, and its own key prefix so it shares no data.
 */
describe.each(availableBackends())('Upstash protocol on the %s backend', (kind: Kind) => {
  let standIns: StandIns;

  beforeAll(async () => {
    standIns = await startForTest(kind);
  });
  afterAll(async () => {
    await standIns?.close();
  });

  function client(ns: string, options: { token?: string; autoPipeline?: boolean } = {}) {
    return new Redis({
      url: `${standIns.upstashUrl}/ns/${ns}`,
      token: options.token ?? TOKEN,
      enableAutoPipelining: options.autoPipeline ?? true,
      retry: false,
      enableTelemetry: false,
    });
  }

  it('sets and gets strings, numbers, JSON and unicode through base64 encoding', async () => {
    const ns = uniqueName('kv');
    const redis = client(ns, { autoPipeline: false });
    await redis.set(`${ns}:s`, 'héllo ✓ \u{1F600}');
    await redis.set(`${ns}:n`, 42);
    await redis.set(`${ns}:j`, { a: [1, 'two'], b: null });
    expect(await redis.get(`${ns}:s`)).toBe('héllo ✓ \u{1F600}');
    expect(await redis.get(`${ns}:n`)).toBe(42);
    expect(await redis.get(`${ns}:j`)).toEqual({ a: [1, 'two'], b: null });
    expect(await redis.get(`${ns}:missing`)).toBeNull();
    expect(await redis.del(`${ns}:s`, `${ns}:n`, `${ns}:j`)).toBe(3);
  });

  it('honours expiry options, including the lowercase ones the SDK sends', async () => {
    const ns = uniqueName('ttl');
    const redis = client(ns, { autoPipeline: false });
    // The exact expiry times are checked with an injected clock in redis-embedded.test.ts (and
    // against redis-server there); here: the SDK's options reach the engine and act.
    expect(await redis.set(`${ns}:a`, 'v', { ex: 100 })).toBe('OK');
    expect(await redis.set(`${ns}:b`, 'v', { px: 50_000 })).toBe('OK');
    expect(await redis.set(`${ns}:a`, 'w', { nx: true })).toBeNull();
    await redis.set(`${ns}:c`, 'v', { px: 30 });
    await new Promise((r) => setTimeout(r, 60));
    expect(await redis.get(`${ns}:c`)).toBeNull();
    expect(await redis.exists(`${ns}:a`, `${ns}:b`)).toBe(2);
    expect(await redis.get(`${ns}:a`)).toBe('v');
    await redis.del(`${ns}:a`, `${ns}:b`);
  });

  it('auto-pipelines concurrent commands: one request for the writes, one for the reads', async () => {
    const ns = uniqueName('auto');
    const redis = client(ns);
    let before = await counters(standIns, ns);
    const [a, b, c] = await Promise.all([
      redis.incr(`${ns}:n`),
      redis.incrby(`${ns}:n`, 10),
      redis.set(`${ns}:s`, 'v'),
    ]);
    let after = await counters(standIns, ns);
    expect([a, b, c]).toEqual([1, 11, 'OK']);
    expect(after.upstash.requests - before.upstash.requests).toBe(1);
    expect(after.upstash.commands - before.upstash.commands).toBe(3);

    // The SDK batches reads and writes separately: a GET issued beside a write costs a second request.
    before = after;
    const [n, h, d] = await Promise.all([redis.get(`${ns}:n`), redis.get(`${ns}:s`), redis.incr(`${ns}:n`)]);
    after = await counters(standIns, ns);
    expect(n).toBe(11);
    expect(h).toBe('v');
    expect(d).toBe(12);
    expect(after.upstash.requests - before.upstash.requests).toBe(2);
    expect(after.upstash.maxInFlight).toBe(2);
    await redis.del(`${ns}:n`, `${ns}:s`);
  });

  it('runs multi-exec atomically and explicit pipelines with per-entry errors', async () => {
    const ns = uniqueName('tx');
    const redis = client(ns, { autoPipeline: false });
    const results = await redis.multi().set(`${ns}:k`, '1').incrby(`${ns}:k`, 2).get(`${ns}:k`).exec();
    expect(results).toEqual(['OK', 3, 3]);
    await redis.set(`${ns}:k`, 'ab');

    const mixed = await redis.pipeline().incr(`${ns}:k`).get(`${ns}:k`).exec({ keepErrors: true });
    expect(mixed[0]).toMatchObject({ error: 'ERR value is not an integer or out of range', result: undefined });
    expect(mixed[1]).toMatchObject({ result: 'ab' });
    await expect(redis.pipeline().incr(`${ns}:k`).exec()).rejects.toThrow(/ERR value is not an integer/);
    await redis.del(`${ns}:k`);
  });

  it('raises Redis errors (INCR of a non-integer, unknown command) as UpstashError', async () => {
    const ns = uniqueName('err');
    const redis = client(ns, { autoPipeline: false });
    await redis.set(`${ns}:s`, 'abc');
    await expect(redis.incr(`${ns}:s`)).rejects.toThrow(/ERR value is not an integer or out of range/);
    await expect(redis.exec(['nosuchcommand', 'x'])).rejects.toThrow(/ERR unknown command 'nosuchcommand'/);
    if (kind === 'embedded') {
      // A command edgetask does not send is refused by name, not emulated.
      await expect(redis.hset(`${ns}:h`, { f: 1 })).rejects.toThrow(
        /ERR unknown command 'hset' \(the embedded engine implements only the commands edgetask sends/,
      );
    }
    await redis.del(`${ns}:s`);
  });

  it('runs Lua: eval, evalsha, NOSCRIPT, script load', async () => {
    const ns = uniqueName('lua');
    const redis = client(ns, { autoPipeline: false });
    const script = "redis.call('set', KEYS[1], ARGV[1]); return {redis.call('get', KEYS[1]), 7, false, 'x'}";
    expect(await redis.eval(script, [`${ns}:k`], ['v'])).toEqual(['v', 7, null, 'x']);
    const sha = await redis.scriptLoad(script);
    expect(await redis.evalsha(sha, [`${ns}:k`], ['w'])).toEqual(['w', 7, null, 'x']);
    await expect(redis.evalsha('0'.repeat(40), [], [])).rejects.toThrow(/NOSCRIPT/);
    await redis.del(`${ns}:k`);
  });

  describe('scripts with allow-key-locking (Upstash: they may touch only their KEYS)', () => {
    const FLAG = '#!lua flags=allow-key-locking\n';
    const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
    // Our text (Upstash does not document its own); the shape, an error reply, is Upstash's.
    const undeclared = (command: string, key: string) =>
      new RegExp(
        `^ERR '${command}' on key '${key}' refused: a script with allow-key-locking may touch only ` +
          `the keys passed in KEYS script: [0-9a-f]{40}, on @user_script:\\d+\\.$`,
      );
    const databaseWide = (command: string) =>
      new RegExp(`^ERR '${command}' refused: a script with allow-key-locking may not run database-wide commands`);

    /** A raw REST request under the namespace, replies not base64-encoded. */
    async function rest(ns: string, path: string, body: unknown) {
      const res = await fetch(`${standIns.upstashUrl}/ns/${ns}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    }

    it('runs a flagged script that touches only its KEYS, alone and in a pipeline', async () => {
      const ns = uniqueName('kl');
      const [a, b] = [`${ns}:a`, `${ns}:b`];
      // The second key is computed inside the script: what counts is the final string.
      const script =
        FLAG +
        "redis.call('SET', KEYS[1], ARGV[1])\n" +
        "redis.call('INCRBY', string.format('%s', KEYS[2]), 2)\n" +
        "return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2]), redis.call('EXISTS', KEYS[1], KEYS[2]), " +
        "redis.pcall('DEL', KEYS[2])}";
      expect(await rest(ns, '', ['eval', script, 2, a, b, 'v'])).toEqual({
        status: 200,
        body: { result: ['v', '2', 2, 1] },
      });
      expect(
        await rest(ns, '/pipeline', [
          ['evalsha', sha1(script), 2, a, b, 'w'],
          ['get', a],
        ]),
      ).toEqual({
        status: 200,
        body: [{ result: ['w', '2', 2, 1] }, { result: 'w' }],
      });
      // Through the SDK, as the Worker sends it.
      const redis = client(ns, { autoPipeline: false });
      expect(await redis.eval(script, [a, b], ['x'])).toEqual(['x', 2, 2, 1]);
      await redis.del(a);
    });

    it('refuses a key not in KEYS: 400 alone; an error entry in a pipeline, the other entries still run', async () => {
      const ns = uniqueName('kl');
      const [a, b] = [`${ns}:a`, `${ns}:b`];
      const script = FLAG + "redis.call('SET', ARGV[1], 'written')\nreturn 'done'";
      const alone = await rest(ns, '', ['eval', script, 1, a, b]);
      expect(alone.status).toBe(400);
      const error = (alone.body as { error: string }).error;
      expect(error).toMatch(undeclared('set', b));
      // The error names the sha the client sent, not the rewritten script's.
      expect(error).toContain(`script: ${sha1(script)},`);

      const pipeline = await rest(ns, '/pipeline', [
        ['set', a, '1'],
        ['evalsha', sha1(script), 1, a, b],
        ['incr', a],
        ['get', b],
      ]);
      expect(pipeline.status).toBe(200);
      const entries = pipeline.body as { result?: unknown; error?: string }[];
      expect(entries).toHaveLength(4);
      expect(entries[0]).toEqual({ result: 'OK' });
      expect(entries[1]?.error).toMatch(undeclared('set', b));
      expect(entries[2]).toEqual({ result: 2 });
      expect(entries[3]).toEqual({ result: null });

      // Every key of a multi-key command must be declared; nothing is deleted when one is not.
      const del = await rest(ns, '', ['eval', FLAG + "return redis.call('DEL', KEYS[1], ARGV[1])", 1, a, b]);
      expect(del.status).toBe(400);
      expect((del.body as { error: string }).error).toMatch(undeclared('del', b));
      expect(await rest(ns, '', ['get', a])).toEqual({ status: 200, body: { result: '2' } });

      // The SDK throws it as an UpstashError.
      const redis = client(ns, { autoPipeline: false });
      await expect(redis.eval(script, [a], [b])).rejects.toThrow(/allow-key-locking/);
      await redis.del(a);
    });

    it("keeps the script's own line in the errors of its commands, with and without other flags", async () => {
      const ns = uniqueName('kl');
      const a = `${ns}:a`;
      await rest(ns, '', ['set', a, 'not a number']);
      const body = "local x = 1\n-- redis.call('GET', 'in a comment')\nreturn redis.call('INCR', KEYS[1])";
      for (const shebang of ['', FLAG, '#!lua flags=allow-key-locking,no-writes\n']) {
        const reply = await rest(ns, '', ['eval', shebang + body, 1, a]);
        const line = shebang === '' ? 3 : 4;
        expect((reply.body as { error: string }).error).toMatch(
          shebang.includes('no-writes')
            ? new RegExp(`^ERR Write commands are not allowed from read-only scripts\\. .*@user_script:${line}\\.$`)
            : new RegExp(`^ERR value is not an integer or out of range .*@user_script:${line}\\.$`),
        );
      }
      await rest(ns, '', ['del', a]);
    });

    it('checks every call of the code, and leaves strings and comments as they are', async () => {
      const ns = uniqueName('kl');
      const [a, b] = [`${ns}:a`, `${ns}:b`];
      await rest(ns, '', ['set', a, 'v']);
      const script =
        FLAG +
        "local s = \"redis.call('x')\" .. 'a)b(\\'' .. [[redis.call(]] --[==[ redis.call( ]==]\n" +
        "-- redis.call( ')'\n" +
        "local ok, e = pcall(redis.call, 'GET', ARGV[1])\n" +
        "return {s, redis.call('GET', (KEYS[1])), redis.call(\"EXISTS\", string.format('%s', KEYS[1])), " +
        "redis.call 'PING', (redis.pcall('GET', ARGV[1]))['err'], tostring(ok), e}";
      const reply = await rest(ns, '', ['eval', script, 1, a, b]);
      expect(reply.status).toBe(200);
      const refusal = expect.stringMatching(/^ERR 'get' on key '.*:b' refused/) as unknown;
      expect((reply.body as { result: unknown }).result).toEqual([
        "redis.call('x')a)b('redis.call(",
        'v',
        1,
        'PONG',
        refusal,
        'false',
        refusal,
      ]);
      await rest(ns, '', ['del', a]);
    });

    it('gives redis.pcall an error table the script can inspect', async () => {
      const ns = uniqueName('kl');
      const [a, b] = [`${ns}:a`, `${ns}:b`];
      await rest(ns, '', ['set', a, 'mine']);
      const script =
        FLAG + "local r = redis.pcall('GET', ARGV[1])\n" + "return {type(r), r['err'], redis.pcall('GET', KEYS[1])}";
      const reply = await rest(ns, '', ['eval', script, 1, a, b]);
      expect(reply.status).toBe(200);
      const [type, message, own] = (reply.body as { result: unknown[] }).result;
      expect(type).toBe('table');
      expect(message).toMatch(/^ERR 'get' on key '.*:b' refused: a script with allow-key-locking may touch only/);
      expect(own).toBe('mine');
      await rest(ns, '', ['del', a]);
    });

    it('refuses database-wide commands: SCAN, and FLUSHDB, which does not run', async () => {
      const ns = uniqueName('kl');
      const a = `${ns}:a`;
      await rest(ns, '', ['set', a, 'kept']);
      const scan = await rest(ns, '', ['eval', FLAG + "return redis.call('SCAN', 0)", 1, a]);
      expect(scan.status).toBe(400);
      expect((scan.body as { error: string }).error).toMatch(databaseWide('scan'));
      const pscan = await rest(ns, '', ['eval', FLAG + "return redis.pcall('SCAN', 0)['err']", 1, a]);
      expect((pscan.body as { result: string }).result).toMatch(databaseWide('scan'));
      // FLUSHDB only on a redis-server of our own: if the check were missing it would empty a
      // shared one (STANDINS_REDIS_URL, as CI sets it) under the other test files.
      if (kind === 'embedded' || !process.env.STANDINS_REDIS_URL) {
        const flush = await rest(ns, '', ['eval', FLAG + "return redis.call('FLUSHDB')", 1, a]);
        expect(flush.status).toBe(400);
        expect((flush.body as { error: string }).error).toMatch(databaseWide('flushdb'));
      }
      expect(await rest(ns, '', ['get', a])).toEqual({ status: 200, body: { result: 'kept' } });
      await rest(ns, '', ['del', a]);
    });

    it('counts scripts that ran, and those under the global lock: unflagged, or inside multi-exec', async () => {
      const ns = uniqueName('klcount');
      const a = `${ns}:a`;
      const flagged = FLAG + "return redis.call('INCR', KEYS[1])";
      const unflagged = "return redis.call('INCR', KEYS[1])";
      const scripts = async () => {
        const { upstash } = await counters(standIns, ns);
        return { scripts: upstash.scripts, globalLockScripts: upstash.globalLockScripts };
      };
      expect(await scripts()).toEqual({ scripts: 0, globalLockScripts: 0 });

      await rest(ns, '', ['eval', unflagged, 1, a]);
      expect(await scripts()).toEqual({ scripts: 1, globalLockScripts: 1 });
      await rest(ns, '', ['eval', flagged, 1, a]);
      await rest(ns, '', ['evalsha', sha1(flagged), 1, a]);
      expect(await scripts()).toEqual({ scripts: 3, globalLockScripts: 1 });
      // Refused by the key check: it ran (and failed) under its keys' locks.
      await rest(ns, '', ['eval', FLAG + "return redis.call('GET', 'elsewhere')", 1, a]);
      expect(await scripts()).toEqual({ scripts: 4, globalLockScripts: 1 });

      // Failed while running (INCR of a non-integer): it ran, under the global lock.
      await rest(ns, '', ['set', `${ns}:s`, 'text']);
      const failing = await rest(ns, '', ['eval', unflagged, 1, `${ns}:s`]);
      expect((failing.body as { error: string }).error).toMatch(/^ERR value is not an integer or out of range script:/);
      expect(await scripts()).toEqual({ scripts: 5, globalLockScripts: 2 });

      // NOSCRIPT, or refused before running (numkeys): nothing ran.
      expect((await rest(ns, '', ['evalsha', 'f'.repeat(40), 1, a])).status).toBe(400);
      expect((await rest(ns, '', ['eval', unflagged, 'x', a])).body).toEqual({
        error: 'ERR value is not an integer or out of range',
      });
      expect(await scripts()).toEqual({ scripts: 5, globalLockScripts: 2 });

      // An unflagged script loaded, then run by its sha.
      const unflaggedLoaded = "return redis.call('GET', KEYS[1])";
      expect(await rest(ns, '', ['script', 'load', unflaggedLoaded])).toEqual({
        status: 200,
        body: { result: sha1(unflaggedLoaded) },
      });
      await rest(ns, '', ['evalsha', sha1(unflaggedLoaded), 1, a]);
      expect(await scripts()).toEqual({ scripts: 6, globalLockScripts: 3 });

      // A pipeline counts each script; multi-exec runs even a flagged one under the global lock.
      await rest(ns, '/pipeline', [
        ['evalsha', sha1(flagged), 1, a],
        ['evalsha', sha1(unflagged), 1, a],
        ['get', a],
      ]);
      expect(await scripts()).toEqual({ scripts: 8, globalLockScripts: 4 });
      expect(
        await rest(ns, '/multi-exec', [
          ['evalsha', sha1(flagged), 1, a],
          ['get', a],
        ]),
      ).toEqual({ status: 200, body: [{ result: 6 }, { result: '6' }] });
      expect(await scripts()).toEqual({ scripts: 9, globalLockScripts: 5 });
      await rest(ns, '', ['del', a, `${ns}:s`]);
    });
  });

  it('refuses a wrong token with 401', async () => {
    const redis = client(uniqueName('auth'), { token: 'wrong', autoPipeline: false });
    await expect(redis.get('x')).rejects.toThrow(/Unauthorized/);
    const raw = await fetch(standIns.upstashUrl, { method: 'POST', body: '["ping"]' });
    expect(raw.status).toBe(401);
  });

  it('answers malformed REST input with 400', async () => {
    const post = (path: string, body: string) =>
      fetch(`${standIns.upstashUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
        body,
      }).then(async (r) => ({
        status: r.status,
        body: await r.json(),
      }));
    expect(await post('/', '{nope')).toMatchObject({ status: 400 });
    expect(await post('/', '[]')).toMatchObject({ status: 400 });
    expect(await post('/', '[{"a":1}]')).toMatchObject({ status: 400 });
    expect(await post('/pipeline', '["get","x"]')).toMatchObject({ status: 400 });
    expect(await post('/multi-exec', '[]')).toMatchObject({ status: 400 });
    expect(await post('/multi-exec', '[["set","x","1"],["nosuchcommand"]]')).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^EXECABORT/) as unknown },
    });
    expect(await post('/', '["get"]')).toMatchObject({
      status: 400,
      body: { error: "ERR wrong number of arguments for 'get' command" },
    });
  });

  it('accepts the path form of a command', async () => {
    const ns = uniqueName('path');
    const headers = { authorization: `Bearer ${TOKEN}` };
    const set = await fetch(`${standIns.upstashUrl}/set/${ns}:k/hello%20world`, { headers });
    expect(await set.json()).toEqual({ result: 'OK' });
    const get = await fetch(`${standIns.upstashUrl}/get/${ns}:k`, { headers });
    expect(await get.json()).toEqual({ result: 'hello world' });
    await fetch(`${standIns.upstashUrl}/del/${ns}:k`, { headers });
  });

  describe('@upstash/ratelimit', () => {
    function limiter(ns: string, limiterFn: ReturnType<typeof Ratelimit.slidingWindow>) {
      return new Ratelimit({
        redis: client(ns),
        limiter: limiterFn,
        prefix: `${ns}:rl`,
        // The ephemeral cache answers blocked callers without a request: off, so every call reaches Redis.
        ephemeralCache: false,
        analytics: false,
        timeout: 0,
      });
    }

    // The two algorithms edgetask uses (the token bucket sends hash commands, which the embedded
    // engine does not implement). Hour-long windows: a window boundary (fixed windows align to the clock) or a refill between the
    // calls of one test would make it flaky on a loaded machine.
    it.each([
      ['sliding window', Ratelimit.slidingWindow(3, '1 h')],
      ['fixed window', Ratelimit.fixedWindow(3, '1 h')],
    ])('%s: allows the limit, blocks the next, reports remaining, and resets', async (_name, algorithm) => {
      const ns = uniqueName('rl');
      const rl = limiter(ns, algorithm);
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await rl.limit('user-1'));
      expect(results.map((r) => r.success)).toEqual([true, true, true, false]);
      expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0]);
      expect(results.every((r) => r.limit === 3 && r.reset > Date.now() - 1000)).toBe(true);
      expect(results.every((r) => r.reason === undefined)).toBe(true);

      expect((await rl.getRemaining('user-1')).remaining).toBe(0);
      expect((await rl.getRemaining('user-2')).remaining).toBe(3);
      await rl.resetUsedTokens('user-1');
      expect((await rl.getRemaining('user-1')).remaining).toBe(3);
      expect((await rl.limit('user-1')).success).toBe(true);
    });

    it('costs one request per limit() call', async () => {
      const ns = uniqueName('rlcount');
      const rl = limiter(ns, Ratelimit.slidingWindow(10, '10 s'));
      await rl.limit('warm'); // the first call may load the script (NOSCRIPT -> EVAL)
      const before = await counters(standIns, ns);
      await rl.limit('warm');
      const after = await counters(standIns, ns);
      expect(after.upstash.requests - before.upstash.requests).toBe(1);
    });

    it('runs its flagged scripts unchanged, none under the global lock (resetUsedTokens is not flagged)', async () => {
      const ns = uniqueName('rllock');
      const rl = limiter(ns, Ratelimit.slidingWindow(2, '1 h'));
      const results = [];
      for (let i = 0; i < 3; i++) results.push(await rl.limit('user-1'));
      expect(results.map((r) => r.success)).toEqual([true, true, false]);
      expect((await rl.getRemaining('user-1')).remaining).toBe(0);
      let { upstash } = await counters(standIns, ns);
      // 3 limit() and 1 getRemaining(); a first NOSCRIPT answer would not count.
      expect(upstash.scripts).toBe(4);
      expect(upstash.globalLockScripts).toBe(0);

      await rl.resetUsedTokens('user-1');
      ({ upstash } = await counters(standIns, ns));
      expect(upstash.globalLockScripts).toBe(1);
      expect((await rl.limit('user-1')).success).toBe(true);
    });
  });

  it('can play an Upstash that is down or failing', async () => {
    const ns = uniqueName('fault');
    const redis = client(ns, { autoPipeline: false });
    await control(standIns, 'PUT', `faults?ns=${ns}`, { upstash: 'down' });
    await expect(redis.get('x')).rejects.toThrow();
    await control(standIns, 'PUT', `faults?ns=${ns}`, { upstash: 'error' });
    await expect(redis.get('x')).rejects.toThrow(/injected fault/);
    await control(standIns, 'PUT', `faults?ns=${ns}`, { upstash: 'none' });
    expect(await redis.get('x')).toBeNull();
  });
});
