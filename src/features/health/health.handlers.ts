import { VERSION as version } from '../../version.ts';
import { AppError } from '../../lib/errors.ts';
import type { AppRouteHandler } from '../../http/route-handler.ts';
import type { getHealth, getReadiness } from './health.routes.ts';
import { checkDependencies } from './health.service.ts';

export const health: AppRouteHandler<typeof getHealth> = (c) =>
  c.json({ status: 'ok' as const, version, time: new Date().toISOString() }, 200);

export const readiness: AppRouteHandler<typeof getReadiness> = async (c) => {
  const deps = c.get('deps');
  const checks = await checkDependencies(deps, deps.config.READY_TIMEOUT_MS);
  const failing = (['database', 'cache'] as const).filter((name) => checks[name].status === 'down');
  if (failing.length > 0) {
    const names = failing.map(
      (name) => `${name} (${name === 'database' ? 'Neon' : 'Upstash'}: ${checks[name].error ?? 'failed'})`,
    );
    throw new AppError('DEPENDENCY_UNAVAILABLE', `Not ready: ${names.join(', ')}.`, {
      extensions: { checks },
      retryAfterSeconds: 5,
    });
  }
  return c.json({ status: 'ready' as const, checks }, 200);
};
