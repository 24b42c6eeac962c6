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

const HEALTH: readonly Feature[] = ['health'];
const NONE: readonly Feature[] = [];

/**
 * The features whose routes a path can match. The OpenAPI document and the docs page describe
 * them all; a path no feature has gets the shell alone, which answers 404 as the whole app would.
 * `path` is hono's own reading of the URL (getPath: percent-decoded), so this and the router agree
 * on what a path is. Each answer is one of a few constant lists, which key the built apps.
 */
export function featuresFor(path: string): readonly Feature[] {
  if (path === '/health' || path.startsWith('/health/')) return HEALTH;
  if (path.startsWith('/api/v1/')) {
    const end = path.indexOf('/', 8);
    const segment = end === -1 ? path.slice(8) : path.slice(8, end);
    // Own keys only: /api/v1/constructor must not find Object's constructor.
    return Object.hasOwn(API_SEGMENTS, segment) ? API_SEGMENTS[segment]! : NONE;
  }
  if (path === '/openapi.json' || path === '/docs') return FEATURES;
  return NONE;
}

/** The apps built so far, by feature list: one build per isolate, shared by concurrent first requests. */
const apps = new Map<readonly Feature[], Promise<App>>();

function appFor(features: readonly Feature[]): Promise<App> {
  let app = apps.get(features);
  if (!app) {
    app = Promise.all(features.map((feature) => LOADERS[feature]())).then((routers) => createAppShell(routers));
    apps.set(features, app);
    // A failed build is not kept: the next request tries again.
    app.catch(() => apps.delete(features));
  }
  return app;
}

export async function fetch(request: Request, env: Bindings, ctx: ExecutionContext): Promise<Response> {
  const app = await appFor(featuresFor(getPath(request)));
  return app.fetch(request, env, ctx);
}
