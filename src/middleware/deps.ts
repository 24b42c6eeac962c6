import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { createDeps, type DepsOverrides } from '../deps.ts';
import { loadConfig } from '../env.ts';
import { AppError } from '../lib/errors.ts';
import { log } from '../lib/log.ts';

const reported = new Set<string>();

/**
 * Puts the request's dependencies on the context. A misconfigured Worker answers 500 naming the
 * settings at fault (never their values) and logs the same once per isolate, not once per request.
 */
export function withDeps(overrides?: DepsOverrides): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const result = loadConfig(c.env);
    if (!result.ok) {
      const detail = `The service is misconfigured: ${result.problems.join('; ')}.`;
      if (!reported.has(detail)) {
        reported.add(detail);
        log('error', 'configuration invalid', { problems: result.problems });
      }
      throw new AppError('MISCONFIGURED', detail, { extensions: { settings: result.problems } });
    }
    c.set('deps', createDeps(result.config, c.env, overrides));
    await next();
  };
}
