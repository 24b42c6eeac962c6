import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/lib/errors.ts';
import { bearerToken, signAccessToken, verifyAccessToken, type JwtSettings } from '../../src/lib/jwt.ts';
import { b64url, craftJwt, jwtPart as part } from '../helpers/jwt.ts';

// Two keys: the first signs, both verify (a rotation in progress).
const CURRENT = { kid: 'key-2026-11', secret: 'current-secret-0123456789abcdef0123456789' };
const PREVIOUS = { kid: 'key-2026-05', secret: 'previous-secret-0123456789abcdef012345678' };
const SETTINGS: JwtSettings = { keys: [CURRENT, PREVIOUS], issuer: 'edgetask', audience: 'edgetask-api' };

// Far from the real date on purpose: a check that reads the system clock instead of `now` fails.
const NOW = new Date('2031-03-14T15:09:26.535Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const USER_ID = '0192f1c2-7a3b-7c4d-8e5f-0123456789ab';
const SESSION_ID = '0192f1c2-7a3b-7c4d-8e5f-ba9876543210';

const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sub: USER_ID,
    sid: SESSION_ID,
    jti: crypto.randomUUID(),
    iat: NOW_S,
    exp: NOW_S + 900,
    iss: 'edgetask',
    aud: 'edgetask-api',
    ev: false,
    ...overrides,
  };
}

/** A JWT built by hand, so each hostile token differs from a good one in exactly one way. */
function craft(
  payload: unknown,
  options: { header?: Record<string, unknown>; secret?: string; hash?: 'SHA-256' | 'SHA-512' } = {},
): Promise<string> {
  return craftJwt(payload, {
    header: options.header ?? { alg: 'HS256', typ: 'JWT', kid: CURRENT.kid },
    secret: options.secret ?? CURRENT.secret,
    ...(options.hash ? { hash: options.hash } : {}),
  });
}

function decodePart(segment: string): unknown {
  const binary = atob(segment.replaceAll('-', '+').replaceAll('_', '/'));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
}

/** Every refusal: the same 401 AppError, and nothing of the token in it. */
async function expectRefused(token: string, now: Date = NOW, settings: JwtSettings = SETTINGS): Promise<void> {
  const error: unknown = await verifyAccessToken(token, settings, now).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  const appError = error as AppError;
  expect(appError.code).toBe('UNAUTHENTICATED');
  expect(appError.status).toBe(401);
  // The bearer challenge is the error handler's to add, to every UNAUTHENTICATED answer
  // (test/integration/auth-security.test.ts asserts it on the wire).
  expect(appError.retryAfterSeconds).toBeUndefined();
  const visible = JSON.stringify({ message: appError.message, detail: appError.detail, ext: appError.extensions });
  // No part of the token long enough to mean anything shows up anywhere in the error.
  for (const piece of [token, ...token.split('.')].filter((p) => p.length >= 8)) {
    expect(visible).not.toContain(piece);
  }
}

describe('signAccessToken', () => {
  it('signs HS256 with the first key, its kid in the header, and the claims we promise', async () => {
    const { token, expiresIn } = await signAccessToken(
      { userId: USER_ID, sessionId: SESSION_ID, emailVerified: false, timeZone: 'Europe/Berlin' },
      SETTINGS,
      NOW,
    );
    expect(expiresIn).toBe(900);
    const [header, payload] = token.split('.');
    expect(decodePart(header!)).toEqual({ alg: 'HS256', typ: 'JWT', kid: CURRENT.kid });
    expect(decodePart(payload!)).toEqual({
      sub: USER_ID,
      sid: SESSION_ID,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      iat: NOW_S,
      exp: NOW_S + 900,
      iss: 'edgetask',
      aud: 'edgetask-api',
      ev: false,
      tz: 'Europe/Berlin',
    });
  });

  it('carries the time zone; accepts a token without one (issued before it existed) and refuses a malformed one', async () => {
    const { token } = await signAccessToken(
      { userId: USER_ID, sessionId: SESSION_ID, emailVerified: false, timeZone: 'America/New_York' },
      SETTINGS,
      NOW,
    );
    expect((await verifyAccessToken(token, SETTINGS, NOW)).tz).toBe('America/New_York');
    const older = await verifyAccessToken(await craft(claims()), SETTINGS, NOW);
    expect(older.tz).toBeUndefined();
    expect(Object.keys(older)).not.toContain('tz');
    for (const tz of [5, null, '', '+05:00', 'Europe/ Berlin', `Europe/${'A'.repeat(80)}`, ['UTC']]) {
      await expect(verifyAccessToken(await craft(claims({ tz })), SETTINGS, NOW)).rejects.toMatchObject({
        code: 'UNAUTHENTICATED',
      });
    }
  });

  it('carries whether the email was verified, and refuses a non-boolean ev', async () => {
    const verified = await signAccessToken(
      { userId: USER_ID, sessionId: SESSION_ID, emailVerified: true, timeZone: 'UTC' },
      SETTINGS,
      NOW,
    );
    expect((await verifyAccessToken(verified.token, SETTINGS, NOW)).ev).toBe(true);
    for (const ev of ['true', 1, null, undefined]) {
      await expect(verifyAccessToken(await craft(claims({ ev })), SETTINGS, NOW)).rejects.toMatchObject({
        code: 'UNAUTHENTICATED',
      });
    }
  });

  it('round-trips through verifyAccessToken', async () => {
    const { token } = await signAccessToken(
      { userId: USER_ID, sessionId: SESSION_ID, emailVerified: false, timeZone: 'Europe/Berlin' },
      SETTINGS,
      NOW,
    );
    const verified = await verifyAccessToken(token, SETTINGS, at(60));
    expect(verified).toMatchObject({ sub: USER_ID, sid: SESSION_ID, iat: NOW_S, exp: NOW_S + 900 });
  });

  it('gives every token its own jti', async () => {
    const subject = { userId: USER_ID, sessionId: SESSION_ID, emailVerified: false, timeZone: 'Europe/Berlin' };
    const a = await verifyAccessToken((await signAccessToken(subject, SETTINGS, NOW)).token, SETTINGS, NOW);
    const b = await verifyAccessToken((await signAccessToken(subject, SETTINGS, NOW)).token, SETTINGS, NOW);
    expect(a.jti).not.toBe(b.jti);
  });

  it('honours a shorter ttl', async () => {
    const settings = { ...SETTINGS, ttlSeconds: 300 };
    const { token, expiresIn } = await signAccessToken(
      { userId: USER_ID, sessionId: SESSION_ID, emailVerified: false, timeZone: 'Europe/Berlin' },
      settings,
      NOW,
    );
    expect(expiresIn).toBe(300);
    expect((await verifyAccessToken(token, settings, NOW)).exp).toBe(NOW_S + 300);
  });

  it('refuses to issue a token it would not accept, or to sign without a key', async () => {
    const subject = { userId: USER_ID, sessionId: SESSION_ID, emailVerified: false, timeZone: 'Europe/Berlin' };
    await expect(signAccessToken(subject, { ...SETTINGS, ttlSeconds: 901 }, NOW)).rejects.toMatchObject({
      code: 'MISCONFIGURED',
    });
    await expect(signAccessToken(subject, { ...SETTINGS, ttlSeconds: 0 }, NOW)).rejects.toMatchObject({
      code: 'MISCONFIGURED',
    });
    await expect(signAccessToken(subject, { ...SETTINGS, keys: [] }, NOW)).rejects.toMatchObject({
      code: 'MISCONFIGURED',
    });
  });
});

describe('verifyAccessToken accepts', () => {
  it('a hand-crafted good token (so the refusals below each test one defect)', async () => {
    const token = await craft(claims());
    await expect(verifyAccessToken(token, SETTINGS, NOW)).resolves.toMatchObject({ sub: USER_ID });
  });

  it('a token signed by the second key in the ring, with its kid (rotation)', async () => {
    const token = await craft(claims(), {
      header: { alg: 'HS256', typ: 'JWT', kid: PREVIOUS.kid },
      secret: PREVIOUS.secret,
    });
    await expect(verifyAccessToken(token, SETTINGS, NOW)).resolves.toMatchObject({ sub: USER_ID });
  });

  it('a token with iat 10 s in the future (clock skew)', async () => {
    const token = await craft(claims({ iat: NOW_S + 10, exp: NOW_S + 910 }));
    await expect(verifyAccessToken(token, SETTINGS, NOW)).resolves.toMatchObject({ iat: NOW_S + 10 });
  });

  it('a token without typ', async () => {
    const token = await craft(claims(), { header: { alg: 'HS256', kid: CURRENT.kid } });
    await expect(verifyAccessToken(token, SETTINGS, NOW)).resolves.toMatchObject({ sub: USER_ID });
  });

  it('only the claims we issue, never extra payload members', async () => {
    const token = await craft(claims({ role: 'admin' }));
    const verified = await verifyAccessToken(token, SETTINGS, NOW);
    expect(Object.keys(verified).sort()).toEqual(['aud', 'ev', 'exp', 'iat', 'iss', 'jti', 'sid', 'sub']);
  });

  it('by the injected clock alone, hours away from the system clock either way', async () => {
    const subject = { userId: USER_ID, sessionId: SESSION_ID, emailVerified: false, timeZone: 'Europe/Berlin' };
    for (const issuedAt of [new Date('2019-01-01T00:00:00Z'), at(6 * 3600), new Date('2040-06-01T00:00:00Z')]) {
      const { token } = await signAccessToken(subject, SETTINGS, issuedAt);
      const later = new Date(issuedAt.getTime() + 14 * 60_000);
      await expect(verifyAccessToken(token, SETTINGS, later)).resolves.toMatchObject({ sub: USER_ID });
      await expectRefused(token, new Date(issuedAt.getTime() + 16 * 60_000));
      await expectRefused(token, new Date(issuedAt.getTime() - 2 * 3600_000));
    }
  });
});

describe('verifyAccessToken refuses (401, token never echoed)', () => {
  it('alg: none with an empty signature', async () => {
    const header = part({ alg: 'none', typ: 'JWT', kid: CURRENT.kid });
    await expectRefused(`${header}.${part(claims())}.`);
  });

  it('alg: none carrying the signature of a good token', async () => {
    const good = await craft(claims());
    const [, payload, signature] = good.split('.');
    await expectRefused(`${part({ alg: 'none', typ: 'JWT', kid: CURRENT.kid })}.${payload}.${signature}`);
  });

  it('HS512 signed with the right secret', async () => {
    await expectRefused(
      await craft(claims(), { header: { alg: 'HS512', typ: 'JWT', kid: CURRENT.kid }, hash: 'SHA-512' }),
    );
  });

  it('RS256 signed with a real RSA key', async () => {
    const pair = (await crypto.subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify'],
    )) as CryptoKeyPair;
    const input = `${part({ alg: 'RS256', typ: 'JWT', kid: CURRENT.kid })}.${part(claims())}`;
    const signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', pair.privateKey, new TextEncoder().encode(input));
    await expectRefused(`${input}.${b64url(new Uint8Array(signature))}`);
  });

  it('alg spelled differently (hs256)', async () => {
    await expectRefused(await craft(claims(), { header: { alg: 'hs256', typ: 'JWT', kid: CURRENT.kid } }));
  });

  it('HS256 with a wrong key', async () => {
    await expectRefused(await craft(claims(), { secret: 'some-other-secret-0123456789abcdef0123' }));
  });

  it('a tampered payload (sub changed, signature kept)', async () => {
    const [header, , signature] = (await craft(claims())).split('.');
    const forged = part(claims({ sub: '0192f1c2-7a3b-7c4d-8e5f-00000000beef' }));
    await expectRefused(`${header}.${forged}.${signature}`);
  });

  it('the same signature spelled with different unused bits', async () => {
    const good = await craft(claims());
    const last = good.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) + 1]!; // same 4 data bits, a non-zero unused bit
    await expectRefused(good.slice(0, -1) + sibling);
  });

  it('no exp', async () => {
    const payload = claims();
    delete payload.exp;
    await expectRefused(await craft(payload));
  });

  it('a string exp', async () => {
    await expectRefused(await craft(claims({ exp: String(NOW_S + 900) })));
  });

  it('no iat, or a string iat', async () => {
    const payload = claims();
    delete payload.iat;
    await expectRefused(await craft(payload));
    await expectRefused(await craft(claims({ iat: String(NOW_S) })));
  });

  it('exp - iat > 900', async () => {
    await expectRefused(await craft(claims({ exp: NOW_S + 901 })));
  });

  it('exp before iat', async () => {
    await expectRefused(await craft(claims({ iat: NOW_S + 20, exp: NOW_S + 10 })));
  });

  it('an expired token (clock moved 16 min ahead), and at the exact second of exp', async () => {
    const token = await craft(claims());
    await expect(verifyAccessToken(token, SETTINGS, at(899))).resolves.toBeDefined();
    await expectRefused(token, at(900));
    await expectRefused(token, at(16 * 60));
  });

  it('iat 60 s in the future', async () => {
    await expectRefused(await craft(claims({ iat: NOW_S + 60, exp: NOW_S + 960 })));
  });

  it('nbf in the future', async () => {
    await expectRefused(await craft(claims({ nbf: NOW_S + 120 })));
  });

  it('a wrong or missing iss', async () => {
    await expectRefused(await craft(claims({ iss: 'someone-else' })));
    const payload = claims();
    delete payload.iss;
    await expectRefused(await craft(payload));
  });

  it('a wrong or missing aud', async () => {
    await expectRefused(await craft(claims({ aud: 'another-api' })));
    const payload = claims();
    delete payload.aud;
    await expectRefused(await craft(payload));
  });

  it('an array aud, even one that lists us (we only issue a string)', async () => {
    await expectRefused(await craft(claims({ aud: ['edgetask-api'] })));
    await expectRefused(await craft(claims({ aud: ['edgetask-api', 'another-api'] })));
  });

  it('an unknown kid', async () => {
    await expectRefused(await craft(claims(), { header: { alg: 'HS256', typ: 'JWT', kid: 'key-1999-01' } }));
  });

  it('a missing kid, even when signed with the current key', async () => {
    await expectRefused(await craft(claims(), { header: { alg: 'HS256', typ: 'JWT' } }));
  });

  it('a kid that is not a string', async () => {
    await expectRefused(await craft(claims(), { header: { alg: 'HS256', typ: 'JWT', kid: 1 } }));
  });

  it("a token signed by one key under another key's kid (no fallback to other keys)", async () => {
    await expectRefused(await craft(claims(), { secret: PREVIOUS.secret }));
  });

  it('a token signed by a key that was removed from the ring', async () => {
    const token = await craft(claims(), {
      header: { alg: 'HS256', typ: 'JWT', kid: PREVIOUS.kid },
      secret: PREVIOUS.secret,
    });
    await expectRefused(token, NOW, { ...SETTINGS, keys: [CURRENT] });
  });

  it('a typ other than JWT, or a crit header', async () => {
    await expectRefused(await craft(claims(), { header: { alg: 'HS256', typ: 'at+jwt', kid: CURRENT.kid } }));
    await expectRefused(
      await craft(claims(), { header: { alg: 'HS256', typ: 'JWT', kid: CURRENT.kid, crit: ['exp'] } }),
    );
  });

  it('sub or sid that is not a UUID, or a missing or empty jti', async () => {
    await expectRefused(await craft(claims({ sub: 'admin' })));
    await expectRefused(await craft(claims({ sub: USER_ID.toUpperCase() })));
    await expectRefused(await craft(claims({ sid: 42 })));
    await expectRefused(await craft(claims({ jti: '' })));
    const payload = claims();
    delete payload.jti;
    await expectRefused(await craft(payload));
  });

  it('a signed payload or header that is not a JSON object', async () => {
    await expectRefused(await craft(null));
    await expectRefused(await craft([claims()]));
    await expectRefused(await craft('a string'));
  });

  it('an opaque 43-character base64url refresh token', async () => {
    const refresh = b64url(crypto.getRandomValues(new Uint8Array(32)));
    expect(refresh).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await expectRefused(refresh);
  });

  it('garbage', async () => {
    for (const garbage of [
      'not a token',
      'a.b.c',
      '...',
      'eyJ.eyJ.abc',
      '%%%.%%%.%%%',
      `${part('x')}.e30.${'A'.repeat(43)}`,
    ]) {
      await expectRefused(garbage);
    }
  });

  it('an empty string', async () => {
    await expectRefused('');
  });

  it('a 10 KB token, even one with a good signature', async () => {
    const token = await craft(claims({ padding: 'x'.repeat(10 * 1024) }));
    expect(token.length).toBeGreaterThan(10 * 1024);
    await expectRefused(token);
  });
});

describe('bearerToken', () => {
  it('takes the token from "Bearer <token>", whatever the case of the scheme', () => {
    expect(bearerToken('Bearer abc.DEF-_.123')).toBe('abc.DEF-_.123');
    expect(bearerToken('bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('BEARER abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken(`Bearer ${'a'.repeat(4096)}`)).toBe('a'.repeat(4096));
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['the scheme alone', 'Bearer'],
    ['the scheme and a space', 'Bearer '],
    ['two spaces', 'Bearer  abc.def.ghi'],
    ['a tab', 'Bearer\tabc.def.ghi'],
    ['no space', 'Bearerabc.def.ghi'],
    ['a leading space', ' Bearer abc.def.ghi'],
    ['a trailing newline', 'Bearer abc.def.ghi\n'],
    ['two tokens', 'Bearer abc.def.ghi jkl'],
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['a token with padding', 'Bearer abc.def.ghi='],
    ['a token with + and /', 'Bearer ab+c.de/f.ghi'],
    ['a token with non-ASCII', 'Bearer abc.déf.ghi'],
    ['a token over 4096 characters', `Bearer ${'a'.repeat(4097)}`],
  ])('null for %s', (_name, header) => {
    expect(bearerToken(header)).toBeNull();
  });
});

describe('verification keys imported once per isolate', () => {
  const SAME_KID_A = { kid: 'shared-kid', secret: 'secret-of-environment-a-0123456789abcdef' };
  const SAME_KID_B = { kid: 'shared-kid', secret: 'secret-of-environment-b-0123456789abcdef' };
  const settingsA: JwtSettings = { keys: [SAME_KID_A], issuer: 'edgetask', audience: 'edgetask-api' };
  const settingsB: JwtSettings = { keys: [SAME_KID_B], issuer: 'edgetask', audience: 'edgetask-api' };
  const subject = { userId: USER_ID, sessionId: SESSION_ID, emailVerified: true, timeZone: 'UTC' };

  it("never verify a token under another request's bindings with the same kid and another secret", async () => {
    const { token: tokenA } = await signAccessToken(subject, settingsA, NOW);
    const { token: tokenB } = await signAccessToken(subject, settingsB, NOW);
    // A's key is imported and kept; B's bindings must still check B's secret, in both orders.
    expect((await verifyAccessToken(tokenA, settingsA, NOW)).sub).toBe(USER_ID);
    await expectRefused(tokenA, NOW, settingsB);
    expect((await verifyAccessToken(tokenB, settingsB, NOW)).sub).toBe(USER_ID);
    await expectRefused(tokenB, NOW, settingsA);
    expect((await verifyAccessToken(tokenA, settingsA, NOW)).sub).toBe(USER_ID);
  });

  it('still verify after many keyrings have come and gone (the cache starts over, it does not break)', async () => {
    for (let i = 0; i < 40; i++) {
      const key = { kid: `kid-${i}`, secret: `secret-${i}-0123456789abcdef0123456789abcdef` };
      const settings: JwtSettings = { keys: [key], issuer: 'edgetask', audience: 'edgetask-api' };
      const { token } = await signAccessToken(subject, settings, NOW);
      expect((await verifyAccessToken(token, settings, NOW)).sid).toBe(SESSION_ID);
      await expectRefused(token, NOW, settingsA);
    }
  });
});
