/**
 * `npm run lint:openapi`: writes the OpenAPI document the Worker serves to .data/openapi.json
 * (generated in Node, no server needed) and lints it with Spectral: the OpenAPI rules and the OWASP
 * API security rules, with the exceptions in .spectral.yaml (docs/decisions/0011-openapi-lint.md).
 * Errors fail the run; warnings are printed.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createApp, openApiDocument } from '../src/app.ts';

const root = path.resolve(import.meta.dirname, '..');
const file = path.join(root, '.data', 'openapi.json');
mkdirSync(path.dirname(file), { recursive: true });
// The production description of the one server; its URL is a placeholder (the real document names
// the origin that served it).
writeFileSync(
  file,
  `${JSON.stringify(openApiDocument(createApp(), 'https://edgetask.example', 'production'), null, 2)}\n`,
);

const spectral = path.join(root, 'node_modules', '@stoplight', 'spectral-cli', 'dist', 'index.js');
const result = spawnSync(
  process.execPath,
  [spectral, 'lint', file, '--ruleset', path.join(root, '.spectral.yaml'), '--fail-severity', 'error'],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
