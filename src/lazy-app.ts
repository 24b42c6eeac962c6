import { getPath } from 'hono/utils/url';
import { createAppShell, type App, type FeatureRouter } from './app-shell.ts';
import type { Bindings } from './env.ts';

/**
 * The Worker's fetch handler: the app of src/app-shell.ts with only the features the request's
 * path belongs to, each imported and built on first use. A cold isolate's first request then
 * evaluates that feature's modules (its zod schemas, its OpenAPI routes, rrule-temporal for the
 * tasks) and not every feature's (docs/decisions/0032-lazy-features.md). Once built, an app lives
 * as long as the isolate, like the one app before it.
 *
 * Each loader is a dynamic import: esbuild (wrangler's bundler) keeps the module in the one bundle
 * but defers its top-level code until the import runs.
 */
const LOADERS = {
  health: async () => (await import('./features/health/health.index.ts')).healthRouter,
  auth: async () => (await import('./features/auth/auth.index.ts')).authRouter,
  account: async () => (await import('./features/account/account.index.ts')).accountRouter,
  tasks: async () => (await import('./features/tasks/tasks.index.ts')).tasksRouter,
  categories: async () => (await import('./features/categories/categories.index.ts')).categoriesRouter,
  batch: async () => (await import('./features/batch/batch.index.ts')).batchRouter,
} satisfies Record<string, () => Promise<FeatureRouter>>;

export type Feature = keyof typeof LOADERS;

/** Every feature, in the order src/app.ts mounts them. */
export const FEATURES = Object.keys(LOADERS) as Feature[];

/**
 * The first segment under /api/v1/ names the features with routes under it. The account feature
 * has routes under /auth/ too (change-password, forgot/reset-password, sessions).
 */
const API_SEGMENTS: Record<string, readonly Feature[]> = {
  auth: ['auth', 'account'],
  account: ['account'],
  tasks: ['tasks'],
  categories: ['categories'],
  batch: ['batch'],
};

/**
 * The features whose routes a path can match. The OpenAPI document and the docs page describe
 * them all; a path no feature has gets the shell alone, which answers 404 as the whole app would.
 * `path` is hono's own reading of the URL (getPath: percent-decoded), so this and the router agree
 * on what a path is.
 */
export function featuresFor(path: string): readonly Feature[] {
  if (path === '/health' || path.startsWith('/health/')) return ['health'];
  if (path.startsWith('/api/v1/')) {
    const end = path.indexOf('/', 8);
    return API_SEGMENTS[end === -1 ? path.slice(8) : path.slice(8, end)] ?? [];
  }
  if (path === '/openapi.json' || path === '/docs') return FEATURES;
  return [];
}

const apps = new Map<string, App>();
const building = new Map<string, Promise<App>>();

async function build(features: readonly Feature[]): Promise<App> {
  const routers = await Promise.all(features.map((feature) => LOADERS[feature]()));
  return createAppShell(routers);
}

/** The app for these features: built once per isolate; concurrent first requests share the build. */
function appFor(features: readonly Feature[]): App | Promise<App> {
  const key = features.join(',');
  const app = apps.get(key);
  if (app) return app;
  let pending = building.get(key);
  if (!pending) {
    pending = build(features).then(
      (built) => {
        apps.set(key, built);
        building.delete(key);
        return built;
      },
      (error: unknown) => {
        // Not cached: the next request tries again.
        building.delete(key);
        throw error;
      },
    );
    building.set(key, pending);
  }
  return pending;
}

export async function fetch(request: Request, env: Bindings, ctx: ExecutionContext): Promise<Response> {
  const app = await appFor(featuresFor(getPath(request)));
  return app.fetch(request, env, ctx);
}
