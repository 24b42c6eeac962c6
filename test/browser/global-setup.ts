import type { TestProject } from 'vitest/node';
import { CHROMIUM_CANDIDATES, findChromium } from './chromium.ts';
import { startWorkerOverHttp } from './worker-server.ts';

/**
 * Starts the Worker over HTTP for the browser tests (stand-ins, a migrated database, `wrangler dev`
 * with the static assets), once, when there is a Chromium to drive. Without one the tests are
 * skipped and say why, unless REQUIRE_BROWSER=1 (CI), where the run fails.
 */
export default async function setup(project: TestProject) {
  const chromium = findChromium();
  if (!chromium) {
    const message = `no Chromium at ${CHROMIUM_CANDIDATES.join(' or ')}: install Debian's \`chromium\` package or set CHROMIUM_PATH`;
    if (process.env.REQUIRE_BROWSER === '1') throw new Error(`[browser tests] REQUIRE_BROWSER=1 but ${message}`);
    console.warn(`[browser tests] SKIPPED: ${message}`);
    project.provide('docsWorker', null);
    return;
  }
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';
  process.env.WRANGLER_SEND_METRICS ??= 'false';
  const worker = await startWorkerOverHttp();
  console.log(`[browser tests] ${chromium}, the Worker on ${worker.url}, stand-ins: ${worker.backend}`);
  project.provide('docsWorker', { url: worker.url, chromium });
  return () => worker.close();
}

declare module 'vitest' {
  export interface ProvidedContext {
    docsWorker: { url: string; chromium: string } | null;
  }
}
