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
