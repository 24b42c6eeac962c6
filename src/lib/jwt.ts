import { Jwt } from 'hono/utils/jwt';
import { AppError } from './errors.ts';
import { toBase64Url } from './base64url.ts';
import { MAX_TIME_ZONE_LENGTH, TIME_ZONE_NAME } from './time-zone.ts';

/**
 * Access tokens: short-lived HS256 JWTs signed and verified by this Worker only (see
 * docs/decisions/0005-access-tokens.md). hono's JWT utilities do the signing and the signature
 * check; everything that depends on the time or on our claims is checked here, with the injected
 * clock, because hono's verify reads Date.now() and accepts a token with no `exp` at all.
 *
 * Imported from `hono/utils/jwt` rather than `hono/jwt`: same functions, without the middleware
 * module, which also widens every Hono context's variables with `jwtPayload`.
 */

export interface AccessClaims {
  /** The user id (UUID). */
  sub: string;
  /** The refresh-token family id (UUID): the session this token belongs to. */
  sid: string;
  /** A random UUID per token. */
  jti: string;
  iat: number;
  exp: number;
  iss: string;
  aud: string;
  /** Whether the email address was verified when the token was issued (REQUIRE_VERIFIED_EMAIL). */
  ev: boolean;
  /**
   * The user's time zone when the token was issued: lets a write compute a recurring task's
   * occurrences without reading the account first. Up to a token's lifetime old, so a statement
   * that uses it checks it against the account (docs/decisions/0029-recurring-tasks.md). Absent
   * from tokens issued before it existed.
   */
  tz?: string;
}

export interface JwtSettings {
  /** The keyring from JWT_KEYS: the first key signs, every key verifies (rotation). */
  keys: { kid: string; secret: string }[];
  issuer: string;
  audience: string;
  /** Lifetime of a new token; at most MAX_LIFETIME_SECONDS. */
  ttlSeconds?: number;
}

/** The settings from the Worker's configuration (JWT_KEYS, JWT_ISSUER, JWT_AUDIENCE). */
export function jwtSettings(config: {
  JWT_KEYS: JwtSettings['keys'];
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
}): JwtSettings {
  return { keys: config.JWT_KEYS, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE };
}

export const DEFAULT_TTL_SECONDS = 900;
/** No token we accept lives longer than this, whatever its `exp` says. */
export const MAX_LIFETIME_SECONDS = 900;
/** How far ahead of our clock a token's `iat` may be (another isolate's clock may run ahead). */
export const CLOCK_SKEW_SECONDS = 30;
/** Far above a real token (about 400 bytes) and small enough that no hostile input costs much. */
export const MAX_TOKEN_LENGTH = 4096;

const ALG = 'HS256';

// Three base64url parts without padding. An HS256 signature is 32 bytes: 43 characters whose last
// one carries 2 unused bits; requiring them to be zero gives each token exactly one spelling
// (atob would ignore those bits, so four strings would otherwise verify as the same token).
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
// Canonical lower-case UUIDs, as our id generator and Postgres write them, so that comparing the
// claim with a stored id as strings is exact.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_JTI_LENGTH = 128;

/**
 * One answer for every failure. It never names the reason (that would help whoever is probing) and
 * never carries hono's error messages, which contain the token itself. The error handler adds the
 * RFC 6750 challenge with `invalid_token` to every UNAUTHENTICATED answer.
 */
function unauthenticated(): AppError {
  return new AppError('UNAUTHENTICATED', 'The access token is not valid.');
}

/**
 * The secret as a JSON Web Key rather than a string: hono imports a string key containing
 * "PRIVATE" or "PUBLIC" as PEM, and a JWK with `alg` and `kid` makes hono's sign write the `kid`
 * header. Web Crypto also refuses to use the key with any algorithm other than its `alg`.
 */
function toJwk(key: { kid: string; secret: string }): JsonWebKey & { kid: string } {
  return { kty: 'oct', k: toBase64Url(key.secret), alg: ALG, kid: key.kid };
}

/**
 * Verification keys, imported once per isolate instead of on every request (issue 17: the import
 * was a visible share of a request's CPU). Keyed by the kid and the secret itself, so bindings with
 * another secret under the same kid (a rotated secret, another environment's) never get a key they
 * did not configure. Bounded: a keyring has a few keys, and a flood of configurations starts over.
 */
type VerifyKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
const verifyKeys = new Map<string, Promise<VerifyKey>>();
const MAX_CACHED_KEYS = 16;

function verifyKey(key: { kid: string; secret: string }): Promise<VerifyKey> {
  const id = `${key.kid}\u0000${key.secret}`;
  let found = verifyKeys.get(id);
  if (!found) {
    if (verifyKeys.size >= MAX_CACHED_KEYS) verifyKeys.clear();
    found = crypto.subtle.importKey('jwk', toJwk(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
    verifyKeys.set(id, found);
    // A failed import is not kept: the next request tries again (and fails the same way, as a 401).
    found.catch(() => verifyKeys.delete(id));
  }
  return found;
}

function epochSeconds(now: Date): number {
  return Math.floor(now.getTime() / 1000);
}

export async function signAccessToken(
  subject: { userId: string; sessionId: string; emailVerified: boolean; timeZone: string },
  settings: JwtSettings,
  now: Date,
): Promise<{ token: string; expiresIn: number }> {
  const ttl = settings.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  const key = settings.keys[0];
  // Configuration mistakes, not request mistakes: a token we would refuse must not be issued.
  if (!key) throw new AppError('MISCONFIGURED', 'No JWT signing key is configured.');
  if (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > MAX_LIFETIME_SECONDS) {
    throw new AppError('MISCONFIGURED', `The access-token lifetime must be 1 to ${MAX_LIFETIME_SECONDS} seconds.`);
  }
  const iat = epochSeconds(now);
  const claims: AccessClaims = {
    sub: subject.userId,
    sid: subject.sessionId,
    jti: crypto.randomUUID(),
    iat,
    exp: iat + ttl,
    iss: settings.issuer,
    aud: settings.audience,
    ev: subject.emailVerified,
    tz: subject.timeZone,
  };
  const token = await Jwt.sign({ ...claims }, toJwk(key), ALG);
  return { token, expiresIn: ttl };
}

/**
 * Verifies an access token against the keyring and the clock; any failure throws the same
 * UNAUTHENTICATED AppError. Returns only the claims we issue, never the rest of the payload.
 */
export async function verifyAccessToken(token: string, settings: JwtSettings, now: Date): Promise<AccessClaims> {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !TOKEN_SHAPE.test(token)) {
    throw unauthenticated();
  }

  let header: unknown;
  try {
    header = Jwt.decode(token).header;
  } catch {
    throw unauthenticated();
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw unauthenticated();
  const { alg, typ, kid } = header as Record<string, unknown>;
  // `crit` names extensions we would have to understand (RFC 7515 section 4.1.11); we use none.
  if (alg !== ALG || (typ !== undefined && typ !== 'JWT') || 'crit' in header) throw unauthenticated();
  // The kid picks exactly one key. Trying every key would make a missing kid work and let a
  // retired key keep verifying under another key's name.
  const key = typeof kid === 'string' ? settings.keys.find((k) => k.kid === kid) : undefined;
  if (!key) throw unauthenticated();

  let payload: unknown;
  try {
    // alg pinned; hono's time checks off because they read the system clock (ours are below).
    payload = await Jwt.verify(token, await verifyKey(key), { alg: ALG, exp: false, nbf: false, iat: false });
  } catch {
    throw unauthenticated();
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw unauthenticated();
  const { sub, sid, jti, iat, exp, nbf, iss, aud, ev, tz } = payload as Record<string, unknown>;

  const nowSeconds = epochSeconds(now);
  if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp)) throw unauthenticated();
  const issuedAt = iat as number;
  const expiresAt = exp as number;
  const lifetime = expiresAt - issuedAt;
  if (lifetime <= 0 || lifetime > MAX_LIFETIME_SECONDS) throw unauthenticated();
  if (expiresAt <= nowSeconds) throw unauthenticated();
  if (issuedAt > nowSeconds + CLOCK_SKEW_SECONDS) throw unauthenticated();
  // We never issue nbf; if a token has one, honour it with the same skew rather than ignore it.
  if (nbf !== undefined && (!Number.isSafeInteger(nbf) || (nbf as number) > nowSeconds + CLOCK_SKEW_SECONDS)) {
    throw unauthenticated();
  }

  // aud must be exactly our audience as a string. RFC 7519 also allows an array, but we only ever
  // issue a string, so an array is not one of our tokens: refused even when it lists us.
  if (iss !== settings.issuer || typeof aud !== 'string' || aud !== settings.audience) throw unauthenticated();
  if (typeof sub !== 'string' || !UUID.test(sub) || typeof sid !== 'string' || !UUID.test(sid)) {
    throw unauthenticated();
  }
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) throw unauthenticated();
  if (typeof ev !== 'boolean') throw unauthenticated();
  if (tz !== undefined && (typeof tz !== 'string' || tz.length > MAX_TIME_ZONE_LENGTH || !TIME_ZONE_NAME.test(tz))) {
    throw unauthenticated();
  }

  return {
    sub,
    sid,
    jti,
    iat: issuedAt,
    exp: expiresAt,
    iss: settings.issuer,
    aud,
    ev,
    ...(tz === undefined ? {} : { tz }),
  };
}

// RFC 6750 section 2.1 writes b64token with "~+/" and "=" padding too; our tokens (JWS compact
// serialisation) only ever use base64url and dots, so anything else is not ours.
const BEARER = /^bearer ([A-Za-z0-9_.-]+)$/i;

/** The token from an `Authorization: Bearer <token>` header, or null if the header is anything else. */
export function bearerToken(authorizationHeader: string | undefined): string | null {
  if (authorizationHeader === undefined || authorizationHeader.length > MAX_TOKEN_LENGTH + 'Bearer '.length) {
    return null;
  }
  const match = BEARER.exec(authorizationHeader);
  return match?.[1] ?? null;
}
