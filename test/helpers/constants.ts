/** A JWT keyring for tests only (never a deployed secret); vitest.config.ts binds it. */
export const TEST_JWT_KEYS = 'test-1:test-secret-0123456789abcdef0123456789abcdef';

/** The origin every test request goes to (the server the tests' OpenAPI document names). */
export const BASE = 'https://edgetask.test';
