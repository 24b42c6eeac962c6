import { z } from 'zod';
import { PASSWORD_MAX_ROUNDS } from './lib/password.ts';

/**
 * The Worker's bindings, as `wrangler types` generates them into src/worker-configuration.d.ts
 * (`npm run types:generate`; CI fails when it is stale): the vars and the Analytics Engine dataset
 * from wrangler.toml, and the secrets and local-only settings listed in .dev.vars.example. Every one
 * is optional here: the zod schema below checks them and names any that is missing or invalid.
 * Secrets are documented in the README and set with `wrangler secret put`; they are never committed.
 */
export type Bindings = Partial<Env>;

const integer = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const flag = z
  .enum(['true', 'false', '1', '0', ''])
  .default('false')
  .transform((v) => v === 'true' || v === '1');

/** `kid:secret` pairs, comma-separated; the first key signs, every key verifies (rotation). */
const keyring = z
  .string()
  .min(1)
  .transform((value, ctx) => {
    const keys = value.split(',').map((entry) => entry.trim());
    const parsed: { kid: string; secret: string }[] = [];
    for (const entry of keys) {
      const at = entry.indexOf(':');
      const kid = entry.slice(0, at);
      const secret = entry.slice(at + 1);
      if (at < 1 || !/^[A-Za-z0-9._-]{1,64}$/.test(kid) || secret.length < 32) {
        ctx.addIssue({ code: 'custom', message: 'expected kid:secret pairs with secrets of at least 32 characters' });
        return z.NEVER;
      }
      parsed.push({ kid, secret });
    }
    return parsed;
  });

const origins = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const list = value
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean);
    for (const origin of list) {
      if (!URL.canParse(origin) || new URL(origin).origin !== origin) {
        ctx.addIssue({
          code: 'custom',
          message: 'expected a comma-separated list of origins like https://app.example.com',
        });
        return z.NEVER;
      }
    }
    return list;
  });

export const ConfigSchema = z
  .object({
    APP_ENV: z.enum(['development', 'test', 'production']).default('production'),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
    NEON_FETCH_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    UPSTASH_REDIS_REST_URL: z.url({ protocol: /^https?$/ }),
    UPSTASH_REDIS_REST_TOKEN: z.string().min(1),
    JWT_KEYS: keyring,
    JWT_ISSUER: z.string().min(1).default('edgetask'),
    JWT_AUDIENCE: z.string().min(1).default('edgetask-api'),
    CORS_ORIGINS: origins,
    RATE_LIMIT_USER_PER_MINUTE: integer(1, 100_000, 100),
    RATE_LIMIT_IP_PER_MINUTE: integer(1, 100_000, 20),
    LOCKOUT_THRESHOLD: integer(1, 100, 5),
    LOCKOUT_MINUTES: integer(1, 24 * 60, 15),
    REQUIRE_VERIFIED_EMAIL: flag,
    UPSTASH_TIMEOUT_MS: integer(50, 10_000, 1000),
    READY_TIMEOUT_MS: integer(50, 10_000, 1500),
    /** Chained PBKDF2 rounds of 100,000 iterations: 6 is OWASP's 600,000 (docs/decisions/0004). */
    PASSWORD_HASH_ROUNDS: integer(1, PASSWORD_MAX_ROUNDS, 6),
    REFRESH_IDLE_DAYS: integer(1, 365, 7),
    REFRESH_ABSOLUTE_DAYS: integer(1, 365, 30),
    REFRESH_GRACE_SECONDS: integer(0, 120, 10),
    /** Rotations per session family per minute (docs/decisions/0015). */
    RATE_LIMIT_REFRESH_PER_MINUTE: integer(1, 10_000, 10),
    /** Deleted tasks stay in the trash this long, then the hourly cron purges them. */
    TRASH_RETENTION_DAYS: integer(1, 3650, 30),
    EMAIL_PROVIDER: z.enum(['outbox', 'resend']).default('outbox'),
    EMAIL_OUTBOX_URL: z.url({ protocol: /^https?$/ }).optional(),
    EMAIL_FROM: z.string().min(3).max(320).default('edgetask <no-reply@edgetask.invalid>'),
    RESEND_API_KEY: z.string().min(1).optional(),
    /** The client app that links in emails open (it then calls the API with the token). */
    APP_URL: z.url({ protocol: /^https?$/ }).default('http://localhost:3000'),
    /**
     * What Server-Timing tells every client: `full` (Neon and Upstash calls and times, then the
     * total) or `total` alone. Unset: `total` in production, `full` elsewhere.
     */
    SERVER_TIMING: z.enum(['full', 'total']).optional(),
  })
  .superRefine((config, ctx) => {
    if (config.EMAIL_PROVIDER === 'outbox' && !config.EMAIL_OUTBOX_URL) {
      ctx.addIssue({ code: 'custom', path: ['EMAIL_OUTBOX_URL'], message: 'required when EMAIL_PROVIDER is outbox' });
    }
    if (config.EMAIL_PROVIDER === 'resend' && !config.RESEND_API_KEY) {
      ctx.addIssue({ code: 'custom', path: ['RESEND_API_KEY'], message: 'required when EMAIL_PROVIDER is resend' });
    }
  });

export type Config = z.infer<typeof ConfigSchema>;

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

const cache = new WeakMap<object, ConfigResult>();

/**
 * Parses the bindings once per bindings object (once per isolate in production). Problems name
 * the setting and what is wrong with it, never its value: values may be secrets.
 */
export function loadConfig(env: Bindings): ConfigResult {
  const cached = cache.get(env);
  if (cached) return cached;
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(ConfigSchema.shape)) {
    const value = (env as Record<string, unknown>)[key];
    // An empty string is as good as unset: `wrangler dev` passes empty vars through.
    if (typeof value === 'string' && value.trim() !== '') input[key] = value.trim();
  }
  const parsed = ConfigSchema.safeParse(input);
  const result: ConfigResult = parsed.success
    ? { ok: true, config: parsed.data }
    : {
        ok: false,
        problems: parsed.error.issues.map((issue) => {
          const name = String(issue.path[0] ?? 'configuration');
          return input[name] === undefined ? `${name} is missing` : `${name} is invalid: ${safeMessage(issue)}`;
        }),
      };
  cache.set(env, result);
  return result;
}

/** Zod's messages for these checks describe the expectation, not the input; custom ones are ours. */
function safeMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'custom') return issue.message;
  if (issue.code === 'invalid_format') return 'not a valid URL of the expected scheme';
  if (issue.code === 'invalid_value') return `expected one of ${issue.values.map(String).join(', ')}`;
  if (issue.code === 'too_small' || issue.code === 'too_big') return 'out of range';
  return 'not a valid value';
}
