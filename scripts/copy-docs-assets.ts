/**
 * Copies the API reference's browser bundle (@scalar/api-reference's standalone UMD build, the
 * file @scalar/hono-api-reference would otherwise load from jsDelivr) from node_modules into
 * `public/`, the Workers static assets directory, so /docs works without internet and under a
 * nonce-only CSP (docs/decisions/0018-docs-offline-under-csp.md). Runs before `dev`, `build` and
 * `test` (npm's pre-scripts), so a fresh clone needs nothing else. The copy is git-ignored; its
 * source is pinned in package.json (the version released with @scalar/hono-api-reference).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const source = path.join(root, 'node_modules', '@scalar', 'api-reference', 'dist', 'browser', 'standalone.js');
// The URL path src/app.ts loads it from (DOCS_SCRIPT), under public/.
const target = path.join(root, 'public', 'docs', 'assets', 'api-reference.js');
// The bundle carries zod 4, which probes for eval support with `Function('')` (caught, but the CSP
// reports it as a violation); zod's own global switch turns the probe off, so set it first.
const prelude = 'globalThis.__zod_globalConfig = { ...globalThis.__zod_globalConfig, jitless: true };\n';
mkdirSync(path.dirname(target), { recursive: true });
writeFileSync(target, prelude + readFileSync(source, 'utf8'));
