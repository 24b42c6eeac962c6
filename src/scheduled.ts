import { createDeps } from './deps.ts';
import { loadConfig, type Bindings } from './env.ts';
import { deleteExpiredTokens } from './features/auth/auth.service.ts';
import { purgeBatchCommands } from './features/batch/batch.service.ts';
import { purgeTrash, refillSchedules } from './features/tasks/tasks.service.ts';
import { deliverReminders, REMINDERS_CRON } from './features/reminders/reminders.delivery.ts';
import { describeError, log } from './lib/log.ts';

/** The crons of wrangler.toml [triggers]: reminders every minute, housekeeping every hour. */
export async function scheduled(controller: ScheduledController, env: Bindings): Promise<void> {
  const config = loadConfig(env);
  if (!config.ok) {
    log('error', 'scheduled run skipped: configuration invalid', { problems: config.problems });
    return;
  }
  const deps = createDeps(config.config, env);
  if (controller.cron === REMINDERS_CRON) {
    // The run's own time, not the clock: a late start still delivers what was due by then.
    const now = new Date(controller.scheduledTime);
    try {
      const report = await deliverReminders(deps, now);
      if (report.claimed > 0) log('info', 'reminders delivered', { cron: controller.cron, ...report });
      const refilled = await refillSchedules(deps, now);
      if (refilled > 0) log('info', 'schedules refilled', { cron: controller.cron, tasks: refilled });
    } catch (error) {
      log('error', 'minute run failed', { cron: controller.cron, error: describeError(error) });
      throw error;
    }
    return;
  }
  try {
    const deleted = await deleteExpiredTokens(deps);
    const purged = await purgeTrash(deps, config.config.TRASH_RETENTION_DAYS);
    const batchCommands = await purgeBatchCommands(deps);
    log('info', 'scheduled cleanup', { cron: controller.cron, deleted, purged, batch_commands: batchCommands });
  } catch (error) {
    log('error', 'scheduled cleanup failed', { cron: controller.cron, error: describeError(error) });
    throw error;
  }
}
