import { createApp } from './app.ts';
import { createDeps } from './deps.ts';
import { loadConfig, type Bindings } from './env.ts';
import { deleteExpiredTokens } from './features/auth/auth.service.ts';
import { purgeBatchCommands } from './features/batch/batch.service.ts';
import { purgeTrash } from './features/tasks/tasks.service.ts';
import { describeError, log } from './lib/log.ts';

const app = createApp();

/** The cron (wrangler.toml [triggers]): housekeeping that no request should pay for. */
async function scheduled(controller: ScheduledController, env: Bindings): Promise<void> {
  const config = loadConfig(env);
  if (!config.ok) {
    log('error', 'scheduled run skipped: configuration invalid', { problems: config.problems });
    return;
  }
  try {
    const deps = createDeps(config.config, env);
    const deleted = await deleteExpiredTokens(deps);
    const purged = await purgeTrash(deps, config.config.TRASH_RETENTION_DAYS);
    const batchCommands = await purgeBatchCommands(deps);
    log('info', 'scheduled cleanup', { cron: controller.cron, deleted, purged, batch_commands: batchCommands });
  } catch (error) {
    log('error', 'scheduled cleanup failed', { cron: controller.cron, error: describeError(error) });
    throw error;
  }
}

export default {
  fetch: app.fetch,
  scheduled,
} satisfies ExportedHandler<Bindings>;
