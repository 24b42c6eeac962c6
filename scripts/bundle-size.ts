/**
 * The production bundle's size, after `npm run build`: raw and gzipped (what Workers' size limit
 * counts), and what it is made of, by package and by src/ folder, from esbuild's metafile (wrangler
 * writes it with --metafile). Fails above BUDGET_GZIP_KIB, a line drawn a little above today's size
 * so that a dependency that doubles the startup work is noticed when it arrives, not later.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

/** 2026-12-05: 457 KiB gzipped with the RRULE engine's Temporal polyfill (issue 17). */
const BUDGET_GZIP_KIB = 520;
const TOP = 12;

interface Metafile {
  outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>;
}

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
const bundle = readFileSync(path.join(dist, 'index.js'));
const gzipKib = gzipSync(bundle).length / 1024;
const meta = JSON.parse(readFileSync(path.join(dist, 'bundle-meta.json'), 'utf8')) as Metafile;
const output = Object.entries(meta.outputs).find(([file]) => file.endsWith('index.js'))?.[1];
if (!output) throw new Error('bundle-meta.json has no index.js output: was the build run with --metafile?');

/** A package by name (scoped ones with their scope); our code by src/ folder. */
function groupOf(input: string): string {
  const modules = input.lastIndexOf('node_modules/');
  if (modules !== -1) {
    const parts = input.slice(modules + 'node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const relative = input.replace(/^.*?\bsrc\//, 'src/');
  return relative.startsWith('src/') ? `${relative.slice(0, relative.lastIndexOf('/'))}/` : relative;
}

const groups = new Map<string, number>();
let total = 0;
for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
  groups.set(groupOf(input), (groups.get(groupOf(input)) ?? 0) + bytesInOutput);
  total += bytesInOutput;
}
const kib = (bytes: number) => `${(bytes / 1024).toFixed(0).padStart(5)} KiB`;
const lines = [...groups.entries()]
  .sort((a, b) => b[1] - a[1])
  .slice(0, TOP)
  .map(([group, bytes]) => `  ${kib(bytes)}  ${((bytes / total) * 100).toFixed(1).padStart(5)}%  ${group}`);
process.stdout.write(
  `bundle: ${kib(bundle.length).trim()} raw, ${gzipKib.toFixed(0)} KiB gzipped (budget ${BUDGET_GZIP_KIB} KiB)\n` +
    `largest parts (bytes in the bundle, before gzip):\n${lines.join('\n')}\n`,
);
if (gzipKib > BUDGET_GZIP_KIB) {
  process.stderr.write(
    `the bundle is ${gzipKib.toFixed(0)} KiB gzipped, over the budget of ${BUDGET_GZIP_KIB} KiB (scripts/bundle-size.ts): ` +
      'find what grew above, or raise the budget on purpose\n',
  );
  process.exit(1);
}
