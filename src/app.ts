import { createAppShell, type AppOptions } from './app-shell.ts';
import { accountRouter } from './features/account/account.index.ts';
import { authRouter } from './features/auth/auth.index.ts';
import { batchRouter } from './features/batch/batch.index.ts';
import { categoriesRouter } from './features/categories/categories.index.ts';
import { healthRouter } from './features/health/health.index.ts';
import { tasksRouter } from './features/tasks/tasks.index.ts';

export { DOCS_SCRIPT, openApiDocument, type App, type AppOptions } from './app-shell.ts';

/**
 * The whole API, every feature built up front: what the tests, the OpenAPI scripts and the
 * generated client use. The deployed Worker builds the same app feature by feature on first use
 * (src/lazy-app.ts), so a cold isolate does not construct every route's schemas for its first
 * request.
 */
export function createApp(options: AppOptions = {}) {
  return createAppShell([healthRouter, authRouter, accountRouter, tasksRouter, categoriesRouter, batchRouter], options);
}
