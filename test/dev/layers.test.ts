import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The layer rules of .dependency-cruiser.json (run by `npm run lint`) refuse imports that break
 * them: a copy of src/ with one bad import per rule below must fail, naming each rule. The copy
 * keeps the repository's own tree untouched.
 */
const root = path.resolve(import.meta.dirname, '..', '..');
const copies: string[] = [];

function depcruise(dir: string) {
  const bin = path.join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruiser.mjs');
  const result = spawnSync(process.execPath, [bin, 'src', '--config', '.dependency-cruiser.json'], {
    cwd: dir,
    encoding: 'utf8',
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** A copy of what the rules read, with `line` appended to `file` when given. */
function copyWith(file?: string, line?: string): string {
  const copy = mkdtempSync(path.join(tmpdir(), 'edgetask-layers-'));
  copies.push(copy);
  for (const entry of ['src', 'tsconfig.json', '.dependency-cruiser.json', 'package.json'])
    cpSync(path.join(root, entry), path.join(copy, entry), { recursive: true });
  symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
  if (file && line) appendFileSync(path.join(copy, file), `\n${line}\n`);
  return copy;
}

afterAll(() => {
  for (const copy of copies) rmSync(copy, { recursive: true, force: true });
});

describe('layer rules (npm run lint)', () => {
  it('pass on the tree as it is', () => {
    const clean = depcruise(copyWith());
    expect(clean.output).toContain('no dependency violations found');
    expect(clean.status).toBe(0);
  }, 30_000);

  it.each([
    ['src/lib/clock.ts', "import '../middleware/security.ts';", 'lib-is-the-bottom'],
    ['src/features/tasks/tasks.service.ts', "import '../../gate/gate.ts';", 'services-are-not-http'],
    ['src/db/sql.ts', "import '../features/tasks/tasks.service.ts';", 'db-under-features'],
    ['src/gate/route.ts', "import '../features/tasks/tasks.routes.ts';", 'gate-under-features'],
    ['src/lib/base64url.ts', "import './etag.ts';", 'no-cycles'],
  ])(
    '%s: %s is refused by %s',
    (file, line, rule) => {
      const broken = depcruise(copyWith(file, line));
      expect(broken.status).not.toBe(0);
      expect(broken.output).toContain(`error ${rule}: ${file}`);
    },
    30_000,
  );
});
