import type { Bindings } from './env.ts';
import { fetch } from './lazy-app.ts';

export default {
  fetch,
  // Imported on the first cron run: an isolate started for a request does not evaluate the
  // scheduled jobs' modules, nor one started for a cron the HTTP routes'.
  async scheduled(controller, env) {
    const { scheduled } = await import('./scheduled.ts');
    await scheduled(controller, env);
  },
} satisfies ExportedHandler<Bindings>;
