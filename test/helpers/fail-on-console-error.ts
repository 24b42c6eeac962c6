import { afterEach, beforeEach, expect, vi } from 'vitest';

/**
 * An unexpected console.error fails the test: the Worker logs errors only for 5xx and broken
 * configuration, so one showing up where a test did not ask for it is a bug. A test that provokes
 * one says so with allowConsoleErrors(pattern).
 */
let allowed: RegExp[] = [];
let seen: string[] = [];

export function allowConsoleErrors(pattern: RegExp): void {
  allowed.push(pattern);
}

/** The error lines logged so far in this test (parsed JSON where possible). */
export function consoleErrors(): string[] {
  return seen;
}

beforeEach(() => {
  allowed = [];
  seen = [];
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    seen.push(args.map(String).join(' '));
  });
});

afterEach(() => {
  const unexpected = seen.filter((line) => !allowed.some((pattern) => pattern.test(line)));
  vi.restoreAllMocks();
  expect(unexpected, 'unexpected console.error').toEqual([]);
});
